// DecoderImporter: decoder-family transformers → IR, one graph builder driven by a table of
// architecture facts (`DecoderArchitecture`: llama, qwen2, gemma3). Every size comes from the
// checkpoint's metadata (GGUF keys here, Hugging Face config.json in HuggingFaceDecoder); the
// table holds only what a family fixes (norm placement and stored form, activation, biases,
// QK-norm, embedding scale, RoPE layout, sliding-window pattern, attention-scale key). Support is
// decided from metadata before any weight is read, and every checkpoint tensor is either bound to
// the graph or listed in the family's `ignoredTensors`; anything else fails the import by name,
// and a tensor in `refusedTensors` (a feature not implemented) fails it before any weight is read.
// A model whose config asks for bidirectional attention (EmbeddingGemma) becomes an encoder
// graph: no causal mask, a padding mask, no LM head, last_hidden_state then its
// sentence-transformers pipeline. It does not handle rope scaling (LLaMA-3 `rope_freqs.weight` is
// refused), soft-capping, partial rotary or mixture-of-experts. Tokenizers: GGUFTokenizer and
// HuggingFaceTokenizer.
//
// Graph (per layer l, x: f32[batch, seq, H]; bracketed parts only where the family has them):
//   x = gather(embd, ids) [· embeddingScale]
//   h = rms_norm(x);  q = h·Wqᵀ [+ bq], k = h·Wkᵀ [+ bk], v = h·Wvᵀ [+ bv]
//   [q, k = per-head rms_norm(q), rms_norm(k)]   (reshape to [batch, seq, heads, headDim] and back)
//   q, k = rope(q), rope(k)  (theta of the layer kind: global or sliding)
//   a = attention(q, k, v){causal, kv_cache[, window]}·Woᵀ  [a = rms_norm(a)  (post-attention)]
//       (bidirectional: attention(q, k, v, attention_mask){window ±(W/2)} on sliding layers)
//   x = x + a;  h = rms_norm(x);  f = (act(h·Wgateᵀ) ⊙ h·Wupᵀ)·Wdownᵀ  [f = rms_norm(f)  (post-ffn)]
//   x = x + f
//   logits = rms_norm(x)·Wheadᵀ   f32[batch, seq, vocab]   (Whead = token embeddings when tied)
//   bidirectional: last_hidden_state = rms_norm(x) f32[batch, seq, H]; embedding f32[batch, D]
//   from the sentence-transformers pipeline (pooling, Dense, Normalize) when the folder has one.
// rms_norm(x, w) multiplies by w, or by 1 + w where the format stores Gemma's w (`NormWeight`).

import IngotCore
import IngotCheckpoint
import IngotIR

/// What a decoder family fixes, independent of its size.
public struct DecoderArchitecture: Sendable {
    public enum FeedForwardActivation: String, Sendable { case silu, geluTanh = "gelu_tanh" }
    /// How a stored RMSNorm weight w becomes the multiplier g.
    public enum NormWeight: String, Sendable {
        /// g = w (LLaMA, Qwen2; also Gemma GGUFs, whose converter already stored 1 + w).
        case stored
        /// g = 1 + w (Gemma safetensors).
        case plusOne = "plus_one"
    }

