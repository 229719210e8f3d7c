// ONNX encoders against onnxruntime (Fixtures/reference/zoo/<model>/dev, ../shared/reference/ZOO.md
// §3–5): paraphrase-MiniLM-L3-v2 (float32) and the int8 all-MiniLM-L6-v2 export, built by
// ONNXImporter with the all-MiniLM-L6-v2 vocabulary: token ids identical, last hidden state of
// eight sentences within 1e-4, all 300 mean-pooled L2-normalised embeddings within 1e-4 (cosine
// ≥ 0.99999), paraphrase's own pooled output `461` within 1e-4; int8 weights stay int8 (artifact
// ≤ 1.1× the ONNX file); `fuse` folds the exported attention into attention nodes.
import Foundation
import XCTest
import IngotCheckpoint
import IngotCompiler
import IngotCore
import IngotImport
import IngotIR
import IngotPasses
import IngotTestSupport
@testable import IngotRuntime
import SwiftProtobuf

enum ONNXArtifacts {
    private static var cache: [String: Result<(String, ImportedModel), Error>] = [:]
    private static let lock = NSLock()

    /// The artifact of `source` with the MiniLM vocabulary, mean pooling and normalisation.
    static func build(_ source: URL, name: String, passes: String? = nil) throws -> (path: String, imported: ImportedModel) {
        lock.lock()
        defer { lock.unlock() }
        if let cached = cache[name] { return try cached.get() }
        let result = Result { () throws -> (String, ImportedModel) in
            let onnx = try requireModel(source)
            let vocab = try requireModel(TestPaths.miniLMDir).appendingPathComponent("vocab.txt")
            let imported = try ONNXImporter.importModel(path: onnx.path, tokenizer: vocab.path, pooling: .mean, normalize: true)
            var options = BuildOptions()
            if let passes { options.pipeline = try Pipeline.parse(passes) }
            options.passContext = PassContext(calibrator: nil, verifyBetweenPasses: true)
            let out = BuiltArtifacts.directory.appendingPathComponent(name + ".ingot").path
            return (try ArtifactBuilder.write(imported, source: onnx.path, output: out, options: options).outputPath, imported)
        }
        cache[name] = result
        return try result.get()
    }
}

class ONNXReferenceCase: XCTestCase {
    var source: URL { fatalError("override") }
    var folder: String { fatalError("override") }
    var artifactName: String { fatalError("override") }

    func reference() throws -> SafetensorsCheckpoint {
        try SafetensorsCheckpoint(path: try referenceFile("zoo/\(folder)/dev/reference.safetensors").path)
    }

    func encoder(passes: String? = nil) throws -> Encoder {
        let built = try ONNXArtifacts.build(source, name: artifactName + (passes.map { "-" + $0 } ?? ""), passes: passes)
        return try Encoder(model: try Model(path: built.path))
    }

    func checkTokenIDs() throws {
        let encoder = try encoder()
        let text = try String(contentsOf: TestPaths.fixtures.appendingPathComponent("eval/minilm-dev-sentences.txt"), encoding: .utf8)
        let sentences = text.split(separator: "\n").map(String.init)
        let expected = try miniLMDevSentenceIDs()
        XCTAssertEqual(sentences.count, 300)
        var mismatched = 0
        for (s, ids) in zip(sentences, expected) where try encoder.tokenize(s) != ids { mismatched += 1 }
        XCTAssertEqual(mismatched, 0, "sentences whose ids differ from the reference")
        let reference = try reference()
        for i in 0..<8 { XCTAssertEqual(try referenceInts(reference, "ids_\(i)"), expected[i], "ids_\(i)") }
    }

    func checkHiddenStates(passes: String? = nil, bound: Float = 1e-4) throws {
        let encoder = try encoder(passes: passes)
        let reference = try reference()
        var worst: Float = 0
        for i in 0..<8 {
            let ids = try referenceInts(reference, "ids_\(i)")
            let expected = try referenceFloats(reference, "hidden_\(i)")
            let hidden = try XCTUnwrap(try encoder.run(ids: [ids])["last_hidden_state"])
            XCTAssertEqual(hidden.shape, [1, ids.count, 384])
            worst = max(worst, zip(hidden.floats!, expected).map { abs($0 - $1) }.max()!)
        }
        print("\(artifactName)\(passes.map { " " + $0 } ?? ""): hidden_0..7 max abs \(worst)")
        XCTAssertLessThanOrEqual(worst, bound)
    }

