// ONNX importer on small graphs built with the generated messages: every unsupported op is
// listed (all types, counts and node names) before any work with exit 69; a tiny encoder
// (embedding lookup, decomposed LayerNorm, Erf GELU, a MatMul with an int8 Cast·Mul weight)
// lands on layer_norm, gelu(erf), linear_int8 and gather; a pending pattern read another way is
// refused naming the node.
import Foundation
import XCTest
import IngotCore
import IngotIR
import IngotTestSupport
import SwiftProtobuf
@testable import IngotCheckpoint
@testable import IngotImport

private enum Build {
    static func floats(_ name: String, _ dims: [Int64], _ values: [Float]) -> Onnx_TensorProto {
        var t = Onnx_TensorProto()
        t.name = name
        t.dataType = 1
        t.dims = dims
        t.rawData = values.withUnsafeBytes { Data($0) }
        return t
    }

    static func int8s(_ name: String, _ dims: [Int64], _ values: [Int8]) -> Onnx_TensorProto {
        var t = Onnx_TensorProto()
        t.name = name
        t.dataType = 3
        t.dims = dims
        t.rawData = values.withUnsafeBytes { Data($0) }
        return t
    }

    /// The encoder pieces of testTinyEncoderLandsOnFusedOps; also the fuzz seed Fixtures/fuzz/onnx/tiny-encoder.onnx.
    static func tinyEncoder() throws -> Data {
        let h: Int64 = 4
        return try Build.bytes([
            Build.node("Cast", ["table_q"], ["table_f"], "table_cast", int: ["to": 1]),
            Build.node("Mul", ["table_f", "table_scale"], ["table"], "table_mul"),
            Build.node("Gather", ["table", "input_ids"], ["e"], "embed"),
            Build.node("ReduceMean", ["e"], ["mean"], "ln_mean", ints: ["axes": [-1]]),
            Build.node("Sub", ["e", "mean"], ["d"], "ln_sub"),
            Build.node("Pow", ["d", "two"], ["d2"], "ln_pow"),
            Build.node("ReduceMean", ["d2"], ["var"], "ln_var", ints: ["axes": [-1]]),
            Build.node("Add", ["var", "eps"], ["var_eps"], "ln_add"),
            Build.node("Sqrt", ["var_eps"], ["std"], "ln_sqrt"),
            Build.node("Div", ["d", "std"], ["n"], "ln_div"),
            Build.node("Mul", ["n", "gamma"], ["ng"], "ln_mul"),
            Build.node("Add", ["ng", "beta"], ["ln"], "ln_add_beta"),
            Build.node("Cast", ["w_q"], ["w_f"], "w_cast", int: ["to": 1]),
            Build.node("Mul", ["w_f", "w_scale"], ["w"], "w_mul"),
            Build.node("MatMul", ["ln", "w"], ["y"], "dense"),
            Build.node("Add", ["bias", "y"], ["yb"], "dense_bias"),
            Build.node("Div", ["yb", "sqrt2"], ["yd"], "gelu_div"),
            Build.node("Erf", ["yd"], ["erf"], "gelu_erf"),
            Build.node("Add", ["erf", "one"], ["erf1"], "gelu_add"),
            Build.node("Mul", ["yb", "erf1"], ["g2"], "gelu_mul"),
            Build.node("Mul", ["g2", "half"], ["hidden"], "gelu_half"),
        ], [
            Build.int8s("table_q", [5, h], (0..<20).map { Int8($0 - 10) }),
            Build.floats("table_scale", [5, 1], [0.1, 0.2, 0.3, 0.4, 0.5]),
            Build.floats("two", [], [2]), Build.floats("eps", [], [1e-12]),
            Build.floats("gamma", [h], [1, 1, 1, 1]), Build.floats("beta", [h], [0, 0, 0, 0]),
            Build.int8s("w_q", [h, h], (0..<16).map { Int8($0 - 8) }),
            Build.floats("w_scale", [1, h], [0.01, 0.02, 0.03, 0.04]),
            Build.floats("bias", [h], [0, 0, 0, 0]),
            Build.floats("sqrt2", [], [1.4142135]), Build.floats("one", [], [1]), Build.floats("half", [], [0.5]),
        ])
    }

