// Qwen2 and Gemma 3 (causal) from Hugging Face folders (config.json + safetensors +
// tokenizer.json + tokenizer_config.json), each against the GGUF of the same tiny weights
// written as llama.cpp's converter would (GGUF names, reversed dims, Gemma norms stored as
// 1 + w): identical logits, the same tokenizer ids, the folder's chat template; an unknown
// tensor fails the build naming it; and a bidirectional gemma3_text folder becomes an encoder.
import Foundation
import XCTest
import IngotCompiler
import IngotCore
import IngotImport
import IngotTestSupport
@testable import IngotRuntime

final class HuggingFaceDecoderTests: XCTestCase {
    struct Family {
        var modelType: String
        var ggufArchitecture: String
        var hidden = 16, heads = 2, kvHeads = 1, headDim = 8, inter = 24, layers = 2
        var biases = false
        var gemma = false
        /// `tie_word_embeddings`: no lm_head / output.weight tensor.
        var tied = false
    }

    static let qwen2 = Family(modelType: "qwen2", ggufArchitecture: "qwen2", biases: true)
    static let gemma3 = Family(modelType: "gemma3_text", ggufArchitecture: "gemma3", gemma: true, tied: true)

    // MARK: tokenizers (one vocabulary per kind, 12 tokens)

    /// Byte-level BPE with the qwen2 split: "abc ab" → abc | Ġ ab (merge ranks: "a b" before "Ġ a").
    static let byteLevelTokens = ["a", "b", "c", "Ġ", "ab", "abc", "Ġa", "<|endoftext|>", "<|im_start|>", "<|im_end|>", "x", "y"]
    static let byteLevelMerges = ["a b", "ab c", "Ġ a"]
    /// SentencePiece-style BPE: merges listed by the merged piece's score, as converted models list them.
    static let pieceTokens = ["<pad>", "<eos>", "<bos>", "<unk>", "\u{2581}", "a", "b", "ab", "\u{2581}a", "\u{2581}ab", "<0x41>", "<0x42>"]
    static let pieceMerges = ["a b", "\u{2581} a", "\u{2581} ab", "\u{2581}a b"]
    static let chatTemplate = "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"

    var vocab: Int { 12 }

    /// Deterministic weights in [-0.5, 0.5).
    func weights(_ name: String, _ count: Int) -> [Float] {
        var h: UInt64 = 1469598103934665603
        for b in name.utf8 { h = (h ^ UInt64(b)) &* 1099511628211 }
        return (0..<count).map { i in
            var x = h &+ UInt64(i) &* 0x9E3779B97F4A7C15
            x = (x ^ (x >> 31)) &* 0xBF58476D1CE4E5B9
            return Float(Double(x >> 11) / Double(1 << 53) - 0.5)
        }
    }

    /// (Hugging Face name, GGUF name, row-major shape, is a norm weight).
    func tensors(_ f: Family) -> [(String, String, [Int], Bool)] {
        let q = f.heads * f.headDim, kv = f.kvHeads * f.headDim
        var out: [(String, String, [Int], Bool)] = [("model.embed_tokens.weight", "token_embd.weight", [vocab, f.hidden], false),
                                                    ("model.norm.weight", "output_norm.weight", [f.hidden], true)]
        if !f.tied { out.append(("lm_head.weight", "output.weight", [vocab, f.hidden], false)) }
        for l in 0..<f.layers {
            let p = "model.layers.\(l).", g = "blk.\(l)."
            out += [(p + "input_layernorm.weight", g + "attn_norm.weight", [f.hidden], true),
                    (p + "self_attn.q_proj.weight", g + "attn_q.weight", [q, f.hidden], false),
                    (p + "self_attn.k_proj.weight", g + "attn_k.weight", [kv, f.hidden], false),
                    (p + "self_attn.v_proj.weight", g + "attn_v.weight", [kv, f.hidden], false),
                    (p + "self_attn.o_proj.weight", g + "attn_output.weight", [f.hidden, q], false),
                    (p + "mlp.gate_proj.weight", g + "ffn_gate.weight", [f.inter, f.hidden], false),
                    (p + "mlp.up_proj.weight", g + "ffn_up.weight", [f.inter, f.hidden], false),
                    (p + "mlp.down_proj.weight", g + "ffn_down.weight", [f.hidden, f.inter], false)]
            if f.biases {
                out += [(p + "self_attn.q_proj.bias", g + "attn_q.bias", [q], false),
                        (p + "self_attn.k_proj.bias", g + "attn_k.bias", [kv], false),
                        (p + "self_attn.v_proj.bias", g + "attn_v.bias", [kv], false)]
            }
            if f.gemma {
                out += [(p + "post_attention_layernorm.weight", g + "post_attention_norm.weight", [f.hidden], true),
                        (p + "pre_feedforward_layernorm.weight", g + "ffn_norm.weight", [f.hidden], true),
                        (p + "post_feedforward_layernorm.weight", g + "post_ffw_norm.weight", [f.hidden], true),
                        (p + "self_attn.q_norm.weight", g + "attn_q_norm.weight", [f.headDim], true),
                        (p + "self_attn.k_norm.weight", g + "attn_k_norm.weight", [f.headDim], true)]
            } else {
                out.append((p + "post_attention_layernorm.weight", g + "ffn_norm.weight", [f.hidden], true))
            }
        }
        return out
    }