    /// `general.architecture` and the metadata key prefix (`llama.`, `qwen2.`, `gemma3.`).
    public var name: String
    /// The family's name in messages ("not a LLaMA checkpoint …").
    public var displayName: String
    public var normWeight: NormWeight
    public var activation: FeedForwardActivation
    /// q, k and v projections carry biases (`attn_q.bias`, …).
    public var qkvBias: Bool
    /// Per-head RMSNorm of q and k before RoPE (`attn_q_norm`, `attn_k_norm`).
    public var qkNorm: Bool
    /// Token embeddings are multiplied by √hidden (in float32).
    public var scaleEmbeddingBySqrtHidden: Bool
    /// Extra norms on the attention and FFN outputs before the residual adds
    /// (`post_attention_norm`, `post_ffw_norm`).
    public var sandwichNorms: Bool
    /// RoPE pairs of the GGUF weights: (2i, 2i+1) for llama.cpp-permuted q/k, else (i, i + D/2).
    public var ggufRopeStyle: RopeStyle
    /// RoPE theta of the sliding-window layers, when it differs from the metadata's freq_base
    /// (which then applies to the global layers only). nil: one theta for all layers.
    public var slidingRopeTheta: Float?
    /// Every `slidingPattern`-th layer (1-based) is global, the others use the metadata's
    /// `attention.sliding_window`; 0: no sliding-window layers.
    public var slidingPattern: Int
    /// `model_type` values of a Hugging Face config.json of this family.
    public var huggingFaceModelTypes: [String]
    /// How the family's Hugging Face safetensors store RMSNorm weights (`normWeight` is the GGUF's).
    public var huggingFaceNormWeight: NormWeight
    /// config.json key whose value s makes the attention scale 1/√s (Gemma's
    /// `query_pre_attn_scalar`); nil: 1/√head_dim.
    public var attentionScaleKey: String?
    /// Tensor names (GGUF) the graph deliberately leaves unused, with the reason.
    public var ignoredTensors: [String: String]
    /// Tensor names (GGUF) whose presence means a feature Ingot does not implement, with the
    /// feature: the import is refused from the tensor list, naming it.
    public var refusedTensors: [String: String]

    public static let llama = DecoderArchitecture(
        name: "llama", displayName: "LLaMA", normWeight: .stored, activation: .silu, qkvBias: false, qkNorm: false,
        scaleEmbeddingBySqrtHidden: false, sandwichNorms: false, ggufRopeStyle: .interleaved,
        slidingRopeTheta: nil, slidingPattern: 0, huggingFaceModelTypes: ["llama"], huggingFaceNormWeight: .stored,
        attentionScaleKey: nil, ignoredTensors: [:], refusedTensors: ["rope_freqs.weight": "LLaMA-3 rope frequency scaling"])
    public static let qwen2 = DecoderArchitecture(
        name: "qwen2", displayName: "Qwen2", normWeight: .stored, activation: .silu, qkvBias: true, qkNorm: false,
        scaleEmbeddingBySqrtHidden: false, sandwichNorms: false, ggufRopeStyle: .halfRotation,
        slidingRopeTheta: nil, slidingPattern: 0, huggingFaceModelTypes: ["qwen2"], huggingFaceNormWeight: .stored,
        attentionScaleKey: nil, ignoredTensors: [:], refusedTensors: [:])
    public static let gemma3 = DecoderArchitecture(
        name: "gemma3", displayName: "Gemma 3", normWeight: .stored, activation: .geluTanh, qkvBias: false, qkNorm: true,
        scaleEmbeddingBySqrtHidden: true, sandwichNorms: true, ggufRopeStyle: .halfRotation,
        slidingRopeTheta: 10_000, slidingPattern: 6, huggingFaceModelTypes: ["gemma3_text"], huggingFaceNormWeight: .plusOne,
        attentionScaleKey: "query_pre_attn_scalar", ignoredTensors: [:], refusedTensors: [:])

    public static let all: [DecoderArchitecture] = [.llama, .qwen2, .gemma3]
    public static func named(_ name: String) -> DecoderArchitecture? { all.first { $0.name == name } }
    public static func huggingFace(modelType: String) -> DecoderArchitecture? {
        all.first { $0.huggingFaceModelTypes.contains(modelType) }
    }

    /// Facts for reports and `ingot inspect`.
    public var facts: [(String, String)] {
        [("gguf_norm_weight", normWeight.rawValue), ("activation", activation.rawValue), ("qkv_bias", "\(qkvBias)"),
         ("qk_norm", "\(qkNorm)"), ("embedding_scale", scaleEmbeddingBySqrtHidden ? "sqrt(hidden)" : "1"),
         ("sandwich_norms", "\(sandwichNorms)"), ("rope_style", ggufRopeStyle.name),
         ("sliding_pattern", slidingPattern == 0 ? "none" : "every \(slidingPattern)th layer global"),
         ("sliding_rope_theta", slidingRopeTheta.map { "\($0)" } ?? "same as global"),
         ("hf_norm_weight", huggingFaceNormWeight.rawValue), ("attention_scale_rule", attentionScaleKey.map { "1/sqrt(\($0))" } ?? "1/sqrt(head_dim)")]
    }
}