    static func value(_ name: String, _ elemType: Int32, _ dims: [String]) -> Onnx_ValueInfoProto {
        var v = Onnx_ValueInfoProto()
        v.name = name
        var t = Onnx_TypeProto.Tensor()
        t.elemType = elemType
        var s = Onnx_TensorShapeProto()
        s.dim = dims.map { d in
            var dim = Onnx_TensorShapeProto.Dimension()
            if let n = Int64(d) { dim.dimValue = n } else { dim.dimParam = d }
            return dim
        }
        t.shape = s
        v.type.tensorType = t
        return v
    }

    static func node(_ op: String, _ inputs: [String], _ outputs: [String], _ name: String, ints: [String: [Int64]] = [:], int: [String: Int64] = [:]) -> Onnx_NodeProto {
        var n = Onnx_NodeProto()
        n.opType = op
        n.input = inputs
        n.output = outputs
        n.name = name
        for (k, v) in ints {
            var a = Onnx_AttributeProto()
            a.name = k
            a.type = .ints
            a.ints = v
            n.attribute.append(a)
        }
        for (k, v) in int {
            var a = Onnx_AttributeProto()
            a.name = k
            a.type = .int
            a.i = v
            n.attribute.append(a)
        }
        return n
    }

    static func write(_ nodes: [Onnx_NodeProto], _ initializers: [Onnx_TensorProto], to url: URL, outputs: [Onnx_ValueInfoProto]? = nil) throws {
        try bytes(nodes, initializers, outputs: outputs).write(to: url)
    }

    static func bytes(_ nodes: [Onnx_NodeProto], _ initializers: [Onnx_TensorProto], outputs: [Onnx_ValueInfoProto]? = nil) throws -> Data {
        var m = Onnx_ModelProto()
        m.irVersion = 8
        var o = Onnx_OperatorSetIdProto()
        o.version = 17
        m.opsetImport = [o]
        var g = Onnx_GraphProto()
        g.node = nodes
        g.initializer = initializers
        g.input = [value("input_ids", 7, ["batch", "seq"]), value("attention_mask", 7, ["batch", "seq"])]
        g.output = outputs ?? [value("hidden", 1, ["batch", "seq", "4"])]
        m.graph = g
        return try m.serializedData()
    }
}

final class ONNXImportTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws { dir = try TempDirectory.make("onnx-import") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func testEveryUnsupportedOpIsListedBeforeAnyWork() throws {
        let url = dir.appendingPathComponent("unsupported.onnx")
        try Build.write([
            Build.node("Gather", ["table", "input_ids"], ["e"], "embed"),
            Build.node("Foo", ["e"], ["f1"], "foo_a"),
            Build.node("Bar", ["f1"], ["b"], "bar_a"),
            Build.node("Foo", ["b"], ["hidden"], "foo_b"),
        ], [Build.floats("table", [5, 4], [Float](repeating: 0, count: 20))], to: url)
        XCTAssertThrowsError(try ONNXImporter.importModel(path: url.path, tokenizer: nil)) { error in
            guard let e = error as? IngotError else { return XCTFail("\(error)") }
            XCTAssertEqual(e.kind, .unsupported)
            XCTAssertEqual(e.kind.exitCode, 69)
            XCTAssertTrue(e.message.contains("2 unsupported op types"), e.message)
            XCTAssertTrue(e.message.contains("Foo ×2 (foo_a, foo_b)"), e.message)
            XCTAssertTrue(e.message.contains("Bar ×1 (bar_a)"), e.message)
        }
    }

