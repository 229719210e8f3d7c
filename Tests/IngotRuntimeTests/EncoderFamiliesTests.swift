// RoBERTa, XLM-R and DistilBERT through the encoder importer's facts, on tiny synthetic
// safetensors folders (hidden 8, 2 heads, 1 layer, FFN 16, random weights). Each family's
// folder holds the weights of one BERT folder under the family's own names, with its position
// rows where the family reads them (RoBERTa: from row padding_idx + 1 = 2 on), so its outputs
// must equal the BERT artifact's bit for bit, in a right-padded batch — the BERT path itself is
// checked against PyTorch elsewhere. A tensor no family uses (a classifier head) fails the import
// naming it.
import Foundation
import XCTest
import IngotCompiler
import IngotCore
import IngotImport
import IngotTestSupport
@testable import IngotRuntime

final class EncoderFamiliesTests: XCTestCase {
    /// BERT-named weights [shape, values]: random, LayerNorm weights around 1.
    static func bertWeights(positions: Int) -> [(String, [Int], [Float])] {
        var rng = SplitMix64(seed: 16)
        func random(_ shape: [Int], around center: Float = 0) -> [Float] {
            (0..<shape.reduce(1, *)).map { _ in center + Float(Double(rng.next() >> 11) / Double(1 << 53) - 0.5) }
        }
        var w: [(String, [Int], [Float])] = []
        func add(_ name: String, _ shape: [Int], around center: Float = 0) { w.append((name, shape, random(shape, around: center))) }
        add("embeddings.word_embeddings.weight", [10, 8])
        add("embeddings.position_embeddings.weight", [positions, 8])
        add("embeddings.token_type_embeddings.weight", [1, 8])
        add("embeddings.LayerNorm.weight", [8], around: 1)
        add("embeddings.LayerNorm.bias", [8])
        let l = "encoder.layer.0."
        for n in ["query", "key", "value"] {
            add(l + "attention.self.\(n).weight", [8, 8])
            add(l + "attention.self.\(n).bias", [8])
        }
        add(l + "attention.output.dense.weight", [8, 8])
        add(l + "attention.output.dense.bias", [8])
        add(l + "attention.output.LayerNorm.weight", [8], around: 1)
        add(l + "attention.output.LayerNorm.bias", [8])
        add(l + "intermediate.dense.weight", [16, 8])
        add(l + "intermediate.dense.bias", [16])
        add(l + "output.dense.weight", [8, 16])
        add(l + "output.dense.bias", [8])
        add(l + "output.LayerNorm.weight", [8], around: 1)
        add(l + "output.LayerNorm.bias", [8])
        return w
    }

    static func folder(_ name: String, config: String, tensors: [(String, [Int], [Float])]) throws -> URL {
        let dir = try TempDirectory.make().appendingPathComponent(name)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try config.write(to: dir.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        try SafetensorsWriter.write(tensors.map { t in TestTensor.f32(t.0, t.1) { t.2[$0] } }, to: dir.appendingPathComponent("model.safetensors"))
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("1_Pooling"), withIntermediateDirectories: true)
        try """
            [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
             {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]
            """.write(to: dir.appendingPathComponent("modules.json"), atomically: true, encoding: .utf8)
        try #"{"word_embedding_dimension": 8, "pooling_mode_mean_tokens": true}"#
            .write(to: dir.appendingPathComponent("1_Pooling/config.json"), atomically: true, encoding: .utf8)
        try (TinyCheckpoints.bertVocabulary(10).joined(separator: "\n") + "\n")
            .write(to: dir.appendingPathComponent("vocab.txt"), atomically: true, encoding: .utf8)
        return dir
    }

    static func bertConfig(positions: Int) -> String {
        """
        {"model_type": "bert", "hidden_size": 8, "num_attention_heads": 2, "num_hidden_layers": 1,
         "intermediate_size": 16, "vocab_size": 10, "max_position_embeddings": \(positions), "type_vocab_size": 1}
        """
    }

