// TinyCheckpoints: complete, importable one-layer checkpoints small enough to write in a
// test: a BERT folder (config.json, safetensors, vocab.txt) and a LLaMA GGUF, with knobs for
// the hostile variants the tests need (a longer vocabulary, a retyped norm tensor).
// The weights are filler values; nothing here checks what a model computes.

import Foundation
import IngotCore

public enum TinyCheckpoints {
    /// A BERT folder: hidden 8, 2 heads, 1 layer, FFN 16, a word embedding table of
    /// `embeddingRows` rows, `positions` positions, LayerNorm weights 1; `vocab` becomes vocab.txt
    /// (it needs [PAD], [UNK], [CLS] and [SEP]). With `meanPooling`, a sentence-transformers
    /// head (modules.json, 1_Pooling) makes it an embedding model.
    public static func bert(in dir: URL, vocab: [String], embeddingRows: Int = 10, positions: Int = 16,
                            meanPooling: Bool = false) throws {
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let config = """
            {"model_type": "bert", "hidden_size": 8, "num_attention_heads": 2, "num_hidden_layers": 1,
             "intermediate_size": 16, "vocab_size": \(embeddingRows), "max_position_embeddings": \(positions), "type_vocab_size": 2}
            """
        try config.write(to: dir.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        if meanPooling {
            try FileManager.default.createDirectory(at: dir.appendingPathComponent("1_Pooling"), withIntermediateDirectories: true)
            try """
                [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
                 {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]
                """.write(to: dir.appendingPathComponent("modules.json"), atomically: true, encoding: .utf8)
            try #"{"word_embedding_dimension": 8, "pooling_mode_mean_tokens": true}"#
                .write(to: dir.appendingPathComponent("1_Pooling/config.json"), atomically: true, encoding: .utf8)
        }
        try SafetensorsWriter.write(bertTensors(embeddingRows: embeddingRows, positions: positions), to: dir.appendingPathComponent("model.safetensors"))
        try (vocab.joined(separator: "\n") + "\n").write(to: dir.appendingPathComponent("vocab.txt"), atomically: true, encoding: .utf8)
    }

    /// The F32 weights `bert(in:)` writes: hidden 8, 2 heads, 1 layer, FFN 16, 21 tensors.
    public static func bertTensors(embeddingRows: Int = 10, positions: Int = 16) -> [TestTensor] {
        let ones = { (_: Int) -> Float in 1 }
        let l = "encoder.layer.0."
        var tensors: [TestTensor] = [
            .f32("embeddings.word_embeddings.weight", [embeddingRows, 8]), .f32("embeddings.position_embeddings.weight", [positions, 8]),
            .f32("embeddings.token_type_embeddings.weight", [2, 8]), .f32("embeddings.LayerNorm.weight", [8], ones),
            .f32("embeddings.LayerNorm.bias", [8]),
        ]
        for n in ["query", "key", "value"] {
            tensors += [.f32(l + "attention.self.\(n).weight", [8, 8]), .f32(l + "attention.self.\(n).bias", [8])]
        }
        tensors += [.f32(l + "attention.output.dense.weight", [8, 8]), .f32(l + "attention.output.dense.bias", [8]),
                    .f32(l + "attention.output.LayerNorm.weight", [8], ones), .f32(l + "attention.output.LayerNorm.bias", [8]),
                    .f32(l + "intermediate.dense.weight", [16, 8]), .f32(l + "intermediate.dense.bias", [16]),
                    .f32(l + "output.dense.weight", [8, 16]), .f32(l + "output.dense.bias", [8]),
                    .f32(l + "output.LayerNorm.weight", [8], ones), .f32(l + "output.LayerNorm.bias", [8])]
        return tensors
    }

    /// The special tokens BERT needs, then plain letters, `count` tokens in all (count ≥ 5).
    public static func bertVocabulary(_ count: Int) -> [String] {
        Array((["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + (0..<max(0, count - 5)).map { "t\($0)" }).prefix(count))
    }

    /// GGML type ids used below.
    public static let ggmlF32: UInt32 = 0, ggmlQ4_0: UInt32 = 2, ggmlQ8_0: UInt32 = 8

    /// A LLaMA GGUF: hidden 32, 2 heads, 1 layer, FFN 32, an embedding table of 4 rows, F32
    /// weights and a gpt2 tokenizer of `tokens` (no merges). `llama.vocab_size` is written when
    /// given. With `normType` Q4_0, blk.0.attn_norm.weight holds one Q4_0 block (scale 1), so
    /// the file's layout stays consistent and only the type is wrong for the tensor's role.
    /// `architecture` names the family and the metadata key prefix; `extraTensors` (F32, GGML
    /// dims) are appended. With `matrixType` Q8_0 the embedding table and the seven layer matrices
    /// are Q8_0 blocks (scale 1/64, codes from a fixed sequence) instead of F32.
    public static func llamaGGUF(tokens: [String], vocabSize: UInt32?, normType: UInt32 = ggmlF32, architecture: String = "llama",
                                 extraTensors: [(String, [UInt64])] = [], matrixType: UInt32 = ggmlF32) -> [UInt8] {
        var b = GGUFBuilder()
        b.addString("general.architecture", architecture)
        for (key, value) in [("embedding_length", 32), ("block_count", 1), ("attention.head_count", 2),
                             ("feed_forward_length", 32), ("context_length", 64)] {
            b.addU32(architecture + "." + key, UInt32(value))
        }
        if let vocabSize { b.addU32(architecture + ".vocab_size", vocabSize) }
        b.addString("tokenizer.ggml.model", "gpt2")
        var list = ByteWriter()
        list.u32(8)
        list.u64(UInt64(tokens.count))
        for t in tokens { list.append(GGUFBuilder.str(t)) }
        b.add("tokenizer.ggml.tokens", type: 9, list.bytes)
        var merges = ByteWriter()
        merges.u32(8)
        merges.u64(0)
        b.add("tokenizer.ggml.merges", type: 9, merges.bytes)
        func f32(_ name: String, _ ne: [UInt64]) -> (String, [UInt64], UInt32, [UInt8]) {
            let count = Int(ne.reduce(1, *))
            var bytes: [UInt8] = []
            for i in 0..<count { withUnsafeBytes(of: (Float(i % 5) * 0.01 + 0.5).bitPattern.littleEndian) { bytes += $0 } }
            return (name, ne, ggmlF32, bytes)
        }
        var codeState: UInt32 = 12345
        func matrix(_ name: String, _ ne: [UInt64]) -> (String, [UInt64], UInt32, [UInt8]) {
            guard matrixType == ggmlQ8_0 else { return f32(name, ne) }
            var bytes: [UInt8] = []
            for _ in 0..<(Int(ne.reduce(1, *)) / 32) {
                bytes += [0x00, 0x24]   // f16 1/64
                for _ in 0..<32 {
                    codeState = codeState &* 1103515245 &+ 12345
                    bytes.append(UInt8(bitPattern: Int8(Int((codeState >> 16) % 255) - 127)))
                }
            }
            return (name, ne, ggmlQ8_0, bytes)
        }
        let norm = normType == ggmlQ4_0
            ? ("blk.0.attn_norm.weight", [UInt64(32)], ggmlQ4_0, [0x00, 0x3C] + [UInt8](repeating: 0x88, count: 16))
            : f32("blk.0.attn_norm.weight", [32])
        b.tensors = [matrix("token_embd.weight", [32, 4]), norm]
            + ["attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"].map { matrix("blk.0.\($0).weight", [32, 32]) }
            + [f32("blk.0.ffn_norm.weight", [32]), f32("output_norm.weight", [32])] + extraTensors.map { f32($0.0, $0.1) }
        return b.bytes()
    }
}