    /// input_ids → int8 table (Cast·Mul, per-row scales) → decomposed LayerNorm → MatMul with an
    /// int8 weight (per-column scales) + bias → Erf GELU.
    func testTinyEncoderLandsOnFusedOps() throws {
        let url = dir.appendingPathComponent("tiny.onnx")
        try Build.tinyEncoder().write(to: url)
        let imported = try ONNXImporter.importModel(path: url.path, tokenizer: nil)
        let g = imported.graph
        XCTAssertNoThrow(try g.verify())
        let ops = g.nodes.map(\.op.name)
        XCTAssertEqual(ops.filter { $0 == "gather_int8" }.count, 1, "\(ops)")
        XCTAssertEqual(ops.filter { $0 == "layer_norm" }.count, 1, "\(ops)")
        XCTAssertEqual(ops.filter { $0 == "linear_int8" }.count, 1, "\(ops)")
        XCTAssertEqual(ops.filter { $0 == "gelu" }.count, 1, "\(ops)")
        XCTAssertFalse(ops.contains("mul"), "the ½ and 2 of the Erf form cancel: \(ops)")
        XCTAssertEqual(g.outputs.map { g[$0].name }, ["last_hidden_state", "embedding"])
        XCTAssertEqual(g.constants.filter { g.type(of: $0.value).dtype == .i8 }.count, 2)
        XCTAssertTrue(imported.hyperParameters.contains { $0 == ("int8_weights", "2") })
    }

    func testAPendingPatternReadAnotherWayIsRefusedNamingTheNode() throws {
        let url = dir.appendingPathComponent("erf.onnx")
        try Build.write([
            Build.node("Gather", ["table", "input_ids"], ["e"], "embed"),
            Build.node("Erf", ["e"], ["hidden"], "lonely_erf"),
        ], [Build.floats("table", [5, 4], [Float](repeating: 0, count: 20))], to: url)
        XCTAssertThrowsError(try ONNXImporter.importModel(path: url.path, tokenizer: nil)) { error in
            guard let e = error as? IngotError else { return XCTFail("\(error)") }
            XCTAssertEqual(e.kind, .unsupported)
            XCTAssertTrue(e.description.contains("lonely_erf"), e.description)
        }
    }

    /// Fixtures/fuzz/onnx holds the tiny encoder as the ONNX fuzz target's seed; INGOT_WRITE_SEEDS=1 rewrites it.
    func testFuzzSeedIsCurrent() throws {
        let seed = TestPaths.fixtures.appendingPathComponent("fuzz/onnx/tiny-encoder.onnx")
        let bytes = try Build.tinyEncoder()
        if ProcessInfo.processInfo.environment["INGOT_WRITE_SEEDS"] == "1" {
            try FileManager.default.createDirectory(at: seed.deletingLastPathComponent(), withIntermediateDirectories: true)
            try bytes.write(to: seed)
        }
        XCTAssertEqual(try Data(contentsOf: seed), bytes, "run with INGOT_WRITE_SEEDS=1 to rewrite the seed")
    }

    func testTruncatedFileIsAFormatError() throws {
        let url = dir.appendingPathComponent("cut.onnx")
        try Build.write([Build.node("Gather", ["table", "input_ids"], ["hidden"], "embed")],
                        [Build.floats("table", [5, 4], [Float](repeating: 0, count: 20))], to: url)
        let bytes = try Data(contentsOf: url)
        try bytes.prefix(bytes.count - 9).write(to: url)
        XCTAssertThrowsError(try ModelImporter.importModel(at: url.path)) { error in
            XCTAssertEqual((error as? IngotError)?.kind, .format, "\(error)")
        }
    }
}

final class ONNXTokenizerAndGemmTests: XCTestCase {
    /// all-MiniLM-L6-v2's tokenizer.json and vocab.txt give the same WordPiece tokenizer, both
    /// limited by sentence_bert_config.json (256), not by tokenizer.json's own truncation (128).
    func testTokenizerJSONMatchesVocabTxt() throws {
        let dir = try requireModel(TestPaths.miniLMDir)
        let json = try ONNXTokenizer.tokenizerJSON(dir.appendingPathComponent("tokenizer.json").path, maxPositions: 512)
        let vocab = try XCTUnwrap(try EncoderImporter.wordPieceTokenizer(directory: dir.path, maxPositions: 512))
        XCTAssertEqual(json.tokens, vocab.tokens)
        XCTAssertEqual(json.specialTokens, vocab.specialTokens)
        XCTAssertEqual(json.lowercase, vocab.lowercase)
        XCTAssertEqual(json.stripAccents, vocab.stripAccents)
        XCTAssertEqual(json.splitCJK, vocab.splitCJK)
        XCTAssertEqual(json.continuingSubwordPrefix, vocab.continuingSubwordPrefix)
        XCTAssertEqual(json.maxLength, 256)
        XCTAssertEqual(vocab.maxLength, 256)
    }

