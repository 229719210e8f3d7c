// Importers: the real MiniLM and SmolLM2 checkpoints become verified graphs with the
// expected structure; broken checkpoints fail before any weight is loaded, listing
// everything that is missing.
import Foundation
import XCTest
import IngotCore
import IngotIR
import IngotTestSupport
@testable import IngotImport


final class BertImportTests: XCTestCase {
    func testMiniLMGraph() throws {
        let dir = try requireModel(TestPaths.miniLMDir)
        let model = try ModelImporter.importModel(at: dir.path)
        XCTAssertEqual(model.architecture, "bert")
        XCTAssertNoThrow(try model.graph.verify())
        // Every weight but the unused pooler and the position_ids buffer.
        XCTAssertEqual(model.graph.parameterCount, 22_565_376)
        XCTAssertEqual(model.graph.constants.count, 5 + 6 * 16)
        XCTAssertEqual(model.graph.inputs.map { model.graph[$0].name }, ["input_ids", "attention_mask", "token_type_ids", "position_ids"])
        XCTAssertEqual(model.graph.outputs.map { model.graph[$0].name }, ["last_hidden_state", "embedding"])
        XCTAssertEqual(model.graph.type(of: model.graph.outputs[1]).description, "f32[batch, 384]")
        let golden = try String(contentsOf: TestPaths.fixtures.appendingPathComponent("ir/minilm.txt"), encoding: .utf8)
        XCTAssertEqual(model.graph.text, golden)
        let tok = try XCTUnwrap(model.tokenizer)
        XCTAssertEqual(tok.kind, .wordPiece)
        XCTAssertEqual(tok.tokens.count, 30522)
        XCTAssertEqual(tok.maxLength, 256, "sentence_bert_config.json max_seq_length")
        XCTAssertEqual(tok.specialTokens["cls"], 101)
        XCTAssertTrue(tok.lowercase)
    }

    func testConstantsLoadTheCheckpointBytes() throws {
        let dir = try requireModel(TestPaths.miniLMDir)
        let model = try ModelImporter.importModel(at: dir.path)
        let g = model.graph
        let id = try XCTUnwrap(g.value(named: "encoder.layer.5.output.LayerNorm.bias"))
        let source = try XCTUnwrap(g.constants.first { $0.value == id }?.source)
        let buffer = try source.load()
        XCTAssertEqual(buffer.byteCount, 384 * 4)
        XCTAssertTrue(buffer.toArray(of: Float.self).allSatisfy(\.isFinite))
    }