    /// last_hidden_state then the mean-pooled embedding of a padded batch, through an artifact built from `dir`.
    static func hidden(_ dir: URL, architecture: String) throws -> [Float] {
        let imported = try ModelImporter.importModel(at: dir.path)
        XCTAssertEqual(imported.architecture, architecture)
        let out = dir.appendingPathComponent("model.ingot").path
        _ = try ArtifactBuilder.write(imported, source: dir.path, output: out, options: BuildOptions())
        let encoder = try Encoder(model: try Model(path: out))
        let batch: [[Int32]] = [[2, 5, 6, 7, 8, 9, 3], [2, 7, 3]]
        let outputs = try encoder.run(ids: batch)
        let result = outputs["last_hidden_state"]!
        XCTAssertEqual(result.shape, [2, 7, 8])
        return result.floats! + outputs["embedding"]!.floats!
    }

    func rename(_ w: [(String, [Int], [Float])], _ map: (String) -> String) -> [(String, [Int], [Float])] {
        w.map { (map($0.0), $0.1, $0.2) }
    }

    /// RoBERTa and XLM-R read position row 2 + i for the i-th token and a one-row token-type table;
    /// the pooler is ignored.
    func testRoBERTaAndXLMREqualBERTWithTheirPositionRowsFirst() throws {
        let weights = Self.bertWeights(positions: 16)
        let table = "embeddings.position_embeddings.weight"
        // BERT with the 14 rows RoBERTa reads from row 2 on.
        let bert = weights.map { t -> (String, [Int], [Float]) in t.0 == table ? (t.0, [14, 8], Array(t.2[16...])) : t }
        let expected = try Self.hidden(try Self.folder("bert", config: Self.bertConfig(positions: 14), tensors: bert), architecture: "bert")
        for modelType in ["roberta", "xlm-roberta"] {
            let config = """
                {"model_type": "\(modelType)", "hidden_size": 8, "num_attention_heads": 2, "num_hidden_layers": 1,
                 "intermediate_size": 16, "vocab_size": 10, "max_position_embeddings": 16, "type_vocab_size": 1, "pad_token_id": 1,
                 "layer_norm_eps": 1e-12, "hidden_act": "gelu"}
                """
            let tensors = rename(weights) { "roberta." + $0 }
                + [("roberta.pooler.dense.weight", [8, 8], [Float](repeating: 0.5, count: 64)), ("roberta.pooler.dense.bias", [8], [Float](repeating: 0, count: 8))]
            let got = try Self.hidden(try Self.folder(modelType, config: config, tensors: tensors), architecture: modelType)
            XCTAssertEqual(got, expected, modelType)
        }
        // The same RoBERTa weights read from row 0 (as BERT would) give something else.
        let unshifted = try Self.hidden(try Self.folder("bert16", config: Self.bertConfig(positions: 16), tensors: weights), architecture: "bert")
        XCTAssertNotEqual(unshifted, expected)
    }

    /// DistilBERT: its own names, no token types (equal to BERT with a zero token-type row).
    func testDistilBERTEqualsBERTWithoutTokenTypes() throws {
        let weights = Self.bertWeights(positions: 16).map { t -> (String, [Int], [Float]) in
            t.0 == "embeddings.token_type_embeddings.weight" ? (t.0, t.1, [Float](repeating: 0, count: 8)) : t
        }
        let expected = try Self.hidden(try Self.folder("bert", config: Self.bertConfig(positions: 16), tensors: weights), architecture: "bert")
        let names = [
            "attention.self.query.": "attention.q_lin.", "attention.self.key.": "attention.k_lin.",
            "attention.self.value.": "attention.v_lin.", "attention.output.dense.": "attention.out_lin.",
            "attention.output.LayerNorm.": "sa_layer_norm.", "intermediate.dense.": "ffn.lin1.",
            "output.dense.": "ffn.lin2.", "output.LayerNorm.": "output_layer_norm.",
        ]
        let distil = weights.filter { $0.0 != "embeddings.token_type_embeddings.weight" }.map { t -> (String, [Int], [Float]) in
            var name = t.0
            if name.hasPrefix("encoder.layer.0.") {
                let rest = String(name.dropFirst("encoder.layer.0.".count))
                // Longest match first: "attention.output.dense." before "output.dense.".
                let key = names.keys.filter { rest.hasPrefix($0) }.max { $0.count < $1.count }!
                name = "transformer.layer.0." + names[key]! + rest.dropFirst(key.count)
            }
            return ("distilbert." + name, t.1, t.2)
        }
        let config = """
            {"model_type": "distilbert", "dim": 8, "n_heads": 2, "n_layers": 1, "hidden_dim": 16, "vocab_size": 10,
             "max_position_embeddings": 16, "activation": "gelu", "sinusoidal_pos_embds": false}
            """
        let got = try Self.hidden(try Self.folder("distilbert", config: config, tensors: distil), architecture: "distilbert")
        XCTAssertEqual(got, expected)
    }