/// Sizes of one decoder, all read from the checkpoint's metadata.
struct DecoderHyperParameters {
    var hidden: Int
    var layers: Int
    var heads: Int
    var kvHeads: Int
    var headDim: Int
    var intermediate: Int
    var vocab: Int
    var contextLength: Int
    var ropeTheta: Float
    var rmsEps: Float
    /// Keys a sliding-window layer sees (0: none).
    var slidingWindow: Int
    /// Multiplies q·kᵀ; 0 means 1/√headDim.
    var attentionScale: Float = 0
    /// Per layer: a sliding-window layer. Empty: from the family's `slidingPattern`.
    var slidingLayers: [Bool] = []
    /// No causal mask (an encoder such as EmbeddingGemma): the graph takes an attention mask,
    /// has no LM head and outputs last_hidden_state.
    var bidirectional = false
    /// RoPE theta of the sliding layers when the metadata gives it; nil: the family's.
    var slidingRopeTheta: Float? = nil
    /// The head is the token embeddings (config `tie_word_embeddings`); nil: tied when the
    /// checkpoint has no output tensor (GGUF).
    var tiedHead: Bool? = nil

    func isSliding(_ layer: Int, _ arch: DecoderArchitecture) -> Bool {
        guard slidingWindow > 0 else { return false }
        if !slidingLayers.isEmpty { return slidingLayers[layer] }
        return arch.slidingPattern > 0 && (layer + 1) % arch.slidingPattern != 0
    }
}

struct DecoderTensorNames {
    var tokenEmbedding: String
    var outputNorm: String
    var output: String
    var attnNorm: (Int) -> String
    var q: (Int) -> String
    var k: (Int) -> String
    var v: (Int) -> String
    var qBias: (Int) -> String
    var kBias: (Int) -> String
    var vBias: (Int) -> String
    var qNorm: (Int) -> String
    var kNorm: (Int) -> String
    var o: (Int) -> String
    var postAttentionNorm: (Int) -> String
    var ffnNorm: (Int) -> String
    var gate: (Int) -> String
    var up: (Int) -> String
    var down: (Int) -> String
    var postFFNNorm: (Int) -> String

    static let gguf = DecoderTensorNames(
        tokenEmbedding: "token_embd.weight", outputNorm: "output_norm.weight", output: "output.weight",
        attnNorm: { "blk.\($0).attn_norm.weight" }, q: { "blk.\($0).attn_q.weight" }, k: { "blk.\($0).attn_k.weight" },
        v: { "blk.\($0).attn_v.weight" }, qBias: { "blk.\($0).attn_q.bias" }, kBias: { "blk.\($0).attn_k.bias" },
        vBias: { "blk.\($0).attn_v.bias" }, qNorm: { "blk.\($0).attn_q_norm.weight" }, kNorm: { "blk.\($0).attn_k_norm.weight" },
        o: { "blk.\($0).attn_output.weight" }, postAttentionNorm: { "blk.\($0).post_attention_norm.weight" },
        ffnNorm: { "blk.\($0).ffn_norm.weight" }, gate: { "blk.\($0).ffn_gate.weight" }, up: { "blk.\($0).ffn_up.weight" },
        down: { "blk.\($0).ffn_down.weight" }, postFFNNorm: { "blk.\($0).post_ffw_norm.weight" })

    /// Hugging Face names; with sandwich norms (Gemma) the FFN's input norm is
    /// `pre_feedforward_layernorm` and `post_attention_layernorm` is the attention output's norm.
    /// A base model saved on its own (EmbeddingGemma's Gemma3TextModel) has no `model.` prefix.
    static func huggingFace(sandwichNorms: Bool, prefixed: Bool) -> DecoderTensorNames {
        var n = huggingFaceLlama
        if sandwichNorms { n.ffnNorm = { "model.layers.\($0).pre_feedforward_layernorm.weight" } }
        guard !prefixed else { return n }
        func strip(_ s: String) -> String { s.hasPrefix("model.") ? String(s.dropFirst(6)) : s }
        func strip(_ f: @escaping (Int) -> String) -> (Int) -> String { { strip(f($0)) } }
        return DecoderTensorNames(
            tokenEmbedding: strip(n.tokenEmbedding), outputNorm: strip(n.outputNorm), output: n.output,
            attnNorm: strip(n.attnNorm), q: strip(n.q), k: strip(n.k), v: strip(n.v), qBias: strip(n.qBias), kBias: strip(n.kBias),
            vBias: strip(n.vBias), qNorm: strip(n.qNorm), kNorm: strip(n.kNorm), o: strip(n.o), postAttentionNorm: strip(n.postAttentionNorm),
            ffnNorm: strip(n.ffnNorm), gate: strip(n.gate), up: strip(n.up), down: strip(n.down), postFFNNorm: strip(n.postFFNNorm))
    }