    /// All 300 dev sentences alone (batch 1, as the reference ran them).
    func checkEmbeddings(passes: String? = nil, maxAbsBound: Float = 1e-4, cosineBound: Double = 0.99999, pooledOutput: Bool = false) throws {
        let encoder = try encoder(passes: passes)
        let reference = try reference()
        let expected = try referenceFloats(reference, "embeddings")
        let expectedPooled = pooledOutput ? try referenceFloats(reference, "sentence_embedding") : []
        let ids = try miniLMDevSentenceIDs()
        var worstCosine = 1.0, worstAbs: Float = 0, worstPooled: Float = 0
        for (i, row) in ids.enumerated() {
            let out = try encoder.run(ids: [row])
            let e = try XCTUnwrap(out["embedding"]?.floats)
            let ref = Array(expected[(i * 384)..<((i + 1) * 384)])
            worstCosine = min(worstCosine, cosine(e, ref))
            worstAbs = max(worstAbs, zip(e, ref).map { abs($0 - $1) }.max()!)
            if pooledOutput {
                let pooled = try XCTUnwrap(out["sentence_embedding"]?.floats)
                let r = Array(expectedPooled[(i * 384)..<((i + 1) * 384)])
                worstPooled = max(worstPooled, zip(pooled, r).map { abs($0 - $1) }.max()!)
            }
        }
        print("\(artifactName)\(passes.map { " " + $0 } ?? ""): embeddings (300) min cosine \(worstCosine), max abs \(worstAbs)"
              + (pooledOutput ? "; sentence_embedding max abs \(worstPooled)" : ""))
        XCTAssertGreaterThanOrEqual(worstCosine, cosineBound)
        XCTAssertLessThanOrEqual(worstAbs, maxAbsBound)
        if pooledOutput { XCTAssertLessThanOrEqual(worstPooled, 1e-4, "sentence_embedding (the graph's own mean pooling)") }
    }

    /// `fuse` turns the exported attention into one attention node per layer.
    func checkFuseFoldsAttention(layers: Int) throws {
        let built = try ONNXArtifacts.build(source, name: artifactName + "-fuse", passes: "fuse")
        let model = try Model(path: built.path)
        let attention = model.graph.nodes.filter { if case .attention = $0.op { return true } else { return false } }.count
        XCTAssertEqual(attention, layers)
        let softmax = model.graph.nodes.filter { if case .softmax = $0.op { return true } else { return false } }.count
        XCTAssertEqual(softmax, 0, "every softmax belongs to a fused attention")
    }
}

final class ParaphraseMiniLMONNXTests: ONNXReferenceCase {
    override var source: URL { TestPaths.paraphraseONNX }
    override var folder: String { "paraphrase-minilm-l3-v2" }
    override var artifactName: String { "paraphrase-onnx" }

    func testTokenIDsMatchTheReference() throws { try checkTokenIDs() }
    func testHiddenStatesMatchONNXRuntime() throws { try checkHiddenStates() }
    func testEmbeddingsAndPooledOutputMatchONNXRuntime() throws { try checkEmbeddings(pooledOutput: true) }
    func testFuseFoldsTheExportedAttention() throws {
        try checkFuseFoldsAttention(layers: 3)
        try checkHiddenStates(passes: "fuse")
    }

    func testGraphInterface() throws {
        let imported = try ONNXArtifacts.build(source, name: artifactName).imported
        let g = imported.graph
        XCTAssertEqual(g.inputs.map { g[$0].name }, ["input_ids", "attention_mask", "token_type_ids", "position_ids"])
        XCTAssertEqual(g.outputs.map { g[$0].name }, ["last_hidden_state", "sentence_embedding", "embedding"])
        XCTAssertEqual(g.type(of: g.outputs[0]).description, "f32[batch, seq, 384]")
        let counts = Dictionary(grouping: g.nodes, by: { $0.op.name }).mapValues(\.count)
        XCTAssertEqual(counts["layer_norm"], 7)
        XCTAssertEqual(counts["gelu"], 3)
        XCTAssertEqual(counts["mean_pool"], 2, "the graph's own pooling and the pipeline's")
        XCTAssertNil(counts["linear_int8"])
    }
}

final class MiniLMInt8ONNXTests: ONNXReferenceCase {
    override var source: URL { TestPaths.miniLMInt8ONNX }
    override var folder: String { "minilm-l6-v2-int8" }
    override var artifactName: String { "minilm-int8-onnx" }

    func testTokenIDsMatchTheReference() throws { try checkTokenIDs() }
    func testHiddenStatesMatchONNXRuntime() throws { try checkHiddenStates() }
    func testEmbeddingsMatchONNXRuntime() throws { try checkEmbeddings() }
    func testFuseFoldsTheExportedAttention() throws {
        try checkFuseFoldsAttention(layers: 6)
        try checkHiddenStates(passes: "fuse")
    }