    func json(_ v: Any) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: v, options: [.sortedKeys]), as: UTF8.self)
    }

    /// A Hugging Face folder; `extraTensor` adds a tensor no family has.
    func makeFolder(_ f: Family, bidirectional: Bool = false, extraTensor: String? = nil) throws -> URL {
        let dir = try TempDirectory.make("hf-\(f.modelType)")
        var config: [String: Any] = [
            "model_type": f.modelType, "hidden_size": f.hidden, "num_attention_heads": f.heads, "num_key_value_heads": f.kvHeads,
            "num_hidden_layers": f.layers, "intermediate_size": f.inter, "vocab_size": vocab, "max_position_embeddings": 64,
            "rope_theta": 1_000_000.0, "rms_norm_eps": 1e-6, "tie_word_embeddings": f.tied, "rope_scaling": NSNull(),
        ]
        if f.gemma {
            config["head_dim"] = f.headDim
            config["hidden_activation"] = "gelu_pytorch_tanh"
            config["query_pre_attn_scalar"] = f.headDim
            config["sliding_window"] = 4
            config["rope_local_base_freq"] = 10000.0
            config["layer_types"] = (0..<f.layers).map { ($0 + 1) % 6 == 0 ? "full_attention" : "sliding_attention" }
            config["attn_logit_softcapping"] = NSNull()
            config["final_logit_softcapping"] = NSNull()
            config["use_bidirectional_attention"] = bidirectional
        } else {
            config["hidden_act"] = "silu"
            config["use_sliding_window"] = false
        }
        try json(config).write(to: dir.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        var list = tensors(f).map { hf, _, shape, _ -> TestTensor in
            let w = weights(hf, shape.reduce(1, *))
            return TestTensor.f32(hf, shape) { w[$0] }
        }
        if let extraTensor { list.append(TestTensor.f32(extraTensor, [f.hidden])) }
        try SafetensorsWriter.write(list, to: dir.appendingPathComponent("model.safetensors"))

        let tokenizer: [String: Any]
        var tokenizerConfig: [String: Any] = [:]
        if f.gemma {
            let added = [(0, "<pad>"), (1, "<eos>"), (2, "<bos>"), (3, "<unk>")].map { ["id": $0.0, "content": $0.1, "special": true] as [String: Any] }
            tokenizer = ["version": "1.0", "added_tokens": added,
                         "normalizer": ["type": "Replace", "pattern": ["String": " "], "content": "\u{2581}"], "pre_tokenizer": NSNull(),
                         "model": ["type": "BPE", "byte_fallback": true, "unk_token": "<unk>",
                                   "vocab": Dictionary(uniqueKeysWithValues: Self.pieceTokens.enumerated().map { ($1, $0) }),
                                   "merges": Self.pieceMerges.map { $0.split(separator: " ").map(String.init) }]]
            tokenizerConfig = ["add_bos_token": true, "add_eos_token": bidirectional, "bos_token": "<bos>", "eos_token": "<eos>",
                               "pad_token": "<pad>", "unk_token": "<unk>"]
        } else {
            let added = [(7, "<|endoftext|>"), (8, "<|im_start|>"), (9, "<|im_end|>")].map { ["id": $0.0, "content": $0.1, "special": true] as [String: Any] }
            tokenizer = ["version": "1.0", "added_tokens": added, "normalizer": NSNull(),
                         "pre_tokenizer": ["type": "Sequence", "pretokenizers": [
                            ["type": "Split", "pattern": ["Regex": HuggingFaceTokenizerPatterns.qwen2], "behavior": "Isolated", "invert": false],
                            ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false]]],
                         "model": ["type": "BPE", "byte_fallback": false,
                                   "vocab": Dictionary(uniqueKeysWithValues: Self.byteLevelTokens.enumerated().map { ($1, $0) }),
                                   "merges": Self.byteLevelMerges]]
            tokenizerConfig = ["add_bos_token": false, "bos_token": NSNull(), "eos_token": "<|im_end|>", "pad_token": "<|endoftext|>",
                               "chat_template": Self.chatTemplate]
        }
        if bidirectional {
            // sentence-transformers: mean pooling, then Normalize (a module without a folder).
            let st = "sentence_transformers.models."
            try json([["idx": 0, "name": "0", "path": "", "type": st + "Transformer"],
                      ["idx": 1, "name": "1", "path": "1_Pooling", "type": st + "Pooling"],
                      ["idx": 2, "name": "2", "path": "2_Normalize", "type": st + "Normalize"]])
                .write(to: dir.appendingPathComponent("modules.json"), atomically: true, encoding: .utf8)
            let pooling = dir.appendingPathComponent("1_Pooling")
            try FileManager.default.createDirectory(at: pooling, withIntermediateDirectories: true)
            try json(["word_embedding_dimension": f.hidden, "pooling_mode_mean_tokens": true, "pooling_mode_cls_token": false,
                      "include_prompt": true])
                .write(to: pooling.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        }
        try json(tokenizer).write(to: dir.appendingPathComponent("tokenizer.json"), atomically: true, encoding: .utf8)
        try json(tokenizerConfig).write(to: dir.appendingPathComponent("tokenizer_config.json"), atomically: true, encoding: .utf8)
        return dir
    }

    /// The GGUF llama.cpp's converter would write for the same weights and tokenizer.
    func makeGGUF(_ f: Family) throws -> URL {
        var b = GGUFBuilder()
        let a = f.ggufArchitecture
        b.addString("general.architecture", a)
        for (key, value) in [("embedding_length", f.hidden), ("block_count", f.layers), ("attention.head_count", f.heads),
                             ("attention.head_count_kv", f.kvHeads), ("feed_forward_length", f.inter), ("context_length", 64)] {
            b.addU32(a + "." + key, UInt32(value))
        }
        func f32(_ key: String, _ v: Float) { var w = ByteWriter(); w.f32(v); b.add(key, type: 6, w.bytes) }
        func array(_ key: String, type: UInt32, _ items: [[UInt8]]) {
            var w = ByteWriter(); w.u32(type); w.u64(UInt64(items.count)); for i in items { w.append(i) }
            b.add(key, type: 9, w.bytes)
        }
        f32(a + ".rope.freq_base", 1_000_000)
        f32(a + ".attention.layer_norm_rms_epsilon", 1e-6)
        if f.gemma {
            b.addU32(a + ".attention.key_length", UInt32(f.headDim))
            b.addU32(a + ".attention.value_length", UInt32(f.headDim))
            b.addU32(a + ".attention.sliding_window", 4)
            b.addString("tokenizer.ggml.model", "llama")
            b.addString("tokenizer.ggml.pre", "default")
            array("tokenizer.ggml.tokens", type: 8, Self.pieceTokens.map(GGUFBuilder.str))
            // The SentencePiece scores the merges' order stands for.
            let scores: [Float] = [0, 0, 0, 0, 0, 0, 0, -1, -2, -3, 0, 0]
            array("tokenizer.ggml.scores", type: 6, scores.map { v in var w = ByteWriter(); w.f32(v); return w.bytes })
            let types: [Int32] = [3, 3, 3, 2, 1, 1, 1, 1, 1, 1, 6, 6]
            array("tokenizer.ggml.token_type", type: 5, types.map { v in var w = ByteWriter(); w.i32(v); return w.bytes })
            b.addU32("tokenizer.ggml.bos_token_id", 2)
            b.addU32("tokenizer.ggml.eos_token_id", 1)
            b.addU32("tokenizer.ggml.unknown_token_id", 3)
            b.addU32("tokenizer.ggml.padding_token_id", 0)
            b.add("tokenizer.ggml.add_space_prefix", type: 7, [0])
        } else {
            b.addString("tokenizer.ggml.model", "gpt2")
            b.addString("tokenizer.ggml.pre", "qwen2")
            array("tokenizer.ggml.tokens", type: 8, Self.byteLevelTokens.map(GGUFBuilder.str))
            array("tokenizer.ggml.merges", type: 8, Self.byteLevelMerges.map(GGUFBuilder.str))
            let types: [Int32] = [1, 1, 1, 1, 1, 1, 1, 3, 3, 3, 1, 1]
            array("tokenizer.ggml.token_type", type: 5, types.map { v in var w = ByteWriter(); w.i32(v); return w.bytes })
            b.addU32("tokenizer.ggml.eos_token_id", 9)
            b.addU32("tokenizer.ggml.padding_token_id", 7)
            b.addString("tokenizer.chat_template", Self.chatTemplate)
        }
        b.tensors = tensors(f).map { hf, gguf, shape, isNorm in
            // Gemma's converter stores 1 + w for every RMSNorm weight.
            let w = weights(hf, shape.reduce(1, *)).map { f.gemma && isNorm ? 1 + $0 : $0 }
            var bytes: [UInt8] = []
            for v in w { withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes += $0 } }
            return (gguf, shape.reversed().map(UInt64.init), TinyCheckpoints.ggmlF32, bytes)
        }
        let url = try TempDirectory.make("gguf-\(f.modelType)").appendingPathComponent("tiny.gguf")
        try Data(b.bytes()).write(to: url)
        return url
    }

    func checkFolderMatchesGGUF(_ f: Family, text: String, expectedIDs: [Int32]) throws {
        let folder = try makeFolder(f)
        let gguf = try makeGGUF(f)
        let fromFolder = folder.appendingPathComponent("hf.ingot").path, fromGGUF = folder.appendingPathComponent("gguf.ingot").path
        _ = try ArtifactBuilder.build(source: folder.path, output: fromFolder)
        _ = try ArtifactBuilder.build(source: gguf.path, output: fromGGUF)
        let ma = try Model(path: fromFolder), mb = try Model(path: fromGGUF)
        let a = try LanguageModel(model: ma), b = try LanguageModel(model: mb)
        let ids: [Int32] = [2, 5, 7, 1, 9, 4, 6, 8, 11, 3]   // 10 positions: past the sliding window of 4
        let la = try a.logits(ids: ids), lb = try b.logits(ids: ids)
        XCTAssertEqual(la.count, ids.count * vocab)
        XCTAssertEqual(la, lb, "\(f.modelType): the folder and the GGUF give identical logits")
        XCTAssertTrue(la.allSatisfy(\.isFinite))
        // Tokenizers: the folder's tokenizer.json and the GGUF's metadata encode alike.
        let ta = try makeTokenizer(try XCTUnwrap(ma.tokenizerSpec)), tb = try makeTokenizer(try XCTUnwrap(mb.tokenizerSpec))
        XCTAssertEqual(ta.encode(text, addSpecialTokens: true), expectedIDs, "\(f.modelType) folder tokenizer")
        XCTAssertEqual(tb.encode(text, addSpecialTokens: true), expectedIDs, "\(f.modelType) GGUF tokenizer")
        XCTAssertEqual(ta.spec.tokens, tb.spec.tokens)
    }

    func testQwen2FolderMatchesItsGGUF() throws {
        // "abc ab": qwen2 split → "abc", " ab" → abc | Ġ ab ("a b" ranks before "Ġ a").
        try checkFolderMatchesGGUF(Self.qwen2, text: "abc ab", expectedIDs: [5, 3, 4])
        let folder = try makeFolder(Self.qwen2)
        let out = folder.appendingPathComponent("x.ingot").path
        _ = try ArtifactBuilder.build(source: folder.path, output: out)
        let spec = try XCTUnwrap(try Model(path: out).tokenizerSpec)
        XCTAssertEqual(spec.chatTemplate, Self.chatTemplate, "chat_template from tokenizer_config.json")
        XCTAssertNil(spec.chatTemplateBuiltIn)
        XCTAssertEqual(spec.specialTokens["eos"], 9)
        XCTAssertFalse(spec.addBOS)
    }

    func testTiedQwen2FolderMatchesItsGGUF() throws {
        var tied = Self.qwen2
        tied.tied = true
        try checkFolderMatchesGGUF(tied, text: "abc ab", expectedIDs: [5, 3, 4])
    }

    /// A LLaMA-2-style folder whose tokenizer is `tokenizer.model` (SentencePiece BPE protobuf:
    /// pieces with scores and types, trainer ids, add_dummy_prefix); a Unigram model is refused.
    func testSentencePieceModelFileIsTheFolderTokenizer() throws {
        func varint(_ v: UInt64) -> [UInt8] {
            var v = v, out: [UInt8] = []
            repeat { out.append(UInt8(v & 0x7F) | (v >= 0x80 ? 0x80 : 0)); v >>= 7 } while v > 0
            return out
        }
        func bytes(_ field: UInt64, _ b: [UInt8]) -> [UInt8] { varint(field << 3 | 2) + varint(UInt64(b.count)) + b }
        func number(_ field: UInt64, _ v: UInt64) -> [UInt8] { varint(field << 3) + varint(v) }
        func float(_ field: UInt64, _ v: Float) -> [UInt8] {
            varint(field << 3 | 5) + withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) }
        }
        let pieces: [(String, Float, UInt64)] = [("<unk>", 0, 2), ("<s>", 0, 3), ("</s>", 0, 3), ("\u{2581}", 0, 1), ("a", 0, 1), ("b", 0, 1),
                                                 ("\u{2581}a", -1, 1), ("ab", -2, 1), ("\u{2581}ab", -3, 1), ("<0x41>", 0, 6), ("<0x42>", 0, 6), ("x", 0, 1)]
        func model(type: UInt64) -> [UInt8] {
            pieces.flatMap { bytes(1, bytes(1, Array($0.0.utf8)) + float(2, $0.1) + number(3, $0.2)) }
                + bytes(2, number(3, type) + number(40, 0) + number(41, 1) + number(42, 2) + number(43, UInt64(bitPattern: -1)))
                + bytes(3, bytes(1, Array("identity".utf8)) + number(3, 1) + number(4, 0))
        }
        var llama = Family(modelType: "llama", ggufArchitecture: "llama")
        llama.tied = true
        let folder = try makeFolder(llama)
        for name in ["tokenizer.json", "tokenizer_config.json"] { try FileManager.default.removeItem(at: folder.appendingPathComponent(name)) }
        try Data(model(type: 2)).write(to: folder.appendingPathComponent("tokenizer.model"))
        let out = folder.appendingPathComponent("x.ingot").path
        _ = try ArtifactBuilder.build(source: folder.path, output: out)
        let spec = try XCTUnwrap(try Model(path: out).tokenizerSpec)
        XCTAssertEqual(spec.kind, .sentencePiece)
        XCTAssertTrue(spec.addSpacePrefix)
        XCTAssertEqual(spec.specialTokens, ["unk": 0, "bos": 1, "eos": 2])
        let tok = try makeTokenizer(spec)
        XCTAssertEqual(tok.encode("ab ab", addSpecialTokens: true), [1, 8, 8])
        XCTAssertEqual(tok.encode("A", addSpecialTokens: false), [3, 9])
        XCTAssertEqual(tok.decode([8, 8]), "ab ab", "the leading ▁ is dropped")
        try Data(model(type: 1)).write(to: folder.appendingPathComponent("tokenizer.model"))
        XCTAssertThrowsError(try ArtifactBuilder.build(source: folder.path, output: out)) { error in
            let e = error as! IngotError
            XCTAssertEqual(e.kind, .unsupported)
            XCTAssertEqual(e.location, "trainer_spec.model_type")
        }
    }

    func testGemma3FolderMatchesItsGGUF() throws {
        // "ab ab" → <bos> ab ▁ab (SentencePiece merges by score; no space prefix).
        try checkFolderMatchesGGUF(Self.gemma3, text: "ab ab", expectedIDs: [2, 7, 9])
        let folder = try makeFolder(Self.gemma3)
        let out = folder.appendingPathComponent("x.ingot").path
        _ = try ArtifactBuilder.build(source: folder.path, output: out)
        let spec = try XCTUnwrap(try Model(path: out).tokenizerSpec)
        XCTAssertEqual(spec.chatTemplateBuiltIn, "gemma", "no template in the folder: the family's built-in one")
        // Byte fallback: "A" has no piece, only <0x41>.
        XCTAssertEqual(try makeTokenizer(spec).encode("A", addSpecialTokens: false), [10])
    }

    /// `ingot inspect FOLDER`: the family's facts, the sizes from config.json, the tokenizer, and
    /// what keeps a folder from importing.
    func testInspectSaysWhatTheDecoderImporterWouldDo() throws {
        let folder = try makeFolder(Self.gemma3)
        let facts = Dictionary(try Inspector.inspect(folder.path).facts, uniquingKeysWith: { a, _ in a })
        XCTAssertEqual(facts["decoder_support"], "supported")
        XCTAssertEqual(facts["decoder.hf_norm_weight"], "plus_one")
        XCTAssertEqual(facts["decoder.attention_scale"], "\(1 / Float(8).squareRoot())")
        XCTAssertEqual(facts["decoder.tokenizer"], "sentencepiece from tokenizer.json, 12 tokens")
        XCTAssertEqual(facts["decoder.chat_template"], "none in the folder; built-in gemma template")
        let config = folder.appendingPathComponent("config.json")
        let text = try String(contentsOf: config, encoding: .utf8)
        try text.replacingOccurrences(of: "\"final_logit_softcapping\":null", with: "\"final_logit_softcapping\":30")
            .write(to: config, atomically: true, encoding: .utf8)
        let refused = Dictionary(try Inspector.inspect(folder.path).facts, uniquingKeysWith: { a, _ in a })
        XCTAssertEqual(refused["decoder_support"], "not supported: \(config.path): final_logit_softcapping: value 30, expected null (not supported)")
    }

    /// The byte-level pre-tokenizers a tokenizer.json may name, recognised by their settings;
    /// anything else is refused naming pre_tokenizer.
    func testByteLevelPreTokenizersAreRecognised() throws {
        let folder = try makeFolder(Self.qwen2)
        let path = folder.appendingPathComponent("tokenizer.json")
        let root = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: path)) as? [String: Any])
        let byteLevel: [String: Any] = ["type": "ByteLevel", "add_prefix_space": false, "use_regex": true]
        let cases: [([String: Any], String?)] = [
            (byteLevel, "gpt2"),
            (["type": "Sequence", "pretokenizers": [["type": "Digits", "individual_digits": true], byteLevel]], "smollm"),
            (["type": "Sequence", "pretokenizers": [["type": "Split", "pattern": ["Regex": HuggingFaceTokenizerPatterns.llama3]],
                                                    ["type": "ByteLevel", "use_regex": false]]], "llama-bpe"),
            (["type": "Sequence", "pretokenizers": [["type": "Split", "pattern": ["Regex": "\\s+"]], ["type": "ByteLevel", "use_regex": false]]], nil),
        ]
        for (pre, expected) in cases {
            var r = root
            r["pre_tokenizer"] = pre
            try json(r).write(to: path, atomically: true, encoding: .utf8)
            if let expected {
                XCTAssertEqual(try HuggingFaceTokenizer.spec(folder: folder.path)?.preTokenizer, expected)
            } else {
                XCTAssertThrowsError(try HuggingFaceTokenizer.spec(folder: folder.path)) { error in
                    XCTAssertEqual((error as? IngotError)?.location, "pre_tokenizer")
                }
            }
        }
    }

    func testUnknownTensorFailsTheBuildNamingIt() throws {
        for f in [Self.qwen2, Self.gemma3] {
            let folder = try makeFolder(f, extraTensor: "model.layers.0.self_attn.rel_bias.weight")
            XCTAssertThrowsError(try ArtifactBuilder.build(source: folder.path, output: folder.appendingPathComponent("x.ingot").path)) { error in
                let e = error as! IngotError
                XCTAssertEqual(e.kind, .unsupported)
                XCTAssertTrue(e.message.contains("model.layers.0.self_attn.rel_bias.weight"), e.message)
            }
        }
    }

    func testUnsupportedConfigFieldsAreNamed() throws {
        let folder = try makeFolder(Self.qwen2)
        let config = folder.appendingPathComponent("config.json")
        let text = try String(contentsOf: config, encoding: .utf8)
        try text.replacingOccurrences(of: "\"use_sliding_window\":false", with: "\"use_sliding_window\":true")
            .write(to: config, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ArtifactBuilder.build(source: folder.path, output: folder.appendingPathComponent("x.ingot").path)) { error in
            let e = error as! IngotError
            XCTAssertEqual(e.kind, .unsupported)
            XCTAssertEqual(e.file, config.path)
            XCTAssertTrue(e.message.contains("use_sliding_window: value true"), e.message)
        }
    }

    /// `use_bidirectional_attention`: an encoder (attention mask in, last_hidden_state out, no
    /// head) whose sliding layers see ±(window/2) positions; every position sees later ones.
    func testBidirectionalGemmaFolderIsAnEncoder() throws {
        let folder = try makeFolder(Self.gemma3, bidirectional: true)
        let out = folder.appendingPathComponent("enc.ingot").path
        _ = try ArtifactBuilder.build(source: folder.path, output: out)
        let model = try Model(path: out)
        XCTAssertEqual(model.inputNames, ["input_ids", "attention_mask", "token_type_ids", "position_ids"])
        XCTAssertEqual(model.outputNames, ["last_hidden_state", "embedding"])
        let session = model.makeSession()
        func hidden(_ ids: [Int32]) throws -> [Float] {
            let shape = [1, ids.count]
            return try XCTUnwrap(try session.run(inputs: [
                "input_ids": HostTensor(shape: shape, ints: ids), "attention_mask": HostTensor(shape: shape, ints: ids.map { _ in 1 }),
                "token_type_ids": HostTensor(shape: shape, ints: ids.map { _ in 0 }),
                "position_ids": HostTensor(shape: shape, ints: (0..<ids.count).map(Int32.init)),
            ])["last_hidden_state"]?.floats)
        }
        let h = Self.gemma3.hidden
        let a = try hidden([2, 5, 6, 7]), b = try hidden([2, 5, 8, 7])
        XCTAssertNotEqual(Array(a[0..<h]), Array(b[0..<h]), "position 0 sees position 2 (no causal mask)")
        // Window 4 → ±2: with 8 positions, position 0 does not see position 7, in either layer.
        let c = try hidden([2, 5, 6, 7, 4, 4, 4, 5]), d = try hidden([2, 5, 6, 7, 4, 4, 4, 6])
        XCTAssertNotEqual(Array(c[(6 * h)..<(7 * h)]), Array(d[(6 * h)..<(7 * h)]))
        XCTAssertEqual(Array(c[0..<h]), Array(d[0..<h]), "layers 0 and 1 are sliding: ±2 positions per layer reach position 4 at most")
        let spec = try XCTUnwrap(model.tokenizerSpec)
        XCTAssertTrue(spec.addEOS)
        XCTAssertNil(spec.chatTemplate, "an encoder gets no chat template")
        // The Encoder (what `ingot run --text` uses): <bos> ab <eos>, mean of the three states, L2-normalised.
        let encoder = try Encoder(model: model)
        let ids = try encoder.tokenize("ab")
        XCTAssertEqual(ids, [2, 7, 1])
        let states = try hidden(ids)
        let mean = (0..<h).map { j in (states[j] + states[h + j] + states[2 * h + j]) / 3 }
        let norm = mean.map { $0 * $0 }.reduce(0, +).squareRoot()
        let embedding = try encoder.embed(["ab"])[0]
        XCTAssertEqual(embedding.count, h)
        for j in 0..<h { XCTAssertEqual(embedding[j], mean[j] / norm, accuracy: 1e-5) }
    }
}

enum HuggingFaceTokenizerPatterns {
    static let qwen2 = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    static let llama3 = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
}