    static let huggingFaceLlama = DecoderTensorNames(
        tokenEmbedding: "model.embed_tokens.weight", outputNorm: "model.norm.weight", output: "lm_head.weight",
        attnNorm: { "model.layers.\($0).input_layernorm.weight" }, q: { "model.layers.\($0).self_attn.q_proj.weight" },
        k: { "model.layers.\($0).self_attn.k_proj.weight" }, v: { "model.layers.\($0).self_attn.v_proj.weight" },
        qBias: { "model.layers.\($0).self_attn.q_proj.bias" }, kBias: { "model.layers.\($0).self_attn.k_proj.bias" },
        vBias: { "model.layers.\($0).self_attn.v_proj.bias" }, qNorm: { "model.layers.\($0).self_attn.q_norm.weight" },
        kNorm: { "model.layers.\($0).self_attn.k_norm.weight" },
        o: { "model.layers.\($0).self_attn.o_proj.weight" }, postAttentionNorm: { "model.layers.\($0).post_attention_layernorm.weight" },
        ffnNorm: { "model.layers.\($0).post_attention_layernorm.weight" },
        gate: { "model.layers.\($0).mlp.gate_proj.weight" }, up: { "model.layers.\($0).mlp.up_proj.weight" },
        down: { "model.layers.\($0).mlp.down_proj.weight" }, postFFNNorm: { "model.layers.\($0).post_feedforward_layernorm.weight" })
}

/// What `ingot inspect` says about a GGUF decoder: the family's facts, the sizes found, and
/// every field or tensor that keeps it from importing.
public struct DecoderSupport: Sendable {
    public var architecture: String
    public var facts: [(String, String)]
    public var problems: [String]
    public var supported: Bool { problems.isEmpty }
}

