// The sentence-transformers pipeline as imported and run: tiny BERT folders with CLS, max,
// last-token and mean pooling, Dense layers (with and without bias, Identity and Tanh) and
// with or without Normalize, each embedding compared with a plain Swift computation from the
// same run's last_hidden_state. Reader errors are in IngotImportTests.
import Foundation
import XCTest
import IngotCore
import IngotEval
import IngotIR
import IngotPasses
import IngotImport
import IngotTestSupport
@testable import IngotRuntime

final class SentenceTransformersPipelineTests: XCTestCase {
    struct DenseSpec { var inFeatures, outFeatures: Int; var bias: Bool; var tanh: Bool }

    /// Signed, uneven values so tanh, max and the bias all matter.
    static func filler(_ seed: Int) -> (Int) -> Float { { i in Float(((i + seed) * 37) % 23) * 0.09 - 1.0 } }

    func folder(pooling: String, dense: [DenseSpec], normalize: Bool) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("st-\(UUID().uuidString)")
        try TinyCheckpoints.bert(in: dir, vocab: TinyCheckpoints.bertVocabulary(10))
        var modules = [#"{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"}"#,
                       #"{"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}"#]
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("1_Pooling"), withIntermediateDirectories: true)
        try #"{"word_embedding_dimension": 8, "\#(pooling)": true, "include_prompt": true}"#
            .write(to: dir.appendingPathComponent("1_Pooling/config.json"), atomically: true, encoding: .utf8)
        for (i, d) in dense.enumerated() {
            let name = "\(i + 2)_Dense"
            let sub = dir.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: sub, withIntermediateDirectories: true)
            let activation = d.tanh ? "torch.nn.modules.activation.Tanh" : "torch.nn.modules.linear.Identity"
            try #"{"in_features": \#(d.inFeatures), "out_features": \#(d.outFeatures), "bias": \#(d.bias), "activation_function": "\#(activation)"}"#
                .write(to: sub.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
            var tensors: [TestTensor] = [.f32("linear.weight", [d.outFeatures, d.inFeatures], Self.filler(i))]
            if d.bias { tensors.append(.f32("linear.bias", [d.outFeatures], Self.filler(i + 5))) }
            try SafetensorsWriter.write(tensors, to: sub.appendingPathComponent("model.safetensors"))
            modules.append(#"{"idx": \#(i + 2), "name": "\#(i + 2)", "path": "\#(name)", "type": "sentence_transformers.models.Dense"}"#)
        }
        if normalize {
            modules.append(#"{"idx": 9, "name": "9", "path": "9_Normalize", "type": "sentence_transformers.models.Normalize"}"#)
        }
        try ("[" + modules.joined(separator: ",\n") + "]").write(to: dir.appendingPathComponent("modules.json"), atomically: true, encoding: .utf8)
        return dir
    }

    /// Runs the imported folder on two sequences of different lengths (the second padded) and
    /// returns (last_hidden_state [2, seq, 8], embedding [2, width], lengths, seq).
    func run(_ dir: URL) throws -> (hidden: [Float], embedding: [Float], width: Int, lengths: [Int], seq: Int, graph: Graph) {
        let imported = try ModelImporter.importModel(at: dir.path)
        var constants: [ValueID: TensorBuffer] = [:]
        for c in imported.graph.constants { constants[c.value] = try XCTUnwrap(c.source).load() }
        let model = try Model(graph: imported.graph, constants: constants, tokenizerSpec: imported.tokenizer, label: "tiny")
        let encoder = try Encoder(model: model)
        let ids: [[Int32]] = [[2, 5, 9, 6, 7, 3], [2, 8, 3]]
        let out = try encoder.run(ids: ids)
        let hidden = try XCTUnwrap(out["last_hidden_state"]?.floats)
        let embedding = try XCTUnwrap(out["embedding"])
        return (hidden, try XCTUnwrap(embedding.floats), embedding.shape[1], ids.map(\.count), 6, imported.graph)
    }

    /// The pooled rows [2, 8] from hidden states, in Double.
    func pool(_ mode: String, _ h: [Float], lengths: [Int], seq: Int) -> [[Double]] {
        lengths.enumerated().map { b, n in
            (0..<8).map { d in
                let column = (0..<n).map { Double(h[(b * seq + $0) * 8 + d]) }
                switch mode {
                case "cls": return column[0]
                case "max": return column.max()!
                case "last": return column[n - 1]
                default: return column.reduce(0, +) / Double(n)
                }
            }
        }
    }

    func expected(pooled: [[Double]], dense: [DenseSpec], normalize: Bool) -> [[Double]] {
        pooled.map { row in
            var x = row
            for (i, d) in dense.enumerated() {
                let w = (0..<(d.outFeatures * d.inFeatures)).map(Self.filler(i)), bias = (0..<d.outFeatures).map(Self.filler(i + 5))
                x = (0..<d.outFeatures).map { o in
                    var s = d.bias ? Double(bias[o]) : 0
                    for k in 0..<d.inFeatures { s += Double(w[o * d.inFeatures + k]) * x[k] }
                    return d.tanh ? tanh(s) : s
                }
            }
            if normalize {
                let norm = max(x.map { $0 * $0 }.reduce(0, +).squareRoot(), 1e-12)
                x = x.map { $0 / norm }
            }
            return x
        }
    }

    func check(pooling key: String, mode: String, dense: [DenseSpec] = [], normalize: Bool) throws {
        let dir = try folder(pooling: key, dense: dense, normalize: normalize)
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try run(dir)
        let want = expected(pooled: pool(mode, r.hidden, lengths: r.lengths, seq: r.seq), dense: dense, normalize: normalize)
        XCTAssertEqual(r.width, want[0].count)
        for b in 0..<2 {
            for j in 0..<r.width {
                XCTAssertEqual(Double(r.embedding[b * r.width + j]), want[b][j], accuracy: 1e-4, "\(mode) b\(b) [\(j)]")
            }
        }
        // The mode matters on these states: another pooling would give another embedding.
        if mode != "mean" {
            let mean = expected(pooled: pool("mean", r.hidden, lengths: r.lengths, seq: r.seq), dense: dense, normalize: normalize)
            let gap = zip(mean.joined(), want.joined()).map { abs($0 - $1) }.max()!
            XCTAssertGreaterThan(gap, 1e-3, "\(mode) pooling indistinguishable from mean on this input")
        }
        let hasNormalize = r.graph.nodes.contains { if case .l2Normalize = $0.op { return true } else { return false } }
        XCTAssertEqual(hasNormalize, normalize)
    }

    func testCLSPoolingWithoutNormalize() throws {
        try check(pooling: "pooling_mode_cls_token", mode: "cls", normalize: false)
    }

    func testMaxPoolingWithNormalize() throws {
        try check(pooling: "pooling_mode_max_tokens", mode: "max", normalize: true)
    }

    func testLastTokenPooling() throws {
        try check(pooling: "pooling_mode_lasttoken", mode: "last", normalize: false)
    }

    func testMeanPoolingWithoutNormalizeIsNotNormalized() throws {
        try check(pooling: "pooling_mode_mean_tokens", mode: "mean", normalize: false)
    }

    func testDenseWithBiasAndTanhThenNormalize() throws {
        try check(pooling: "pooling_mode_cls_token", mode: "cls", dense: [DenseSpec(inFeatures: 8, outFeatures: 5, bias: true, tanh: true)],
                  normalize: true)
    }

    func testTwoDenseLayersWithoutBiasIdentity() throws {
        try check(pooling: "pooling_mode_mean_tokens", mode: "mean",
                  dense: [DenseSpec(inFeatures: 8, outFeatures: 12, bias: false, tanh: false),
                          DenseSpec(inFeatures: 12, outFeatures: 4, bias: false, tanh: false)], normalize: true)
    }

    func testDenseIdentityWithBiasTanhWithoutBias() throws {
        try check(pooling: "pooling_mode_max_tokens", mode: "max",
                  dense: [DenseSpec(inFeatures: 8, outFeatures: 6, bias: true, tanh: false),
                          DenseSpec(inFeatures: 6, outFeatures: 3, bias: false, tanh: true)], normalize: false)
    }

    /// Calibration (what quantize=int8 reads) over a value with one row per sentence (a Dense
    /// layer's input after pooling, [batch, width]): every sentence's row, not token ranges.
    func testCalibrationReadsPooledRowsOncePerSentence() throws {
        let dir = try folder(pooling: "pooling_mode_mean_tokens", dense: [DenseSpec(inFeatures: 8, outFeatures: 4, bias: false, tanh: false)],
                             normalize: true)
        let imported = try ModelImporter.importModel(at: dir.path)
        let pooled = try XCTUnwrap(imported.graph.value(named: "pooled"))
        let calibrator = ModelCalibrator(data: .sentences([[2, 5, 9, 6, 7, 3], [2, 8, 3], [2, 4, 4, 3]]),
                                         models: GraphModels(reference: imported.graph, tokenizerSpec: imported.tokenizer))
        let rows = try XCTUnwrap(try calibrator.rows(of: [pooled], in: imported.graph, maxRows: 100)[pooled])
        XCTAssertEqual(rows.count, 3 * 8, "one pooled row per sentence")
        let stats = try XCTUnwrap(try calibrator.statistics(of: [pooled], in: imported.graph)[pooled])
        XCTAssertEqual(stats.rows, 3)
        XCTAssertTrue(stats.channelMaxAbs.contains { $0 > 0 })
    }
}