    /// A classifier head is not dropped silently: the import fails naming it (exit 69).
    func testUnknownTensorIsNamed() throws {
        let config = """
            {"model_type": "roberta", "hidden_size": 8, "num_attention_heads": 2, "num_hidden_layers": 1,
             "intermediate_size": 16, "vocab_size": 10, "max_position_embeddings": 16, "type_vocab_size": 1, "pad_token_id": 1}
            """
        let tensors = rename(Self.bertWeights(positions: 16)) { "roberta." + $0 } + [("classifier.weight", [2, 8], [Float](repeating: 1, count: 16))]
        let dir = try Self.folder("roberta-classifier", config: config, tensors: tensors)
        XCTAssertThrowsError(try ModelImporter.importModel(at: dir.path)) { error in
            let e = error as? IngotError
            XCTAssertEqual(e?.kind, .unsupported)
            XCTAssertEqual(e?.kind.exitCode, 69)
            XCTAssertTrue(e?.message.contains("classifier.weight") == true, e?.message ?? "\(error)")
            XCTAssertTrue(e?.message.contains("RoBERTa") == true, e?.message ?? "\(error)")
        }
    }

    /// A missing MPNet relative bias table is named with its expected shape.
    func testMissingRelativeBiasTableIsNamed() throws {
        let config = """
            {"model_type": "mpnet", "hidden_size": 8, "num_attention_heads": 2, "num_hidden_layers": 1,
             "intermediate_size": 16, "vocab_size": 10, "max_position_embeddings": 16, "pad_token_id": 1,
             "relative_attention_num_buckets": 32}
            """
        let mpnetNames = ["attention.self.query.": "attention.attn.q.", "attention.self.key.": "attention.attn.k.",
                          "attention.self.value.": "attention.attn.v.", "attention.output.dense.": "attention.attn.o.",
                          "attention.output.LayerNorm.": "attention.LayerNorm."]
        let tensors = Self.bertWeights(positions: 16).filter { $0.0 != "embeddings.token_type_embeddings.weight" }.map { t -> (String, [Int], [Float]) in
            var name = t.0
            for (from, to) in mpnetNames where name.contains(from) { name = name.replacingOccurrences(of: from, with: to) }
            return (name, t.1, t.2)
        }
        let dir = try Self.folder("mpnet", config: config, tensors: tensors)
        XCTAssertThrowsError(try ModelImporter.importModel(at: dir.path)) { error in
            XCTAssertTrue("\(error)".contains("missing 1 tensor: encoder.relative_attention_bias.weight [32, 2]"), "\(error)")
        }
        // With the table it imports and runs.
        let withTable = tensors + [("encoder.relative_attention_bias.weight", [32, 2], (0..<64).map { Float($0 % 9) * 0.1 - 0.4 })]
        let full = try Self.folder("mpnet-full", config: config, tensors: withTable)
        XCTAssertEqual(try Self.hidden(full, architecture: "mpnet").count, 2 * 7 * 8 + 2 * 8)
    }
}