public enum DecoderImporter {
    /// Reads the family and sizes from metadata alone (no tensor data), collecting every problem.
    /// `invalid`: fields with impossible values (exit 65); `unsupported`: valid features Ingot
    /// does not implement (exit 69).
    static func hyperParameters(_ file: GGUFFile) -> (DecoderArchitecture?, DecoderHyperParameters, invalid: [String], unsupported: [String]) {
        var problems: [String] = []
        var unsupported: [String] = []
        let archName = file["general.architecture"]?.string ?? ""
        let known = DecoderArchitecture.all.map { "\"\($0.name)\"" }.joined(separator: ", ")
        guard let arch = DecoderArchitecture.named(archName) else {
            unsupported.append("general.architecture: value \"\(archName)\", expected one of \(known)")
            return (nil, DecoderHyperParameters(hidden: 0, layers: 0, heads: 0, kvHeads: 0, headDim: 0, intermediate: 0, vocab: 0,
                                                contextLength: 0, ropeTheta: 0, rmsEps: 0, slidingWindow: 0), problems, unsupported)
        }
        let p = arch.name + "."
        func int(_ key: String, range: ClosedRange<Int> = 1...(1 << 30)) -> Int {
            guard let v = file[key]?.int else { problems.append("\(key): missing, expected an integer in \(range)"); return range.lowerBound }
            guard range.contains(v) else { problems.append("\(key): value \(v), expected an integer in \(range)"); return range.lowerBound }
            return v
        }
        var hp = DecoderHyperParameters(
            hidden: int(p + "embedding_length"), layers: int(p + "block_count", range: 1...1024),
            heads: int(p + "attention.head_count"), kvHeads: 1, headDim: 1, intermediate: int(p + "feed_forward_length"),
            vocab: 1, contextLength: int(p + "context_length"),
            ropeTheta: Float(file[p + "rope.freq_base"]?.float ?? 10000),
            rmsEps: Float(file[p + "attention.layer_norm_rms_epsilon"]?.float ?? 1e-5), slidingWindow: 0)
        hp.kvHeads = file[p + "attention.head_count_kv"] == nil ? hp.heads : int(p + "attention.head_count_kv", range: 1...max(hp.heads, 1))
        hp.headDim = file[p + "attention.key_length"] == nil ? hp.hidden / max(hp.heads, 1) : int(p + "attention.key_length")
        if let valueLength = file[p + "attention.value_length"]?.int, valueLength != hp.headDim {
            problems.append("\(p)attention.value_length: value \(valueLength), expected the key length \(hp.headDim)")
        }
        if file[p + "attention.key_length"] == nil, hp.hidden % max(hp.heads, 1) != 0 {
            problems.append("\(p)embedding_length: value \(hp.hidden), expected a multiple of \(p)attention.head_count \(hp.heads)")
        }
        if hp.headDim % 2 != 0 { problems.append("head dimension \(hp.headDim): expected an even number (RoPE pairs)") }
        if hp.heads % max(hp.kvHeads, 1) != 0 {
            problems.append("\(p)attention.head_count \(hp.heads): expected a multiple of \(p)attention.head_count_kv \(hp.kvHeads)")
        }
        if !(hp.rmsEps > 0 && hp.rmsEps < 1) {
            problems.append("\(p)attention.layer_norm_rms_epsilon: value \(hp.rmsEps), expected a number in (0, 1)")
        }
        if !(hp.ropeTheta > 1) { problems.append("\(p)rope.freq_base: value \(hp.ropeTheta), expected a number > 1") }
        // The embedding table's rows when vocab_size is absent: a vocabulary may be shorter
        // than the table (padding rows), never longer.
        hp.vocab = file[p + "vocab_size"]?.int ?? file.tensor(named: DecoderTensorNames.gguf.tokenEmbedding)?.shape.first
            ?? file["tokenizer.ggml.tokens"]?.stringArray?.count ?? 0
        if hp.vocab <= 0 { problems.append("\(p)vocab_size: missing, and no token_embd.weight or tokenizer.ggml.tokens to count") }
        if let scaling = file[p + "rope.scaling.type"]?.string, scaling != "none" {
            unsupported.append("\(p)rope.scaling.type: value \"\(scaling)\", expected \"none\" (rope scaling is not supported)")
        }
        if let dims = file[p + "rope.dimension_count"]?.int, dims != hp.headDim {
            unsupported.append("\(p)rope.dimension_count: value \(dims), expected head dimension \(hp.headDim) (partial rotary is not supported)")
        }
        for key in [p + "attn_logit_softcapping", p + "final_logit_softcapping"] where file[key] != nil {
            unsupported.append("\(key): present, expected absent (logit soft-capping is not supported)")
        }
        if let experts = file[p + "expert_count"]?.int, experts > 0 {
            unsupported.append("\(p)expert_count: value \(experts), expected absent (mixture-of-experts is not supported)")
        }
        if arch.slidingPattern > 0 {
            hp.slidingWindow = int(p + "attention.sliding_window")
        } else if let window = file[p + "attention.sliding_window"]?.int, window > 0, window < hp.contextLength {
            unsupported.append("\(p)attention.sliding_window: value \(window), expected absent (\(arch.name) has no sliding-window layers in Ingot)")
        }
        for (name, feature) in arch.refusedTensors.sorted(by: { $0.key < $1.key }) where file.tensor(named: name) != nil {
            unsupported.append("tensor \(name): present, expected absent (\(feature) is not supported)")
        }
        return (arch, hp, problems, unsupported)
    }

    /// Architecture facts and problems of a GGUF decoder, from metadata only (for `ingot inspect`).
    public static func support(_ file: GGUFFile) -> DecoderSupport {
        let (arch, hp, invalid, unsupported) = hyperParameters(file)
        let problems = unsupported + invalid
        var facts = arch?.facts ?? []
        if arch != nil {
            facts += describe(hp)
            let model = file["tokenizer.ggml.model"]?.string ?? "none"
            let tokenizer: String
            switch model {
            case "gpt2": tokenizer = "byte-level BPE (supported)"
            case "llama": tokenizer = "SentencePiece (supported)"
            case "none": tokenizer = "none (the artifact gets no tokenizer)"
            default: tokenizer = "\(model) (not supported: expected one of \(GGUFTokenizer.supportedModels.joined(separator: ", ")))"
            }
            facts.append(("tokenizer", tokenizer))
        }
        return DecoderSupport(architecture: file["general.architecture"]?.string ?? "", facts: facts, problems: problems)
    }

