// LlamaImporter: LLaMA-family decoders → IR, from GGUF metadata + tensors (llama.cpp
// layout, e.g. SmolLM2) or from a Hugging Face folder (config.json + safetensors).
// Grouped-query attention, RMSNorm, SwiGLU, RoPE, optional tied embeddings, and the
// byte-level BPE vocabulary with merges (GGUF). It does not handle rope scaling or biases.
//
// Graph (per layer l, x: f32[batch, seq, H]):
//   h = rms_norm(x);  q, k = rope(h·Wqᵀ), rope(h·Wkᵀ);  v = h·Wvᵀ
//   x = x + attention(q, k, v){causal, kv_cache}·Woᵀ
//   h = rms_norm(x);  x = x + (silu(h·Wgateᵀ) ⊙ h·Wupᵀ)·Wdownᵀ
//   logits = rms_norm(x)·Wheadᵀ   f32[batch, seq, vocab]   (Whead = token embeddings when tied)

import IngotCore
import IngotCheckpoint
import IngotIR

struct LlamaHyperParameters {
    var hidden: Int
    var layers: Int
    var heads: Int
    var kvHeads: Int
    var intermediate: Int
    var vocab: Int
    var contextLength: Int
    var ropeTheta: Float
    var rmsEps: Float
}

struct LlamaTensorNames {
    var tokenEmbedding: String
    var outputNorm: String
    var output: String
    var attnNorm: (Int) -> String
    var q: (Int) -> String
    var k: (Int) -> String
    var v: (Int) -> String
    var o: (Int) -> String
    var ffnNorm: (Int) -> String
    var gate: (Int) -> String
    var up: (Int) -> String
    var down: (Int) -> String

    static let gguf = LlamaTensorNames(
        tokenEmbedding: "token_embd.weight", outputNorm: "output_norm.weight", output: "output.weight",
        attnNorm: { "blk.\($0).attn_norm.weight" }, q: { "blk.\($0).attn_q.weight" }, k: { "blk.\($0).attn_k.weight" },
        v: { "blk.\($0).attn_v.weight" }, o: { "blk.\($0).attn_output.weight" }, ffnNorm: { "blk.\($0).ffn_norm.weight" },
        gate: { "blk.\($0).ffn_gate.weight" }, up: { "blk.\($0).ffn_up.weight" }, down: { "blk.\($0).ffn_down.weight" })

    static let huggingFace = LlamaTensorNames(
        tokenEmbedding: "model.embed_tokens.weight", outputNorm: "model.norm.weight", output: "lm_head.weight",
        attnNorm: { "model.layers.\($0).input_layernorm.weight" }, q: { "model.layers.\($0).self_attn.q_proj.weight" },
        k: { "model.layers.\($0).self_attn.k_proj.weight" }, v: { "model.layers.\($0).self_attn.v_proj.weight" },
        o: { "model.layers.\($0).self_attn.o_proj.weight" }, ffnNorm: { "model.layers.\($0).post_attention_layernorm.weight" },
        gate: { "model.layers.\($0).mlp.gate_proj.weight" }, up: { "model.layers.\($0).mlp.up_proj.weight" },
        down: { "model.layers.\($0).mlp.down_proj.weight" })
}

public enum LlamaImporter {
    // MARK: GGUF