    /// A folder with a BERT config.json whose weights miss two tensors and have one wrong shape.
    func makeBrokenBert() throws -> URL {
        let dir = try TempDirectory.make()
        let config = """
            {"model_type": "bert", "hidden_size": 8, "num_attention_heads": 2, "num_hidden_layers": 1,
             "intermediate_size": 16, "vocab_size": 10, "max_position_embeddings": 16, "type_vocab_size": 2}
            """
        try config.write(to: dir.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        var tensors: [TestTensor] = [
            .f32("embeddings.word_embeddings.weight", [10, 8]), .f32("embeddings.position_embeddings.weight", [16, 8]),
            .f32("embeddings.token_type_embeddings.weight", [2, 8]), .f32("embeddings.LayerNorm.weight", [8]),
            .f32("embeddings.LayerNorm.bias", [8]),
        ]
        let l = "encoder.layer.0."
        for n in ["query", "key"] {
            tensors.append(.f32(l + "attention.self.\(n).weight", [8, 8]))
            tensors.append(.f32(l + "attention.self.\(n).bias", [8]))
        }
        // value.* missing; output.dense.weight with the wrong shape.
        tensors += [.f32(l + "attention.output.dense.weight", [8, 8]), .f32(l + "attention.output.dense.bias", [8]),
                    .f32(l + "attention.output.LayerNorm.weight", [8]), .f32(l + "attention.output.LayerNorm.bias", [8]),
                    .f32(l + "intermediate.dense.weight", [16, 8]), .f32(l + "intermediate.dense.bias", [16]),
                    .f32(l + "output.dense.weight", [16, 8]), .f32(l + "output.dense.bias", [8]),
                    .f32(l + "output.LayerNorm.weight", [8]), .f32(l + "output.LayerNorm.bias", [8])]
        try SafetensorsWriter.write(tensors, to: dir.appendingPathComponent("model.safetensors"))
        return dir
    }

    /// Issue 14: a vocabulary longer than the embedding table built and failed only at run time.
    func testVocabularyLongerThanTheEmbeddingTableIsRefused() throws {
        let dir = try TempDirectory.make("tiny-bert")
        try TinyCheckpoints.bert(in: dir, vocab: TinyCheckpoints.bertVocabulary(11))
        XCTAssertThrowsError(try ModelImporter.importModel(at: dir.path)) { error in
            let e = error as! IngotError
            XCTAssertEqual(e.kind.exitCode, 65)
            XCTAssertEqual(e.description, dir.path + "/vocab.txt: 11 tokens, expected at most the 10 rows of the embedding table embeddings.word_embeddings.weight [10, 8] (a token id past the table has no embedding)")
        }
        // Fewer tokens than rows: the rest are padding rows.
        try TinyCheckpoints.bert(in: dir, vocab: TinyCheckpoints.bertVocabulary(7))
        let model = try ModelImporter.importModel(at: dir.path)
        XCTAssertEqual(model.tokenizer?.tokens.count, 7)
    }

    func testMiniLMDecomposedAttentionGraph() throws {
        let dir = try requireModel(TestPaths.miniLMDir)
        let g = try ModelImporter.importModel(at: dir.path, attention: .decomposed).graph
        XCTAssertNoThrow(try g.verify())
        XCTAssertEqual(g.constants.count, 5 + 6 * 16 + 3, "the weights, then 1, the mask fill and the scale")
        let count = { (name: String) in g.nodes.filter { $0.op.name == name }.count }
        XCTAssertEqual(count("attention"), 0)
        XCTAssertEqual(count("softmax"), 6)
        XCTAssertEqual(count("cast"), 1, "one mask bias for all layers")
        XCTAssertEqual(count("matmul"), 6 * 6 + 6 * 2, "six projections and two batched products per layer")
        XCTAssertEqual(g.type(of: g.value(named: "layer0.scores")!).description, "f32[batch, 12, seq, seq]")
        XCTAssertEqual(g.type(of: g.value(named: "attention.mask_bias")!).description, "f32[batch, 1, 1, seq]")
        XCTAssertEqual(g.type(of: g.value(named: "layer5.attention")!).description, "f32[batch, seq, 384]")
    }

    func testMissingAndMisshapenTensorsAreListedTogether() throws {
        let dir = try makeBrokenBert()
        XCTAssertThrowsError(try ModelImporter.importModel(at: dir.path)) { error in
            let e = error as! IngotError
            XCTAssertEqual(e.kind, .unsupported)
            XCTAssertEqual(e.message, "not a BERT checkpoint Ingot can import: missing 2 tensors: encoder.layer.0.attention.self.value.weight [8, 8], encoder.layer.0.attention.self.value.bias [8]; wrong shape: encoder.layer.0.output.dense.weight: shape [16, 8], expected [8, 16]")
        }
    }

    /// Issue 14: F32 weights relabelled I32 were converted by value (garbage weights, exit 0).
    func testIntegerTypedWeightsAreRefusedByName() throws {
        let dir = try makeBrokenBert()
        let weights = dir.appendingPathComponent("model.safetensors")
        var bytes = [UInt8](try Data(contentsOf: weights))
        let header = Array(#""embeddings.LayerNorm.weight":{"dtype":"F32""#.utf8)
        let at = try XCTUnwrap((0..<4096).first { bytes[$0..<$0 + header.count].elementsEqual(header) }, "header entry not found")
        bytes.replaceSubrange(at + header.count - 4..<at + header.count - 1, with: Array("I32".utf8))
        try Data(bytes).write(to: weights)
        XCTAssertThrowsError(try ModelImporter.importModel(at: dir.path)) { error in
            let e = error as! IngotError
            XCTAssertEqual(e.kind, .unsupported)
            XCTAssertTrue(e.message.hasSuffix("; integer dtype where a weight is expected (floating-point or a GGML quantized type): embeddings.LayerNorm.weight: i32"), e.message)
        }
    }

    func testConfigProblemsAreListedTogether() throws {
        let dir = try TempDirectory.make()
        try #"{"model_type": "bert", "hidden_size": "384", "num_attention_heads": 12, "vocab_size": -3}"#
            .write(to: dir.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        try SafetensorsWriter.write([.f32("x", [2])], to: dir.appendingPathComponent("model.safetensors"))
        XCTAssertThrowsError(try ModelImporter.importModel(at: dir.path)) { error in
            let e = error as! IngotError
            XCTAssertEqual(e.kind, .format)
            XCTAssertEqual(e.file, dir.appendingPathComponent("config.json").path)
            XCTAssertEqual(e.message, "hidden_size: value \"384\", expected an integer in 1...1073741824; num_hidden_layers: missing, expected an integer in 1...1024; intermediate_size: missing, expected an integer in 1...1073741824; vocab_size: value -3, expected an integer in 1...1073741824; max_position_embeddings: missing, expected an integer in 2...1073741824; type_vocab_size: missing, expected an integer in 1...1024")
        }
    }

    /// Issue 14, crash 5: `max_position_embeddings: 1` with a 1-row position table and a
    /// sentence_bert_config.json trapped on the range 2...1; it is a config error.
    func testOnePositionBertIsAConfigError() throws {
        let dir = try makeBrokenBert()
        let config = dir.appendingPathComponent("config.json")
        try String(contentsOf: config, encoding: .utf8).replacingOccurrences(of: "\"max_position_embeddings\": 16", with: "\"max_position_embeddings\": 1")
            .write(to: config, atomically: true, encoding: .utf8)
        try "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\na\n".write(to: dir.appendingPathComponent("vocab.txt"), atomically: true, encoding: .utf8)
        try #"{"max_seq_length": 128, "do_lower_case": false}"#
            .write(to: dir.appendingPathComponent("sentence_bert_config.json"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ModelImporter.importModel(at: dir.path)) { error in
            let e = error as! IngotError
            XCTAssertEqual(e.kind, .format)
            XCTAssertEqual(e.file, config.path)
            XCTAssertEqual(e.message, "max_position_embeddings: value 1, expected an integer in 2...1073741824")
        }
    }

    /// Issue 14 audit: a vocab.txt line longer than a TOKN string may be (64 KiB) is refused
    /// at import, naming the line, instead of building an artifact its reader refuses.
    func testVocabularyLineLongerThanTheTokenizerFormatAllowsIsRefused() throws {
        let dir = try TempDirectory.make()
        let vocab = dir.appendingPathComponent("vocab.txt")
        try ("[PAD]\n[UNK]\n[CLS]\n[SEP]\n" + String(repeating: "a", count: 70_000) + "\nb\n").write(to: vocab, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try EncoderImporter.wordPieceTokenizer(directory: dir.path, maxPositions: 16)) { error in
            XCTAssertEqual("\(error)", vocab.path + ": line 5: 70000 bytes, expected at most 65536")
        }
        try "[PAD]\n[UNK]\n[CLS]\n[SEP]\nb\n".write(to: vocab, atomically: true, encoding: .utf8)
        XCTAssertEqual(try EncoderImporter.wordPieceTokenizer(directory: dir.path, maxPositions: 16)?.tokens.count, 5)
    }

    func testUnsupportedArchitectureIsNamed() throws {
        let dir = try TempDirectory.make()
        try #"{"model_type": "t5"}"#.write(to: dir.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        try SafetensorsWriter.write([.f32("x", [2])], to: dir.appendingPathComponent("model.safetensors"))
        XCTAssertThrowsError(try ModelImporter.importModel(at: dir.path)) { error in
            XCTAssertEqual((error as! IngotError).description,
                           dir.appendingPathComponent("config.json").path + ": model_type: value \"t5\", expected one of \"bert\", \"roberta\", \"xlm-roberta\", \"distilbert\", \"mpnet\", \"llama\", \"qwen2\", \"gemma3_text\"")
        }
    }

    func testNoConfigIsAnError() throws {
        let dir = try TempDirectory.make()
        XCTAssertThrowsError(try ModelImporter.importModel(at: dir.path)) { error in
            XCTAssertEqual((error as! IngotError).kind, .invalidArgument)
        }
    }
}

final class LlamaImportTests: XCTestCase {
    func testDecomposedAttentionIsBERTOnly() throws {
        XCTAssertThrowsError(try ModelImporter.importModel(at: "/nonexistent/model.gguf", attention: .decomposed)) { error in
            let e = error as! IngotError
            XCTAssertEqual(e.kind, .unsupported)
            XCTAssertEqual(e.message, "value decomposed for a decoder checkpoint, expected fused (decomposed attention is written for BERT only)")
        }
    }

    /// Issue 14, crash 2: the real SmolLM2 header with `llama.attention.head_count_kv` = 0
    /// trapped on `heads % kvHeads`; it is a format error naming the key.
    func testZeroKeyValueHeadsInAGGUFIsNamed() throws {
        let path = try requireModel(TestPaths.smolLM2GGUF)
        var bytes = [UInt8](try Data(contentsOf: path))
        let key = Array("llama.attention.head_count_kv".utf8)
        let at = try XCTUnwrap((0..<100_000).first { bytes[$0..<$0 + key.count].elementsEqual(key) }, "key not found")
        // The key, its u32 value type (4 = UINT32), then the value.
        XCTAssertEqual(bytes[at + key.count], 4)
        for i in 0..<4 { bytes[at + key.count + 4 + i] = 0 }
        let dir = try TempDirectory.make("gguf-kv0")
        let hostile = dir.appendingPathComponent("kv0.gguf")
        try Data(bytes).write(to: hostile)
        XCTAssertThrowsError(try ModelImporter.importModel(at: hostile.path)) { error in
            let e = error as! IngotError
            XCTAssertEqual(e.kind, .format)
            XCTAssertEqual(e.message, "llama.attention.head_count_kv: value 0, expected an integer in 1...9")
        }
    }

    /// Issue 14: `llama.attention.layer_norm_rms_epsilon` = inf built and ran garbage.
    func testInfiniteRMSEpsilonInAGGUFIsNamed() throws {
        let path = try requireModel(TestPaths.smolLM2GGUF)
        var bytes = [UInt8](try Data(contentsOf: path))
        let key = Array("llama.attention.layer_norm_rms_epsilon".utf8)
        let at = try XCTUnwrap((0..<100_000).first { bytes[$0..<$0 + key.count].elementsEqual(key) }, "key not found")
        XCTAssertEqual(bytes[at + key.count], 6, "value type FLOAT32")
        withUnsafeBytes(of: Float.infinity.bitPattern.littleEndian) { for i in 0..<4 { bytes[at + key.count + 4 + i] = $0[i] } }
        let hostile = try TempDirectory.make("gguf-eps").appendingPathComponent("eps.gguf")
        try Data(bytes).write(to: hostile)
        XCTAssertThrowsError(try ModelImporter.importModel(at: hostile.path)) { error in
            let e = error as! IngotError
            XCTAssertEqual(e.kind, .format)
            XCTAssertEqual(e.message, "llama.attention.layer_norm_rms_epsilon: value inf, expected a number in (0, 1)")
        }
    }

    func writeGGUF(_ bytes: [UInt8], _ name: String) throws -> URL {
        let url = try TempDirectory.make("tiny-llama").appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url
    }

    func testTinyLlamaImports() throws {
        let model = try ModelImporter.importModel(at: try writeGGUF(TinyCheckpoints.llamaGGUF(tokens: ["a", "b", "c", "d"], vocabSize: 4), "ok.gguf").path)
        XCTAssertEqual(model.tokenizer?.tokens.count, 4)
        XCTAssertEqual(model.graph.type(of: model.graph.outputs[0]).description, "f32[batch, seq, 4]")
    }

    /// Decoder importer: every checkpoint tensor is used or deliberately ignored.
    func testUnusedTensorIsRefusedNamingIt() throws {
        let url = try writeGGUF(TinyCheckpoints.llamaGGUF(tokens: ["a", "b", "c", "d"], vocabSize: 4,
                                                          extraTensors: [("blk.0.attn_q.bias", [32])]), "extra.gguf")
        XCTAssertThrowsError(try ModelImporter.importModel(at: url.path)) { error in
            let e = error as! IngotError
            XCTAssertEqual(e.kind.exitCode, 69)
            XCTAssertEqual(e.description, url.path + ": not a LLaMA checkpoint Ingot can import: 1 tensor the graph does not use: blk.0.attn_q.bias")
        }
    }

    /// LLaMA-3 frequency scaling is refused from metadata and tensor names, before any weight is read.
    func testRopeFrequencyTensorIsRefusedNamingIt() throws {
        let url = try writeGGUF(TinyCheckpoints.llamaGGUF(tokens: ["a", "b", "c", "d"], vocabSize: 4,
                                                          extraTensors: [("rope_freqs.weight", [8])]), "rope_freqs.gguf")
        XCTAssertThrowsError(try ModelImporter.importModel(at: url.path)) { error in
            let e = error as! IngotError
            XCTAssertEqual(e.kind.exitCode, 69)
            XCTAssertEqual(e.description, url.path + ": tensor rope_freqs.weight: present, expected absent (LLaMA-3 rope frequency scaling is not supported)")
        }
    }

    /// qwen2 takes q/k/v biases from the table; without them the import lists the three missing.
    func testTinyQwen2NeedsItsBiases() throws {
        let biases: [(String, [UInt64])] = [("blk.0.attn_q.bias", [32]), ("blk.0.attn_k.bias", [32]), ("blk.0.attn_v.bias", [32])]
        let model = try ModelImporter.importModel(at: try writeGGUF(TinyCheckpoints.llamaGGUF(tokens: ["a", "b", "c", "d"], vocabSize: 4,
                                                                                             architecture: "qwen2", extraTensors: biases), "qwen2.gguf").path)
        XCTAssertEqual(model.architecture, "qwen2")
        XCTAssertEqual(model.graph.nodes.filter { $0.op == .binary(.add) }.count, 3 + 2, "three biases, two residuals")
        XCTAssertTrue(model.graph.text.contains("style = half"), "qwen2 GGUFs keep NEOX q/k rows")
        let url = try writeGGUF(TinyCheckpoints.llamaGGUF(tokens: ["a", "b", "c", "d"], vocabSize: 4, architecture: "qwen2"), "qwen2-nobias.gguf")
        XCTAssertThrowsError(try ModelImporter.importModel(at: url.path)) { error in
            XCTAssertEqual((error as! IngotError).description,
                           url.path + ": not a Qwen2 checkpoint Ingot can import: missing 3 tensors: blk.0.attn_q.bias [32], blk.0.attn_k.bias [32], blk.0.attn_v.bias [32]")
        }
    }

    func testUnknownDecoderArchitectureIsRefusedFromMetadata() throws {
        let url = try writeGGUF(TinyCheckpoints.llamaGGUF(tokens: ["a", "b", "c", "d"], vocabSize: 4, architecture: "mamba"), "mamba.gguf")
        XCTAssertThrowsError(try ModelImporter.importModel(at: url.path)) { error in
            XCTAssertEqual((error as! IngotError).description,
                           url.path + ": general.architecture: value \"mamba\", expected one of \"llama\", \"qwen2\", \"gemma3\"")
        }
    }

    /// Issue 14: an F32 norm weight retyped as Q4_0 (with data a Q4_0 block long, so the file
    /// is consistent) built and ran garbage; 1-D tensors must be float.
    func testQuantizedNormWeightIsRefusedNamingTheTypes() throws {
        let url = try writeGGUF(TinyCheckpoints.llamaGGUF(tokens: ["a", "b", "c", "d"], vocabSize: 4, normType: TinyCheckpoints.ggmlQ4_0), "q4norm.gguf")
        XCTAssertThrowsError(try ModelImporter.importModel(at: url.path)) { error in
            let e = error as! IngotError
            XCTAssertEqual(e.kind.exitCode, 69)
            XCTAssertEqual(e.description, url.path + ": not a LLaMA checkpoint Ingot can import: quantized type where a norm weight or bias is expected (F32, F16, BF16 or F64): blk.0.attn_norm.weight: Q4_0")
        }
    }

    /// Issue 14: a vocabulary longer than the embedding table built and failed only at run time.
    func testVocabularyLongerThanTheEmbeddingTableIsRefused() throws {
        let five = ["a", "b", "c", "d", "e"]
        for vocabSize in [UInt32(4), nil] {
            let url = try writeGGUF(TinyCheckpoints.llamaGGUF(tokens: five, vocabSize: vocabSize), "long.gguf")
            XCTAssertThrowsError(try ModelImporter.importModel(at: url.path), "llama.vocab_size \(String(describing: vocabSize))") { error in
                let e = error as! IngotError
                XCTAssertEqual(e.kind.exitCode, 65)
                XCTAssertEqual(e.description, url.path + ": tokenizer.ggml.tokens: 5 tokens, expected at most the 4 rows of the embedding table token_embd.weight [4, 32] (a token id past the table has no embedding)")
            }
        }
        // Fewer tokens than rows are padding rows, with or without llama.vocab_size.
        for vocabSize in [UInt32(4), nil] {
            let model = try ModelImporter.importModel(at: try writeGGUF(TinyCheckpoints.llamaGGUF(tokens: ["a", "b", "c"], vocabSize: vocabSize), "short.gguf").path)
            XCTAssertEqual(model.tokenizer?.tokens.count, 3)
            XCTAssertEqual(model.graph.type(of: model.graph.outputs[0]).description, "f32[batch, seq, 4]")
        }
    }

    /// The real SmolLM2 file with one token (and its token type) appended: 49,153 tokens for
    /// an embedding table of 49,152 rows. The 64 inserted header bytes keep the data aligned.
    func testRealVocabularyOneTokenLongerThanTheTableIsRefused() throws {
        let path = try requireModel(TestPaths.smolLM2GGUF)
        var bytes = [UInt8](try Data(contentsOf: path))
        func u64(_ at: Int) -> Int { Int(bytes[at..<at + 8].withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }) }
        func put(_ v: Int, at: Int) { withUnsafeBytes(of: UInt64(v).littleEndian) { for i in 0..<8 { bytes[at + i] = $0[i] } } }
        func arrayCount(_ key: String) throws -> Int {
            let k = Array(key.utf8)
            let at = try XCTUnwrap((8..<4_000_000).first { bytes[$0..<$0 + k.count].elementsEqual(k) && bytes[$0 - 8] == UInt8(k.count) })
            return at + k.count + 4 + 4     // key · u32 type (array) · u32 element type · u64 count
        }
        // Appended last: the token_type array's element (i32, 4 bytes), then the token string.
        let typesCount = try arrayCount("tokenizer.ggml.token_type")
        XCTAssertEqual(u64(typesCount), 49152)
        bytes.insert(contentsOf: [1, 0, 0, 0], at: typesCount + 8 + 4 * 49152)
        put(49153, at: typesCount)
        let tokensCount = try arrayCount("tokenizer.ggml.tokens")
        XCTAssertEqual(u64(tokensCount), 49152)
        var end = tokensCount + 8
        for _ in 0..<49152 { end += 8 + u64(end) }
        bytes.insert(contentsOf: GGUFBuilder.str(String(repeating: "x", count: 52)), at: end)
        put(49153, at: tokensCount)
        let url = try writeGGUF(bytes, "smol-long-vocab.gguf")
        XCTAssertThrowsError(try ModelImporter.importModel(at: url.path)) { error in
            let e = error as! IngotError
            XCTAssertEqual(e.kind.exitCode, 65)
            XCTAssertEqual(e.description, url.path + ": tokenizer.ggml.tokens: 49153 tokens, expected at most the 49152 rows of the embedding table token_embd.weight [49152, 576] (a token id past the table has no embedding)")
        }
    }

    func testSmolLM2FromGGUF() throws {
        let path = try requireModel(TestPaths.smolLM2GGUF)
        let model = try ModelImporter.importModel(at: path.path)
        let g = model.graph
        XCTAssertEqual(model.architecture, "llama")
        XCTAssertNoThrow(try g.verify())
        XCTAssertEqual(g.parameterCount, 134_515_008, "tied embeddings are counted once")
        XCTAssertEqual(g.constants.count, 1 + 30 * 9 + 1)
        XCTAssertEqual(g.type(of: g.outputs[0]).description, "f32[batch, seq, 49152]")
        let facts = Dictionary(uniqueKeysWithValues: model.hyperParameters)
        XCTAssertEqual(facts["num_key_value_heads"], "3")
        XCTAssertEqual(facts["rope_theta"], "100000.0")
        XCTAssertEqual(facts["tied_embeddings"], "true")
        let attention = try XCTUnwrap(g.nodes.first { $0.op.name == "attention" })
        XCTAssertEqual(attention.op, .attention(AttentionAttributes(heads: 9, kvHeads: 3, headDim: 64, causal: true, scale: 0.125, kvCache: true)))
        let tok = try XCTUnwrap(model.tokenizer)
        XCTAssertEqual(tok.kind, .byteLevelBPE)
        XCTAssertEqual(tok.tokens.count, 49152)
        XCTAssertEqual(tok.preTokenizer, "smollm")
        XCTAssertFalse(tok.merges.isEmpty)
        XCTAssertTrue(tok.chatTemplate?.contains("<|im_start|>") ?? false)
    }
}