    /// The 38 int8 initializers stay int8: 36 weight-only linear_int8 and 2 gather_int8 tables.
    func testInt8WeightsStayInt8() throws {
        let built = try ONNXArtifacts.build(source, name: artifactName)
        let g = built.imported.graph
        let counts = Dictionary(grouping: g.nodes, by: { $0.op.name }).mapValues(\.count)
        XCTAssertEqual(counts["linear_int8"], 36)
        XCTAssertEqual(counts["gather_int8"], 2)
        let int8Constants = g.constants.filter { g.type(of: $0.value).dtype == .i8 }.count
        XCTAssertEqual(int8Constants, 38)
        let onnxBytes = try XCTUnwrap(try FileManager.default.attributesOfItem(atPath: source.path)[.size] as? Int)
        let artifactBytes = try XCTUnwrap(try FileManager.default.attributesOfItem(atPath: built.path)[.size] as? Int)
        print("\(artifactName): artifact \(artifactBytes) bytes, ONNX \(onnxBytes) bytes, ratio \(Double(artifactBytes) / Double(onnxBytes))")
        XCTAssertLessThanOrEqual(Double(artifactBytes), 1.1 * Double(onnxBytes))
    }
}

/// paraphrase-MiniLM-L3-v2 re-declared with fixed input dims [1, 64] (as a fixed-shape export
/// has them): the artifact states the limits, pads shorter input to 64 and refuses longer.
final class FixedShapeONNXTests: XCTestCase {
    func testFixedShapeExportPadsToItsLength() throws {
        let onnx = try requireModel(TestPaths.paraphraseONNX)
        var m = try Onnx_ModelProto(serializedBytes: try Data(contentsOf: onnx))
        for i in m.graph.input.indices {
            var shape = Onnx_TensorShapeProto()
            shape.dim = [Int64(1), 64].map { n in
                var d = Onnx_TensorShapeProto.Dimension()
                d.dimValue = n
                return d
            }
            m.graph.input[i].type.tensorType.shape = shape
        }
        let dir = try TempDirectory.make("onnx-fixed")
        defer { try? FileManager.default.removeItem(at: dir) }
        let fixed = dir.appendingPathComponent("fixed.onnx")
        try m.serializedData().write(to: fixed)
        let vocab = try requireModel(TestPaths.miniLMDir).appendingPathComponent("vocab.txt")
        let imported = try ONNXImporter.importModel(path: fixed.path, tokenizer: vocab.path, pooling: .mean, normalize: true)
        XCTAssertTrue(imported.hyperParameters.contains { $0.0 == "fixed_shape" })
        let out = dir.appendingPathComponent("fixed.ingot").path
        _ = try ArtifactBuilder.write(imported, source: fixed.path, output: out, options: BuildOptions())
        let facts = try Inspector.inspect(out).facts
        let limits = try XCTUnwrap(facts.first { $0.0 == "input_limits" }?.1)
        XCTAssertTrue(limits.contains("input_ids [1, 64]: dimension 0 fixed at 1, dimension 1 fixed at 64"), limits)

        let encoder = try Encoder(model: try Model(path: out))
        let reference = try SafetensorsCheckpoint(path: try referenceFile("zoo/paraphrase-minilm-l3-v2/dev/reference.safetensors").path)
        let embeddings = try referenceFloats(reference, "embeddings")
        var worst: Float = 0
        for i in 0..<8 {
            let ids = try referenceInts(reference, "ids_\(i)")
            let expected = try referenceFloats(reference, "hidden_\(i)")
            let result = try encoder.run(ids: [ids])
            let hidden = try XCTUnwrap(result["last_hidden_state"])
            XCTAssertEqual(hidden.shape, [1, 64, 384])
            worst = max(worst, zip(hidden.floats!.prefix(ids.count * 384), expected).map { abs($0 - $1) }.max()!)
            let e = try XCTUnwrap(result["embedding"]?.floats)
            worst = max(worst, zip(e, embeddings[(i * 384)..<((i + 1) * 384)]).map { abs($0 - $1) }.max()!)
        }
        print("fixed-shape paraphrase: hidden_0..7 and embeddings max abs \(worst)")
        XCTAssertLessThanOrEqual(worst, 1e-4)
        XCTAssertThrowsError(try encoder.run(ids: [[Int32](repeating: 1000, count: 65)])) { error in
            XCTAssertEqual((error as? IngotError)?.kind, .shape, "\(error)")
        }
        XCTAssertThrowsError(try encoder.run(ids: [[101, 102], [101, 102]])) { error in
            XCTAssertEqual((error as? IngotError)?.kind, .shape, "\(error)")
        }
    }
}