    public static func importGGUF(_ file: GGUFFile) throws -> ImportedModel {
        let (found, hp, invalid, unsupported) = hyperParameters(file)
        guard let arch = found else {
            throw IngotError(.unsupported, file: file.path, unsupported.joined(separator: "; "))
        }
        guard unsupported.isEmpty else { throw IngotError(.unsupported, file: file.path, (unsupported + invalid).joined(separator: "; ")) }
        guard invalid.isEmpty else { throw IngotError(.format, file: file.path, invalid.joined(separator: "; ")) }

        let model = try buildGraph(arch, hp, tensors: GGUFTensors(file), names: .gguf, ropeStyle: arch.ggufRopeStyle,
                                   normWeight: arch.normWeight, pipeline: nil, path: file.path)
        let tokenizer = try GGUFTokenizer.spec(file, contextLength: hp.contextLength)
        if let tokenizer {
            try checkVocabularyFits(tokenizer.tokens.count, field: "tokenizer.ggml.tokens", file: file.path,
                                    table: DecoderTensorNames.gguf.tokenEmbedding, rows: hp.vocab, hidden: hp.hidden)
        }
        return ImportedModel(architecture: arch.name, graph: model.graph, tokenizer: tokenizer,
                             hyperParameters: describe(hp) + [("tied_embeddings", "\(model.tied)"), ("rope_style", arch.ggufRopeStyle.name)],
                             sourceFiles: [file.path])
    }

    static func describe(_ hp: DecoderHyperParameters) -> [(String, String)] {
        [("hidden_size", "\(hp.hidden)"), ("num_hidden_layers", "\(hp.layers)"), ("num_attention_heads", "\(hp.heads)"),
         ("num_key_value_heads", "\(hp.kvHeads)"), ("head_dim", "\(hp.headDim)"), ("intermediate_size", "\(hp.intermediate)"),
         ("vocab_size", "\(hp.vocab)"), ("context_length", "\(hp.contextLength)"), ("rope_theta", "\(hp.ropeTheta)"),
         ("rms_norm_eps", "\(hp.rmsEps)")] + (hp.slidingWindow > 0 ? [("sliding_window", "\(hp.slidingWindow)")] : [])
            + (hp.attentionScale > 0 ? [("attention_scale", "\(hp.attentionScale)")] : [])
            + (hp.bidirectional ? [("attention", "bidirectional")] : [])
    }