    public static func importGGUF(_ file: GGUFFile) throws -> ImportedModel {
        var problems: [String] = []
        let arch = file["general.architecture"]?.string ?? ""
        guard arch == "llama" else {
            throw IngotError(.unsupported, file: file.path, location: "general.architecture",
                             "value \"\(arch)\", expected \"llama\"")
        }
        func int(_ key: String, range: ClosedRange<Int> = 1...(1 << 30)) -> Int {
            guard let v = file[key]?.int else { problems.append("\(key): missing, expected an integer in \(range)"); return range.lowerBound }
            guard range.contains(v) else { problems.append("\(key): value \(v), expected an integer in \(range)"); return range.lowerBound }
            return v
        }
        func float(_ key: String, default fallback: Double) -> Float {
            Float(file[key]?.float ?? fallback)
        }
        let tokens = file["tokenizer.ggml.tokens"]?.stringArray
        var hp = LlamaHyperParameters(
            hidden: int("llama.embedding_length"), layers: int("llama.block_count", range: 1...1024),
            heads: int("llama.attention.head_count"), kvHeads: 1, intermediate: int("llama.feed_forward_length"),
            vocab: 1, contextLength: int("llama.context_length"),
            ropeTheta: float("llama.rope.freq_base", default: 10000),
            rmsEps: float("llama.attention.layer_norm_rms_epsilon", default: 1e-5))
        hp.kvHeads = file["llama.attention.head_count_kv"] == nil ? hp.heads : int("llama.attention.head_count_kv", range: 1...max(hp.heads, 1))
        if !(hp.rmsEps > 0 && hp.rmsEps < 1) {
            problems.append("llama.attention.layer_norm_rms_epsilon: value \(hp.rmsEps), expected a number in (0, 1)")
        }
        // The embedding table's rows when llama.vocab_size is absent: a vocabulary may be
        // shorter than the table (padding rows), never longer.
        hp.vocab = file["llama.vocab_size"]?.int ?? file.tensor(named: LlamaTensorNames.gguf.tokenEmbedding)?.shape.first ?? tokens?.count ?? 0
        if let scaling = file["llama.rope.scaling.type"]?.string, scaling != "none" {
            problems.append("llama.rope.scaling.type: value \"\(scaling)\", expected \"none\" (rope scaling is not supported)")
        }
        if let dims = file["llama.rope.dimension_count"]?.int, hp.heads > 0, dims != hp.hidden / max(hp.heads, 1) {
            problems.append("llama.rope.dimension_count: value \(dims), expected head dimension \(hp.hidden / max(hp.heads, 1)) (partial rotary is not supported)")
        }
        if hp.vocab <= 0 { problems.append("llama.vocab_size: missing and no tokenizer.ggml.tokens to count") }
        guard problems.isEmpty else { throw IngotError(.format, file: file.path, problems.joined(separator: "; ")) }

        let tensors = GGUFTensors(file)
        // llama.cpp's converter permutes q/k rows so that adjacent pairs rotate together.
        let model = try buildGraph(hp, tensors: tensors, names: .gguf, ropeStyle: .interleaved, path: file.path)
        let tokenizer = try GGUFTokenizer.spec(file, contextLength: hp.contextLength)
        if let tokenizer {
            try checkVocabularyFits(tokenizer.tokens.count, field: "tokenizer.ggml.tokens", file: file.path,
                                    table: LlamaTensorNames.gguf.tokenEmbedding, rows: hp.vocab, hidden: hp.hidden)
        }
        return ImportedModel(architecture: "llama", graph: model.graph, tokenizer: tokenizer,
                             hyperParameters: describe(hp) + [("tied_embeddings", "\(model.tied)"), ("rope_style", "interleaved")],
                             sourceFiles: [file.path])
    }

    // MARK: Hugging Face

    static func importSafetensors(directory: String, config: ConfigFile, tensors: CheckpointTensors) throws -> ImportedModel {
        var config = config
        var hp = LlamaHyperParameters(
            hidden: config.int("hidden_size"), layers: config.int("num_hidden_layers", range: 1...1024),
            heads: config.int("num_attention_heads"), kvHeads: 1, intermediate: config.int("intermediate_size"),
            vocab: config.int("vocab_size"), contextLength: config.int("max_position_embeddings"),
            ropeTheta: Float(config.double("rope_theta", default: 10000)),
            rmsEps: Float(config.double("rms_norm_eps", default: 1e-6, range: 0...1)))
        hp.kvHeads = config.raw("num_key_value_heads") == nil ? hp.heads : config.int("num_key_value_heads", range: 1...max(hp.heads, 1))
        _ = config.string("hidden_act", default: "silu", allowed: ["silu"])
        if let scaling = config.raw("rope_scaling"), scaling != .null {
            throw IngotError(.unsupported, file: config.path, location: "rope_scaling",
                             "value \(scaling.serialized(pretty: false)), expected null (rope scaling is not supported)")
        }
        if config.bool("attention_bias", default: false) || config.bool("mlp_bias", default: false) {
            throw IngotError(.unsupported, file: config.path, location: "attention_bias/mlp_bias", "biases are not supported")
        }
        try config.finish()
        // Hugging Face weights rotate halves (NeoX layout).
        let model = try buildGraph(hp, tensors: tensors, names: .huggingFace, ropeStyle: .halfRotation,
                                   path: directory, tiedHint: config.bool("tie_word_embeddings", default: false))
        return ImportedModel(architecture: "llama", graph: model.graph, tokenizer: nil,
                             hyperParameters: describe(hp) + [("tied_embeddings", "\(model.tied)"), ("rope_style", "half")],
                             sourceFiles: tensors.sourceFiles + [config.path])
    }

    // MARK: Graph

    static func describe(_ hp: LlamaHyperParameters) -> [(String, String)] {
        [("hidden_size", "\(hp.hidden)"), ("num_hidden_layers", "\(hp.layers)"), ("num_attention_heads", "\(hp.heads)"),
         ("num_key_value_heads", "\(hp.kvHeads)"), ("intermediate_size", "\(hp.intermediate)"), ("vocab_size", "\(hp.vocab)"),
         ("context_length", "\(hp.contextLength)"), ("rope_theta", "\(hp.ropeTheta)"), ("rms_norm_eps", "\(hp.rmsEps)")]
    }