    /// Gemm(x, W[N, K], b) {transB = 1, alpha = 2} → matmul with W as stored, the alpha scale and the bias.
    func testGemmWithTransposedWeight() throws {
        let dir = try TempDirectory.make("onnx-gemm")
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("gemm.onnx")
        var gemm = Build.node("Gemm", ["e", "w", "b"], ["hidden"], "dense", int: ["transB": 1])
        var alpha = Onnx_AttributeProto()
        alpha.name = "alpha"
        alpha.type = .float
        alpha.f = 2
        gemm.attribute.append(alpha)
        try Build.write([Build.node("Gather", ["table", "input_ids"], ["e"], "embed"), gemm], [
            Build.floats("table", [5, 4], (0..<20).map(Float.init)),
            Build.floats("w", [3, 4], (0..<12).map(Float.init)),
            Build.floats("b", [3], [1, 2, 3]),
        ], to: url, outputs: [Build.value("hidden", 1, ["batch", "seq", "3"])])
        let g = try ONNXImporter.importModel(path: url.path, tokenizer: nil).graph
        let ops = g.nodes.map(\.op)
        XCTAssertTrue(ops.contains(.matmul(transposeB: true)), "\(ops)")
        let w = try XCTUnwrap(g.constants.first { g[$0.value].name == "w" })
        XCTAssertEqual(g.type(of: w.value).description, "f32[3, 4]", "stored [N, K] already")
        XCTAssertEqual(ops.filter { $0 == .binary(.mul) }.count, 1, "alpha")
        XCTAssertEqual(ops.filter { $0 == .binary(.add) }.count, 1, "bias")
        XCTAssertEqual(g.type(of: g.outputs[0]).description, "f32[batch, seq, 3]")
    }

    /// DequantizeLinear of an int8 weight (per-column scales, zero point 0) is the same weight-only
    /// linear_int8 as Cast · Mul; a non-zero zero point is refused naming the node.
    func testDequantizeLinearWeight() throws {
        let dir = try TempDirectory.make("onnx-dql")
        defer { try? FileManager.default.removeItem(at: dir) }
        func model(zero: [Int8]) throws -> String {
            let url = dir.appendingPathComponent("dql\(zero.first ?? 0).onnx")
            try Build.write([
                Build.node("Gather", ["table", "input_ids"], ["e"], "embed"),
                Build.node("DequantizeLinear", ["w_q", "w_scale", "w_zero"], ["w"], "dequant", int: ["axis": 1]),
                Build.node("MatMul", ["e", "w"], ["hidden"], "dense"),
            ], [
                Build.floats("table", [5, 4], (0..<20).map(Float.init)),
                Build.int8s("w_q", [4, 3], (0..<12).map { Int8($0 - 6) }),
                Build.floats("w_scale", [3], [0.1, 0.2, 0.3]),
                Build.int8s("w_zero", [3], zero),
            ], to: url, outputs: [Build.value("hidden", 1, ["batch", "seq", "3"])])
            return url.path
        }
        let g = try ONNXImporter.importModel(path: try model(zero: [0, 0, 0]), tokenizer: nil).graph
        let linear = try XCTUnwrap(g.nodes.first { $0.op.name == "linear_int8" })
        XCTAssertEqual(g.type(of: linear.inputs[1]).description, "i8[3, 4]", "transposed to [N, K]")
        XCTAssertEqual(g.type(of: linear.inputs[2]).description, "f32[3, 1]", "one scale per output column")
        XCTAssertThrowsError(try ONNXImporter.importModel(path: try model(zero: [1, 0, 0]), tokenizer: nil)) { error in
            XCTAssertEqual((error as? IngotError)?.kind, .unsupported)
            XCTAssertTrue("\(error)".contains("dequant"), "\(error)")
        }
    }
}