    static func buildGraph(_ arch: DecoderArchitecture, _ hp: DecoderHyperParameters, tensors: CheckpointTensors,
                           names: DecoderTensorNames, ropeStyle: RopeStyle, normWeight: DecoderArchitecture.NormWeight,
                           pipeline: SentenceTransformersPipeline?, path: String) throws -> (graph: Graph, tied: Bool) {
        guard hp.heads > 0, hp.kvHeads > 0, hp.heads % hp.kvHeads == 0, hp.headDim > 0, hp.headDim % 2 == 0 else {
            throw IngotError(.format, file: path,
                             "heads \(hp.heads), kv heads \(hp.kvHeads), head dimension \(hp.headDim): expected heads a multiple of kv heads and an even head dimension")
        }
        guard hp.slidingLayers.isEmpty || hp.slidingLayers.count == hp.layers else {
            throw IngotError(.format, file: path, location: "layer types",
                             "\(hp.slidingLayers.count) entries, expected one per layer (\(hp.layers))")
        }
        let qDim = hp.heads * hp.headDim, kvDim = hp.kvHeads * hp.headDim
        var g = Graph(name: arch.name)
        var w = WeightBinder(tensors, architecture: arch.displayName)

        let ids = g.addInput("input_ids", TensorType(.i32, ["batch", "seq"]))
        // An encoder takes the inputs every encoder artifact takes (Encoder, calibration);
        // Gemma has no token types, so token_type_ids is accepted and not read.
        let mask = hp.bidirectional ? g.addInput("attention_mask", TensorType(.i32, ["batch", "seq"])) : nil
        if hp.bidirectional { _ = g.addInput("token_type_ids", TensorType(.i32, ["batch", "seq"])) }
        let positions = g.addInput("position_ids", TensorType(.i32, ["batch", "seq"]))
        let embedding = w.weight(&g, names.tokenEmbedding, [hp.vocab, hp.hidden])
        /// A norm weight; where the format stores Gemma's w the constant becomes 1 + w (float32).
        func norm(_ name: String, _ shape: [Int]) -> ValueID {
            let before = g.constants.count
            let id = w.weight(&g, name, shape)
            // Only a constant bound just now: one bound before already holds 1 + w.
            if normWeight == .plusOne, g.constants.count > before, let i = g.constants.lastIndex(where: { $0.value == id }),
               let base = g.constants[i].source {
                g.constants[i].source = ConstantSource(origin: base.origin + " + 1", loader: {
                    TensorBuffer(array: try base.load().toArray(of: Float.self).map { 1 + $0 })
                }, release: { base.release() })
            }
            return id
        }

        struct Layer {
            var attnNorm, q, k, v, o, ffnNorm, gate, up, down: ValueID
            var qBias, kBias, vBias, qNorm, kNorm, postAttentionNorm, postFFNNorm: ValueID?
        }
        var layers: [Layer] = []
        for l in 0..<hp.layers {
            var layer = Layer(
                attnNorm: norm(names.attnNorm(l), [hp.hidden]),
                q: w.weight(&g, names.q(l), [qDim, hp.hidden]),
                k: w.weight(&g, names.k(l), [kvDim, hp.hidden]),
                v: w.weight(&g, names.v(l), [kvDim, hp.hidden]),
                o: w.weight(&g, names.o(l), [hp.hidden, qDim]),
                ffnNorm: norm(names.ffnNorm(l), [hp.hidden]),
                gate: w.weight(&g, names.gate(l), [hp.intermediate, hp.hidden]),
                up: w.weight(&g, names.up(l), [hp.intermediate, hp.hidden]),
                down: w.weight(&g, names.down(l), [hp.hidden, hp.intermediate]))
            if arch.qkvBias {
                layer.qBias = w.weight(&g, names.qBias(l), [qDim])
                layer.kBias = w.weight(&g, names.kBias(l), [kvDim])
                layer.vBias = w.weight(&g, names.vBias(l), [kvDim])
            }
            if arch.qkNorm {
                layer.qNorm = norm(names.qNorm(l), [hp.headDim])
                layer.kNorm = norm(names.kNorm(l), [hp.headDim])
            }
            if arch.sandwichNorms {
                layer.postAttentionNorm = norm(names.postAttentionNorm(l), [hp.hidden])
                layer.postFFNNorm = norm(names.postFFNNorm(l), [hp.hidden])
            }
            layers.append(layer)
        }
        let outputNorm = norm(names.outputNorm, [hp.hidden])
        // An encoder has no head: an lm_head tensor is then reported as unused.
        let tied = hp.tiedHead ?? !w.has(names.output)
        let head = hp.bidirectional ? nil : tied ? embedding : w.weight(&g, names.output, [hp.vocab, hp.hidden])
        // A tied checkpoint may still store the head's copy of the embeddings (transformers
        // ties them on load); it is left unused, as tying does.
        let tiedCopy: Set<String> = tied && !hp.bidirectional && hp.tiedHead == true && w.has(names.output) ? [names.output] : []
        w.requireAllUsed(except: Set(arch.ignoredTensors.keys).union(tiedCopy))
        try w.finish()

        let rmsNorm = Op.rmsNorm(epsilon: hp.rmsEps)
        func linear(_ x: ValueID, _ weight: ValueID, _ bias: ValueID?, _ name: String) throws -> ValueID {
            let y = try g.add(.matmul(transposeB: true), [x, weight], name: name)
            guard let bias else { return y }
            return try g.add(.binary(.add), [y, bias], name: name + "_bias")
        }
        func headNorm(_ x: ValueID, _ weight: ValueID, heads: Int, _ name: String) throws -> ValueID {
            let split = try g.add(.reshape(Shape(["batch", "seq", .fixed(heads), .fixed(hp.headDim)])), [x], name: name + "_heads")
            let normed = try g.add(rmsNorm, [split, weight], name: name)
            return try g.add(.reshape(Shape(["batch", "seq", .fixed(heads * hp.headDim)])), [normed], name: name + "_merged")
        }

        var x = try g.add(.gather, [embedding, ids], name: "embeddings")
        if arch.scaleEmbeddingBySqrtHidden {
            let scale = g.addConstant("embedding_scale", TensorType(.f32, Shape(fixed: [1])),
                                      source: ConstantSource(origin: "sqrt(hidden size \(hp.hidden))",
                                                             buffer: TensorBuffer(array: [Float(hp.hidden).squareRoot()])))
            x = try g.add(.binary(.mul), [x, scale], name: "embeddings_scaled")
        }
        for (l, lw) in layers.enumerated() {
            let n = "layer\(l)"
            let sliding = hp.isSliding(l, arch)
            let theta = sliding ? (hp.slidingRopeTheta ?? arch.slidingRopeTheta ?? hp.ropeTheta) : hp.ropeTheta
            let scale = hp.attentionScale > 0 ? hp.attentionScale : 1 / Float(hp.headDim).squareRoot()
            // Bidirectional sliding layers see ±(W/2) positions: transformers makes the window
            // W/2 + 1 with exclusive bounds, |p − j| < W/2 + 1, which is the op's non-causal window.
            let window = sliding ? (hp.bidirectional ? hp.slidingWindow / 2 + 1 : hp.slidingWindow) : 0
            let attention = Op.attention(AttentionAttributes(heads: hp.heads, kvHeads: hp.kvHeads, headDim: hp.headDim,
                                                             causal: !hp.bidirectional, scale: scale, kvCache: !hp.bidirectional,
                                                             window: window))
            let h = try g.add(rmsNorm, [x, lw.attnNorm], name: n + ".attn_norm")
            var q = try linear(h, lw.q, lw.qBias, n + ".q")
            var k = try linear(h, lw.k, lw.kBias, n + ".k")
            let v = try linear(h, lw.v, lw.vBias, n + ".v")
            if let qNorm = lw.qNorm, let kNorm = lw.kNorm {
                q = try headNorm(q, qNorm, heads: hp.heads, n + ".q_norm")
                k = try headNorm(k, kNorm, heads: hp.kvHeads, n + ".k_norm")
            }
            q = try g.add(.rope(theta: theta, heads: hp.heads, headDim: hp.headDim, style: ropeStyle), [q, positions], name: n + ".q_rope")
            k = try g.add(.rope(theta: theta, heads: hp.kvHeads, headDim: hp.headDim, style: ropeStyle), [k, positions], name: n + ".k_rope")
            let a = try g.add(attention, [q, k, v] + (mask.map { [$0] } ?? []), name: n + ".attention")
            var o = try linear(a, lw.o, nil, n + ".attention_out")
            if let post = lw.postAttentionNorm { o = try g.add(rmsNorm, [o, post], name: n + ".post_attention_norm") }
            x = try g.add(.binary(.add), [x, o], name: n + ".residual1")
            let h2 = try g.add(rmsNorm, [x, lw.ffnNorm], name: n + ".ffn_norm")
            let gateLinear = try linear(h2, lw.gate, nil, n + ".gate")
            let gate: ValueID
            switch arch.activation {
            case .silu: gate = try g.add(.silu, [gateLinear], name: n + ".gate_silu")
            case .geluTanh: gate = try g.add(.gelu(.tanh), [gateLinear], name: n + ".gate_gelu")
            }
            let up = try linear(h2, lw.up, nil, n + ".up")
            let m = try g.add(.binary(.mul), [gate, up], name: n + ".gated")
            var d = try linear(m, lw.down, nil, n + ".down")
            if let post = lw.postFFNNorm { d = try g.add(rmsNorm, [d, post], name: n + ".post_ffn_norm") }
            x = try g.add(.binary(.add), [x, d], name: n + ".residual2")
        }
        let final = try g.add(rmsNorm, [x, outputNorm], name: hp.bidirectional ? "last_hidden_state" : "final_norm")
        if let head {
            g.markOutput(try linear(final, head, nil, "logits"))
        } else {
            g.markOutput(final)
            if let mask, let embedding = try pipeline?.append(to: &g, tokens: final, mask: mask) { g.markOutput(embedding) }
        }
        try g.verify()
        return (g, tied)
    }
}