    static func buildGraph(_ hp: LlamaHyperParameters, tensors: CheckpointTensors, names: LlamaTensorNames,
                           ropeStyle: RopeStyle, path: String, tiedHint: Bool = false) throws -> (graph: Graph, tied: Bool) {
        guard hp.heads > 0, hp.kvHeads > 0, hp.hidden % hp.heads == 0, hp.heads % hp.kvHeads == 0, (hp.hidden / hp.heads) % 2 == 0 else {
            throw IngotError(.format, file: path,
                             "hidden size \(hp.hidden), heads \(hp.heads), kv heads \(hp.kvHeads): expected hidden a multiple of heads, heads a multiple of kv heads, an even head dimension")
        }
        let headDim = hp.hidden / hp.heads
        let kvDim = hp.kvHeads * headDim
        var g = Graph(name: "llama")
        var w = WeightBinder(tensors, architecture: "LLaMA")

        let ids = g.addInput("input_ids", TensorType(.i32, ["batch", "seq"]))
        let positions = g.addInput("position_ids", TensorType(.i32, ["batch", "seq"]))
        let embedding = w.weight(&g, names.tokenEmbedding, [hp.vocab, hp.hidden])

        struct Layer { var attnNorm, q, k, v, o, ffnNorm, gate, up, down: ValueID }
        var layers: [Layer] = []
        for l in 0..<hp.layers {
            layers.append(Layer(
                attnNorm: w.weight(&g, names.attnNorm(l), [hp.hidden]),
                q: w.weight(&g, names.q(l), [hp.hidden, hp.hidden]),
                k: w.weight(&g, names.k(l), [kvDim, hp.hidden]),
                v: w.weight(&g, names.v(l), [kvDim, hp.hidden]),
                o: w.weight(&g, names.o(l), [hp.hidden, hp.hidden]),
                ffnNorm: w.weight(&g, names.ffnNorm(l), [hp.hidden]),
                gate: w.weight(&g, names.gate(l), [hp.intermediate, hp.hidden]),
                up: w.weight(&g, names.up(l), [hp.intermediate, hp.hidden]),
                down: w.weight(&g, names.down(l), [hp.hidden, hp.intermediate])))
        }
        let outputNorm = w.weight(&g, names.outputNorm, [hp.hidden])
        let tied = !w.has(names.output)
        let head = tied ? embedding : w.weight(&g, names.output, [hp.vocab, hp.hidden])
        try w.finish()

        let attention = Op.attention(AttentionAttributes(heads: hp.heads, kvHeads: hp.kvHeads, headDim: headDim, causal: true,
                                                         scale: 1 / Float(headDim).squareRoot(), kvCache: true))
        let rmsNorm = Op.rmsNorm(epsilon: hp.rmsEps)
        func linear(_ x: ValueID, _ weight: ValueID, _ name: String) throws -> ValueID {
            try g.add(.matmul(transposeB: true), [x, weight], name: name)
        }

        var x = try g.add(.gather, [embedding, ids], name: "embeddings")
        for (l, lw) in layers.enumerated() {
            let n = "layer\(l)"
            let h = try g.add(rmsNorm, [x, lw.attnNorm], name: n + ".attn_norm")
            var q = try linear(h, lw.q, n + ".q")
            var k = try linear(h, lw.k, n + ".k")
            let v = try linear(h, lw.v, n + ".v")
            q = try g.add(.rope(theta: hp.ropeTheta, heads: hp.heads, headDim: headDim, style: ropeStyle), [q, positions], name: n + ".q_rope")
            k = try g.add(.rope(theta: hp.ropeTheta, heads: hp.kvHeads, headDim: headDim, style: ropeStyle), [k, positions], name: n + ".k_rope")
            let a = try g.add(attention, [q, k, v], name: n + ".attention")
            let o = try linear(a, lw.o, n + ".attention_out")
            x = try g.add(.binary(.add), [x, o], name: n + ".residual1")
            let h2 = try g.add(rmsNorm, [x, lw.ffnNorm], name: n + ".ffn_norm")
            let gate = try g.add(.silu, [try linear(h2, lw.gate, n + ".gate")], name: n + ".gate_silu")
            let up = try linear(h2, lw.up, n + ".up")
            let m = try g.add(.binary(.mul), [gate, up], name: n + ".swiglu")
            let d = try linear(m, lw.down, n + ".down")
            x = try g.add(.binary(.add), [x, d], name: n + ".residual2")
        }
        let final = try g.add(rmsNorm, [x, outputNorm], name: "final_norm")
        let logits = try linear(final, head, "logits")
        g.markOutput(logits)
        _ = tiedHint
        try g.verify()
        return (g, tied)
    }
}
