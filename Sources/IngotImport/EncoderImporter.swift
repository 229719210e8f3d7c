// EncoderImporter: bidirectional Transformer encoders → IR, one graph builder driven by a table of
// architecture facts (`EncoderArchitecture`: BERT, RoBERTa / XLM-R, DistilBERT, MPNet from
// Hugging Face folders; nomic-bert from GGUF). Every size comes from config.json or GGUF
// metadata; the table holds only what a family fixes (tensor names, position kind, token types,
// relative attention bias, fused q/k/v, feed-forward kind, biases). Sentence-transformers
// pipelines (pooling, Dense, Normalize) come from SentenceTransformersPipeline; a GGUF says its
// pooling in `pooling_type`. Checkpoint tensors are all bound or in the family's ignored list
// (pooler, position_ids buffer); any other (a classifier head) fails the import by name. It does
// not handle cross-attention, decoders, pre-LN encoders or tokenizers other than WordPiece.
//
// Graph (per layer l, x: f32[batch, seq, H]; bracketed parts only where the family has them):
//   x = layer_norm(word[ids] [+ position[pos + offset]] [+ type[tt]])
//   q, k, v = x·Wqᵀ [+ bq], …  (a fused [3H, H] matrix is split into three constants at import)
//   [q, k = rope(q, pos), rope(k, pos)]
//   a = attention(q, k, v, mask [, relative_table[buckets, heads]])   heads, head_dim = H / heads
//   x = layer_norm(a·Woᵀ [+ bo] + x)
//   f = gelu(x·Wiᵀ [+ bi])·Wo2ᵀ [+ bo2]   or   (silu(x·Wgᵀ) ⊙ x·Wuᵀ)·Wdᵀ
//   x = layer_norm(f + x)
//   outputs: last_hidden_state f32[batch, seq, H], embedding f32[batch, D] (when pooled)
// Positions: the runtime passes 0…S−1 with right padding; a family whose table starts past the
// padding row (RoBERTa, MPNet: row padding_idx + 1 + i for the i-th real token) gets the table
// from that row on, which equals the running count of non-pad tokens for every real token
// (padded rows differ, and are masked out of attention keys and pooling).
//
// With AttentionForm.decomposed the attention line is written out as an exported ONNX / HF
// graph has it (per-head reshapes and transposes, batched matmuls, scale, additive mask,
// softmax), with the mask bias computed once for all layers; fuse-attention folds it back.

import IngotCore
import IngotCheckpoint
import IngotIR

/// How an importer writes self-attention.
public enum AttentionForm: Sendable, Hashable {
    /// One `attention` node per layer.
    case fused
    /// Per layer, with q, k, v [B, S, H·D] and bias [B, 1, 1, S] = (1 − f32(mask))·(−3.4028235e38):
    /// reshape [B, S, H, D] → transpose (0, 2, 1, 3) → scores = q·kᵀ [B, H, S, S] → ·(1/√D)
    /// → + bias → softmax(−1) → ·v [B, H, S, D] → transpose (0, 2, 1, 3) → reshape [B, S, H·D].
    /// Not for a relative attention bias.
    case decomposed
}

/// What an encoder family fixes, independent of its size.
public struct EncoderArchitecture: Sendable {
    public enum Positions: String, Sendable {
        /// A learned table read at the plain position (BERT, DistilBERT).
        case learned
        /// A learned table read at padding_idx + 1 + position (RoBERTa, XLM-R, MPNet).
        case learnedAfterPadding = "learned_after_padding"
        /// Rotary embedding of q and k (NeoX half rotation), no table (nomic-bert).
        case rotary
    }
    public enum FeedForward: String, Sendable {
        /// up → GELU → down, with biases.
        case gelu
        /// silu(gate) ⊙ up → down, without biases.
        case swiglu
    }

    /// `model_type` (Hugging Face) or `general.architecture` (GGUF); the artifact's architecture.
    public var name: String
    public var displayName: String
    public var positions: Positions
    /// A token-type table is added (BERT, RoBERTa's single row, nomic-bert's row 0).
    public var tokenTypes: Bool
    /// One relative position bias table [buckets, heads] shared by every layer (MPNet).
    public var relativeBias: Bool
    /// Distance at which the logarithmic buckets reach the last one (transformers fixes 128 for MPNet).
    public var relativeMaxDistance: Int = 0
    /// q, k, v in one [3H, H] matrix (rows q, then k, then v).
    public var fusedQKV: Bool
    /// Attention projections carry biases.
    public var attentionBiases: Bool
    public var feedForward: FeedForward
    /// Tensor names, given the checkpoint's prefix ("bert.", "roberta.", … or "").
    var names: @Sendable (String) -> EncoderTensorNames
    /// Prefixes a Hugging Face checkpoint may put before every name (the bare model has none).
    public var prefixes: [String]
    /// Names (after the prefix) the graph deliberately leaves unused.
    public var ignoredTensors: [String]

    public static let bert = EncoderArchitecture(
        name: "bert", displayName: "BERT", positions: .learned, tokenTypes: true, relativeBias: false, fusedQKV: false,
        attentionBiases: true, feedForward: .gelu, names: { EncoderTensorNames.bert($0) }, prefixes: ["bert.", ""],
        ignoredTensors: ["pooler.dense.weight", "pooler.dense.bias", "embeddings.position_ids"])
    public static let roberta = EncoderArchitecture(
        name: "roberta", displayName: "RoBERTa", positions: .learnedAfterPadding, tokenTypes: true, relativeBias: false,
        fusedQKV: false, attentionBiases: true, feedForward: .gelu, names: { EncoderTensorNames.bert($0) }, prefixes: ["roberta.", ""],
        ignoredTensors: ["pooler.dense.weight", "pooler.dense.bias", "embeddings.position_ids", "embeddings.token_type_ids"])
    public static let xlmRoberta: EncoderArchitecture = {
        var a = roberta
        a.name = "xlm-roberta"
        a.displayName = "XLM-RoBERTa"
        return a
    }()
    public static let distilbert = EncoderArchitecture(
        name: "distilbert", displayName: "DistilBERT", positions: .learned, tokenTypes: false, relativeBias: false,
        fusedQKV: false, attentionBiases: true, feedForward: .gelu, names: { EncoderTensorNames.distilbert($0) },
        prefixes: ["distilbert.", ""], ignoredTensors: ["embeddings.position_ids"])
    public static let mpnet = EncoderArchitecture(
        name: "mpnet", displayName: "MPNet", positions: .learnedAfterPadding, tokenTypes: false, relativeBias: true,
        relativeMaxDistance: 128, fusedQKV: false, attentionBiases: true, feedForward: .gelu, names: { EncoderTensorNames.mpnet($0) }, prefixes: ["mpnet.", ""],
        ignoredTensors: ["pooler.dense.weight", "pooler.dense.bias", "embeddings.position_ids"])
    public static let nomicBert = EncoderArchitecture(
        name: "nomic-bert", displayName: "nomic-bert", positions: .rotary, tokenTypes: true, relativeBias: false,
        fusedQKV: true, attentionBiases: false, feedForward: .swiglu, names: { _ in EncoderTensorNames.gguf }, prefixes: [""],
        ignoredTensors: [])

    public static let huggingFace: [EncoderArchitecture] = [.bert, .roberta, .xlmRoberta, .distilbert, .mpnet]
    public static let gguf: [EncoderArchitecture] = [.nomicBert]
    public static func named(_ name: String) -> EncoderArchitecture? { (huggingFace + gguf).first { $0.name == name } }

    /// Facts for reports and `ingot inspect`.
    public var facts: [(String, String)] {
        [("positions", positions.rawValue), ("token_types", "\(tokenTypes)"), ("relative_attention_bias", "\(relativeBias)"),
         ("fused_qkv", "\(fusedQKV)"), ("attention_biases", "\(attentionBiases)"), ("feed_forward", feedForward.rawValue)]
    }
}

/// Sizes of one encoder, from config.json or GGUF metadata.
public struct EncoderHyperParameters: Sendable {
    public var hidden: Int
    public var layers: Int
    public var heads: Int
    public var intermediate: Int
    public var vocab: Int
    /// Rows of the position table (0: none).
    public var maxPositions: Int
    /// Rows of the token-type table (0: none).
    public var typeVocab: Int
    public var normEps: Float
    public var gelu: GELUApproximation
    /// The activation's name as the checkpoint gives it ("gelu", "gelu_new", …), for metadata.
    public var activationName: String = "gelu"
    /// First position-table row a sequence uses (padding_idx + 1 for RoBERTa-style tables).
    public var positionOffset: Int
    public var relativeBuckets: Int
    public var relativeMaxDistance: Int
    public var ropeTheta: Float
    /// Longest sequence the positions allow.
    public var contextLength: Int

    public var headDim: Int { hidden / max(heads, 1) }

    public init(hidden: Int, layers: Int, heads: Int, intermediate: Int, vocab: Int, maxPositions: Int, typeVocab: Int,
                normEps: Float, gelu: GELUApproximation, positionOffset: Int = 0, relativeBuckets: Int = 0,
                relativeMaxDistance: Int = 0, ropeTheta: Float = 0, contextLength: Int) {
        self.hidden = hidden
        self.layers = layers
        self.heads = heads
        self.intermediate = intermediate
        self.vocab = vocab
        self.maxPositions = maxPositions
        self.typeVocab = typeVocab
        self.normEps = normEps
        self.gelu = gelu
        self.positionOffset = positionOffset
        self.relativeBuckets = relativeBuckets
        self.relativeMaxDistance = relativeMaxDistance
        self.ropeTheta = ropeTheta
        self.contextLength = contextLength
    }

    var described: [(String, String)] {
        [("hidden_size", "\(hidden)"), ("num_hidden_layers", "\(layers)"), ("num_attention_heads", "\(heads)"),
         ("intermediate_size", "\(intermediate)"), ("vocab_size", "\(vocab)")]
            + (maxPositions > 0 ? [("max_position_embeddings", "\(maxPositions)")] : [])
            + (positionOffset > 0 ? [("position_offset", "\(positionOffset)")] : [])
            + (relativeBuckets > 0 ? [("relative_attention_num_buckets", "\(relativeBuckets)")] : [])
            + (ropeTheta > 0 ? [("rope_theta", "\(ropeTheta)")] : [])
            + [("layer_norm_eps", "\(normEps)")]
    }
}

struct EncoderTensorNames {
    var word: String
    var position: String
    var tokenType: String
    var embeddingNorm: (weight: String, bias: String)
    var relativeBias: String
    var q, k, v, qkv, o: (Int) -> String
    var attentionNorm: (Int) -> (weight: String, bias: String)
    var up, gate, down: (Int) -> String
    var ffnNorm: (Int) -> (weight: String, bias: String)
    /// The bias of a projection weight named `weight`.
    var bias: (String) -> String

    static func bert(_ p: String) -> EncoderTensorNames {
        func l(_ i: Int, _ rest: String) -> String { "\(p)encoder.layer.\(i).\(rest)" }
        return EncoderTensorNames(
            word: p + "embeddings.word_embeddings.weight", position: p + "embeddings.position_embeddings.weight",
            tokenType: p + "embeddings.token_type_embeddings.weight",
            embeddingNorm: (p + "embeddings.LayerNorm.weight", p + "embeddings.LayerNorm.bias"), relativeBias: "",
            q: { l($0, "attention.self.query.weight") }, k: { l($0, "attention.self.key.weight") },
            v: { l($0, "attention.self.value.weight") }, qkv: { _ in "" }, o: { l($0, "attention.output.dense.weight") },
            attentionNorm: { (l($0, "attention.output.LayerNorm.weight"), l($0, "attention.output.LayerNorm.bias")) },
            up: { l($0, "intermediate.dense.weight") }, gate: { _ in "" }, down: { l($0, "output.dense.weight") },
            ffnNorm: { (l($0, "output.LayerNorm.weight"), l($0, "output.LayerNorm.bias")) }, bias: weightToBias)
    }

    static func mpnet(_ p: String) -> EncoderTensorNames {
        func l(_ i: Int, _ rest: String) -> String { "\(p)encoder.layer.\(i).\(rest)" }
        return EncoderTensorNames(
            word: p + "embeddings.word_embeddings.weight", position: p + "embeddings.position_embeddings.weight", tokenType: "",
            embeddingNorm: (p + "embeddings.LayerNorm.weight", p + "embeddings.LayerNorm.bias"),
            relativeBias: p + "encoder.relative_attention_bias.weight",
            q: { l($0, "attention.attn.q.weight") }, k: { l($0, "attention.attn.k.weight") },
            v: { l($0, "attention.attn.v.weight") }, qkv: { _ in "" }, o: { l($0, "attention.attn.o.weight") },
            attentionNorm: { (l($0, "attention.LayerNorm.weight"), l($0, "attention.LayerNorm.bias")) },
            up: { l($0, "intermediate.dense.weight") }, gate: { _ in "" }, down: { l($0, "output.dense.weight") },
            ffnNorm: { (l($0, "output.LayerNorm.weight"), l($0, "output.LayerNorm.bias")) }, bias: weightToBias)
    }

    static func distilbert(_ p: String) -> EncoderTensorNames {
        func l(_ i: Int, _ rest: String) -> String { "\(p)transformer.layer.\(i).\(rest)" }
        return EncoderTensorNames(
            word: p + "embeddings.word_embeddings.weight", position: p + "embeddings.position_embeddings.weight", tokenType: "",
            embeddingNorm: (p + "embeddings.LayerNorm.weight", p + "embeddings.LayerNorm.bias"), relativeBias: "",
            q: { l($0, "attention.q_lin.weight") }, k: { l($0, "attention.k_lin.weight") },
            v: { l($0, "attention.v_lin.weight") }, qkv: { _ in "" }, o: { l($0, "attention.out_lin.weight") },
            attentionNorm: { (l($0, "sa_layer_norm.weight"), l($0, "sa_layer_norm.bias")) },
            up: { l($0, "ffn.lin1.weight") }, gate: { _ in "" }, down: { l($0, "ffn.lin2.weight") },
            ffnNorm: { (l($0, "output_layer_norm.weight"), l($0, "output_layer_norm.bias")) }, bias: weightToBias)
    }

    /// llama.cpp's names for BERT-like encoders (nomic-bert).
    static let gguf = EncoderTensorNames(
        word: "token_embd.weight", position: "position_embd.weight", tokenType: "token_types.weight",
        embeddingNorm: ("token_embd_norm.weight", "token_embd_norm.bias"), relativeBias: "",
        q: { "blk.\($0).attn_q.weight" }, k: { "blk.\($0).attn_k.weight" }, v: { "blk.\($0).attn_v.weight" },
        qkv: { "blk.\($0).attn_qkv.weight" }, o: { "blk.\($0).attn_output.weight" },
        attentionNorm: { ("blk.\($0).attn_output_norm.weight", "blk.\($0).attn_output_norm.bias") },
        up: { "blk.\($0).ffn_up.weight" }, gate: { "blk.\($0).ffn_gate.weight" }, down: { "blk.\($0).ffn_down.weight" },
        ffnNorm: { ("blk.\($0).layer_output_norm.weight", "blk.\($0).layer_output_norm.bias") }, bias: weightToBias)

    static func weightToBias(_ weight: String) -> String {
        weight.hasSuffix(".weight") ? String(weight.dropLast(".weight".count)) + ".bias" : weight + ".bias"
    }
}

/// The graph constants an encoder reads (bound from a checkpoint, or made by another importer).
public struct EncoderWeights {
    public struct Norm {
        public var weight: ValueID
        public var bias: ValueID
        public init(weight: ValueID, bias: ValueID) {
            self.weight = weight
            self.bias = bias
        }
    }
    public struct Layer {
        /// [H, H] each (a fused matrix already split); biases [H] when the family has them.
        public var q, k, v, o: ValueID
        public var qBias, kBias, vBias, oBias: ValueID?
        public var attentionNorm: Norm
        /// GELU: up [I, H] (+ upBias), down [H, I] (+ downBias). SwiGLU: gate and up [I, H], down [H, I].
        public var up, down: ValueID
        public var gate, upBias, downBias: ValueID?
        public var ffnNorm: Norm
        public init(q: ValueID, k: ValueID, v: ValueID, o: ValueID, qBias: ValueID? = nil, kBias: ValueID? = nil,
                    vBias: ValueID? = nil, oBias: ValueID? = nil, attentionNorm: Norm, up: ValueID, down: ValueID,
                    gate: ValueID? = nil, upBias: ValueID? = nil, downBias: ValueID? = nil, ffnNorm: Norm) {
            (self.q, self.k, self.v, self.o) = (q, k, v, o)
            (self.qBias, self.kBias, self.vBias, self.oBias) = (qBias, kBias, vBias, oBias)
            self.attentionNorm = attentionNorm
            (self.up, self.down, self.gate, self.upBias, self.downBias) = (up, down, gate, upBias, downBias)
            self.ffnNorm = ffnNorm
        }
    }
    /// [vocab, H]
    public var word: ValueID
    /// [maxPositions − positionOffset, H]: row p is position p (already past the offset).
    public var position: ValueID?
    /// [typeVocab, H]
    public var tokenType: ValueID?
    public var embeddingNorm: Norm
    /// [buckets, heads]
    public var relativeBias: ValueID?
    public var layers: [Layer]

    public init(word: ValueID, position: ValueID?, tokenType: ValueID?, embeddingNorm: Norm, relativeBias: ValueID?, layers: [Layer]) {
        self.word = word
        self.position = position
        self.tokenType = tokenType
        self.embeddingNorm = embeddingNorm
        self.relativeBias = relativeBias
        self.layers = layers
    }
}

/// The graph inputs an encoder reads, each i32[batch, seq].
public struct EncoderInputs {
    public var ids, mask, tokenTypes, positions: ValueID

    /// Adds input_ids, attention_mask, token_type_ids, position_ids (the order Encoder expects).
    public static func add(to g: inout Graph) -> EncoderInputs {
        EncoderInputs(ids: g.addInput("input_ids", TensorType(.i32, ["batch", "seq"])),
                      mask: g.addInput("attention_mask", TensorType(.i32, ["batch", "seq"])),
                      tokenTypes: g.addInput("token_type_ids", TensorType(.i32, ["batch", "seq"])),
                      positions: g.addInput("position_ids", TensorType(.i32, ["batch", "seq"])))
    }
}

public enum EncoderImporter {
    // MARK: Hugging Face folders

    static func importModel(directory: String, config: ConfigFile, tensors: CheckpointTensors, architecture arch: EncoderArchitecture,
                            attention form: AttentionForm = .fused) throws -> ImportedModel {
        let hp = try hyperParameters(config, arch)
        let pipeline = try SentenceTransformersPipeline.read(directory: directory, hidden: hp.hidden)
        let prefix = arch.prefixes.first { tensors.tensorInfo(arch.names($0).word) != nil } ?? arch.prefixes.last!
        let names = arch.names(prefix)
        var g = Graph(name: arch.name)
        var w = WeightBinder(tensors, architecture: arch.displayName)
        let inputs = EncoderInputs.add(to: &g)
        let weights = bindWeights(&g, &w, arch, hp, names)
        try w.finish()
        let ignored = Set(arch.ignoredTensors.map { prefix + $0 })
        try refuseUnusedTensors(w) { ignored.contains($0) }
        let hiddenState = try buildGraph(&g, arch, hp, weights: weights, inputs: inputs, attention: form)
        g.markOutput(hiddenState)
        if let embedding = try pipeline?.append(to: &g, tokens: hiddenState, mask: inputs.mask) {
            g.markOutput(embedding)
        }
        try g.verify()

        let tokenizer = try wordPieceTokenizer(directory: directory, maxPositions: hp.contextLength)
            ?? tokenizerJSONWordPiece(directory: directory, maxPositions: hp.contextLength)
        if let tokenizer {
            try checkVocabularyFits(tokenizer.tokens.count, field: nil, file: directory + (fileExists(directory + "/vocab.txt") ? "/vocab.txt" : "/tokenizer.json"),
                                    table: names.word, rows: hp.vocab, hidden: hp.hidden)
        }
        let summary = pipeline?.summary ?? (pooling: "none", dense: "none", normalize: false)
        return ImportedModel(
            architecture: arch.name, graph: g, tokenizer: tokenizer,
            hyperParameters: hp.described + [("hidden_act", hp.activationName),
                                             ("pooling", summary.pooling), ("dense", summary.dense), ("normalize", "\(summary.normalize)")],
            sourceFiles: tensors.sourceFiles + [directory + "/config.json"] + (pipeline?.files ?? []))
    }

    /// Sizes from config.json, under the keys the family's transformers class reads.
    static func hyperParameters(_ config: ConfigFile, _ arch: EncoderArchitecture) throws -> EncoderHyperParameters {
        var config = config
        let distil = arch.name == EncoderArchitecture.distilbert.name
        let hidden = config.int(distil ? "dim" : "hidden_size")
        let heads = config.int(distil ? "n_heads" : "num_attention_heads")
        let layers = config.int(distil ? "n_layers" : "num_hidden_layers", range: 1...1024)
        let intermediate = config.int(distil ? "hidden_dim" : "intermediate_size")
        let vocab = config.int("vocab_size")
        let maxPositions = config.int("max_position_embeddings", range: 2...(1 << 30)) // [CLS] and [SEP] need two
        let typeVocab = arch.tokenTypes ? config.int("type_vocab_size", range: 1...1024) : 0
        let eps = distil ? Float(1e-12) : Float(config.double("layer_norm_eps", default: 1e-12, range: 0...1))
        let act = config.string(distil ? "activation" : "hidden_act", default: "gelu", allowed: ["gelu", "gelu_new", "gelu_pytorch_tanh"])
        if !distil, arch.name != EncoderArchitecture.mpnet.name {
            _ = config.string("position_embedding_type", default: "absolute", allowed: ["absolute"])
        }
        var offset = 0
        if arch.positions == .learnedAfterPadding {
            offset = config.int("pad_token_id", range: 0...(1 << 20)) + 1
        }
        var buckets = 0
        if arch.relativeBias {
            buckets = config.int("relative_attention_num_buckets", range: 4...4096)
        }
        try config.finish()
        guard buckets % 4 == 0 else {
            throw IngotError(.format, file: config.path, location: "relative_attention_num_buckets", "value \(buckets), expected a multiple of 4")
        }
        guard hidden % heads == 0 else {
            throw IngotError(.format, file: config.path, location: distil ? "dim" : "hidden_size",
                             "value \(hidden) is not a multiple of the \(heads) attention heads")
        }
        guard offset + 2 <= maxPositions else {
            throw IngotError(.format, file: config.path, location: "pad_token_id",
                             "value \(offset - 1): positions start at row \(offset), expected at least two of the \(maxPositions) rows of the position table past it")
        }
        var hp = EncoderHyperParameters(
            hidden: hidden, layers: layers, heads: heads, intermediate: intermediate, vocab: vocab, maxPositions: maxPositions,
            typeVocab: typeVocab, normEps: eps, gelu: act == "gelu" ? .erf : .tanh, positionOffset: offset,
            relativeBuckets: buckets, relativeMaxDistance: arch.relativeMaxDistance, contextLength: maxPositions - offset)
        hp.activationName = act
        return hp
    }

    /// Binds every weight the family reads (problems are collected by `w`; call `w.finish()`).
    static func bindWeights(_ g: inout Graph, _ w: inout WeightBinder, _ arch: EncoderArchitecture, _ hp: EncoderHyperParameters,
                            _ names: EncoderTensorNames) -> EncoderWeights {
        let (H, I) = (hp.hidden, hp.intermediate)
        func norm(_ n: (weight: String, bias: String)) -> EncoderWeights.Norm {
            EncoderWeights.Norm(weight: w.weight(&g, n.weight, [H]), bias: w.weight(&g, n.bias, [H]))
        }
        let word = w.weight(&g, names.word, [hp.vocab, H])
        var position: ValueID?
        switch arch.positions {
        case .learned:
            position = w.weight(&g, names.position, [hp.maxPositions, H])
        case .learnedAfterPadding:
            position = w.weightRows(&g, names.position, [hp.maxPositions, H], rows: hp.positionOffset..<hp.maxPositions,
                                    as: names.position + "[\(hp.positionOffset):]")
        case .rotary:
            position = nil
        }
        let tokenType = arch.tokenTypes ? w.weight(&g, names.tokenType, [hp.typeVocab, H]) : nil
        let embeddingNorm = norm(names.embeddingNorm)
        let relative = arch.relativeBias ? w.weight(&g, names.relativeBias, [hp.relativeBuckets, hp.heads]) : nil
        var layers: [EncoderWeights.Layer] = []
        for l in 0..<hp.layers {
            func bias(_ weight: String, _ n: Int) -> ValueID? { arch.attentionBiases ? w.weight(&g, names.bias(weight), [n]) : nil }
            let q, k, v: ValueID
            var qBias, kBias, vBias: ValueID?
            if arch.fusedQKV {
                let fused = names.qkv(l)
                q = w.weightRows(&g, fused, [3 * H, H], rows: 0..<H, as: fused + ".q")
                k = w.weightRows(&g, fused, [3 * H, H], rows: H..<(2 * H), as: fused + ".k")
                v = w.weightRows(&g, fused, [3 * H, H], rows: (2 * H)..<(3 * H), as: fused + ".v")
            } else {
                // Bound in this order (q, q bias, k, …) so BERT's constants keep their order.
                q = w.weight(&g, names.q(l), [H, H])
                qBias = bias(names.q(l), H)
                k = w.weight(&g, names.k(l), [H, H])
                kBias = bias(names.k(l), H)
                v = w.weight(&g, names.v(l), [H, H])
                vBias = bias(names.v(l), H)
            }
            let o = w.weight(&g, names.o(l), [H, H])
            let oBias = bias(names.o(l), H)
            let attentionNorm = norm(names.attentionNorm(l))
            let layer: EncoderWeights.Layer
            switch arch.feedForward {
            case .gelu:
                let up = w.weight(&g, names.up(l), [I, H])
                let upBias = w.weight(&g, names.bias(names.up(l)), [I])
                let down = w.weight(&g, names.down(l), [H, I])
                let downBias = w.weight(&g, names.bias(names.down(l)), [H])
                layer = EncoderWeights.Layer(q: q, k: k, v: v, o: o, qBias: qBias, kBias: kBias, vBias: vBias, oBias: oBias,
                                             attentionNorm: attentionNorm, up: up, down: down, upBias: upBias, downBias: downBias,
                                             ffnNorm: norm(names.ffnNorm(l)))
            case .swiglu:
                let up = w.weight(&g, names.up(l), [I, H])
                let gate = w.weight(&g, names.gate(l), [I, H])
                let down = w.weight(&g, names.down(l), [H, I])
                layer = EncoderWeights.Layer(q: q, k: k, v: v, o: o, attentionNorm: attentionNorm, up: up, down: down, gate: gate,
                                             ffnNorm: norm(names.ffnNorm(l)))
            }
            layers.append(layer)
        }
        return EncoderWeights(word: word, position: position, tokenType: tokenType, embeddingNorm: embeddingNorm,
                              relativeBias: relative, layers: layers)
    }

    /// Appends the encoder to `g` (weights and inputs already in it) and returns the last hidden
    /// state f32[batch, seq, H], named "last_hidden_state" (not yet marked as an output).
    public static func buildGraph(_ g: inout Graph, _ arch: EncoderArchitecture, _ hp: EncoderHyperParameters,
                                  weights: EncoderWeights, inputs: EncoderInputs, attention form: AttentionForm = .fused) throws -> ValueID {
        guard hp.heads > 0, hp.hidden % hp.heads == 0 else {
            throw IngotError(.format, location: "\(arch.name) encoder", "hidden \(hp.hidden) is not a multiple of the \(hp.heads) heads")
        }
        let headDim = hp.headDim, heads = hp.heads, eps = hp.normEps
        if form == .decomposed, weights.relativeBias != nil {
            throw IngotError(.unsupported, location: "attention form",
                             "value decomposed for \(arch.displayName), expected fused (a relative attention bias is written fused only)")
        }
        func linear(_ x: ValueID, _ weight: ValueID, _ bias: ValueID?, _ name: String) throws -> ValueID {
            guard let bias else { return try g.add(.matmul(transposeB: true), [x, weight], name: name) }
            let y = try g.add(.matmul(transposeB: true), [x, weight], name: name + ".matmul")
            return try g.add(.binary(.add), [y, bias], name: name)
        }
        func layerNorm(_ x: ValueID, _ n: EncoderWeights.Norm, _ name: String) throws -> ValueID {
            try g.add(.layerNorm(epsilon: eps), [x, n.weight, n.bias], name: name)
        }

        var x = try g.add(.gather, [weights.word, inputs.ids], name: "embeddings.word")
        let pe = try weights.position.map { try g.add(.gather, [$0, inputs.positions], name: "embeddings.position") }
        let te = try weights.tokenType.map { try g.add(.gather, [$0, inputs.tokenTypes], name: "embeddings.token_type") }
        if let pe { x = try g.add(.binary(.add), [x, pe], name: te == nil ? "embeddings.sum" : "embeddings.sum_position") }
        if let te { x = try g.add(.binary(.add), [x, te], name: "embeddings.sum") }
        x = try layerNorm(x, weights.embeddingNorm, "embeddings.norm")

        let scale = 1 / Float(headDim).squareRoot()
        let buckets = weights.relativeBias == nil ? 0 : hp.relativeBuckets
        let attention = Op.attention(AttentionAttributes(heads: heads, kvHeads: heads, headDim: headDim, causal: false,
                                                         scale: scale, kvCache: false, relativeBuckets: buckets,
                                                         relativeMaxDistance: buckets == 0 ? 0 : hp.relativeMaxDistance))
        func scalar(_ name: String, _ value: Float) -> ValueID {
            g.addConstant(name, TensorType(.f32, Shape([])),
                          source: ConstantSource(origin: "\(arch.displayName) importer: \(name) = \(formatFloat(value))",
                                                 buffer: TensorBuffer(array: [value])))
        }
        // decomposed: the additive key mask bias [batch, 1, 1, seq], 0 for tokens and −FLT_MAX
        // for padding (mask 0), which softmax turns into weight 0 like the fused op's −∞.
        let decomposed: (bias: ValueID, scale: ValueID)?
        switch form {
        case .fused:
            decomposed = nil
        case .decomposed:
            let one = scalar("attention.one", 1)
            let fill = scalar("attention.mask_fill", -Float.greatestFiniteMagnitude)
            let scaleConstant = scalar("attention.scale", scale)
            let m = try g.add(.cast(.f32), [inputs.mask], name: "attention.mask_f32")
            let padding = try g.add(.binary(.sub), [one, m], name: "attention.padding")
            let bias = try g.add(.binary(.mul), [padding, fill], name: "attention.mask_bias_2d")
            let dims = g.type(of: inputs.mask).shape.dims
            decomposed = (try g.add(.reshape(Shape([dims[0], 1, 1, dims[1]])), [bias], name: "attention.mask_bias"), scaleConstant)
        }
        // [B, S, H·D] → [B, H, S, D]
        func byHead(_ x: ValueID, _ name: String) throws -> ValueID {
            let dims = g.type(of: x).shape.dims
            let split = try g.add(.reshape(Shape([dims[0], dims[1], .fixed(heads), .fixed(headDim)])), [x], name: name + ".heads")
            return try g.add(.transpose(permutation: [0, 2, 1, 3]), [split], name: name + ".by_head")
        }
        for (l, lw) in weights.layers.enumerated() {
            let n = "layer\(l)"
            var q = try linear(x, lw.q, lw.qBias, n + ".q")
            var k = try linear(x, lw.k, lw.kBias, n + ".k")
            let v = try linear(x, lw.v, lw.vBias, n + ".v")
            if arch.positions == .rotary {
                let rope = Op.rope(theta: hp.ropeTheta, heads: heads, headDim: headDim, style: .halfRotation)
                q = try g.add(rope, [q, inputs.positions], name: n + ".q_rope")
                k = try g.add(rope, [k, inputs.positions], name: n + ".k_rope")
            }
            let a: ValueID
            if let d = decomposed {
                let (qh, kh, vh) = (try byHead(q, n + ".q"), try byHead(k, n + ".k"), try byHead(v, n + ".v"))
                let scores = try g.add(.matmul(transposeB: true), [qh, kh], name: n + ".scores")
                let scaled = try g.add(.binary(.mul), [scores, d.scale], name: n + ".scores_scaled")
                let masked = try g.add(.binary(.add), [scaled, d.bias], name: n + ".scores_masked")
                let probs = try g.add(.softmax(axis: -1), [masked], name: n + ".probs")
                let context = try g.add(.matmul(transposeB: false), [probs, vh], name: n + ".context_by_head")
                let merged = try g.add(.transpose(permutation: [0, 2, 1, 3]), [context], name: n + ".context_heads")
                a = try g.add(.reshape(g.type(of: q).shape), [merged], name: n + ".attention")
            } else if let table = weights.relativeBias {
                a = try g.add(attention, [q, k, v, inputs.mask, table], name: n + ".attention")
            } else {
                a = try g.add(attention, [q, k, v, inputs.mask], name: n + ".attention")
            }
            let o = try linear(a, lw.o, lw.oBias, n + ".attention_out")
            let r1 = try g.add(.binary(.add), [o, x], name: n + ".residual1")
            x = try layerNorm(r1, lw.attentionNorm, n + ".norm1")
            let f: ValueID
            if let gateWeight = lw.gate {
                let gate = try g.add(.silu, [try linear(x, gateWeight, nil, n + ".gate")], name: n + ".gate_silu")
                let up = try linear(x, lw.up, lw.upBias, n + ".up")
                let m = try g.add(.binary(.mul), [gate, up], name: n + ".gated")
                f = try linear(m, lw.down, lw.downBias, n + ".ffn_out")
            } else {
                let h = try linear(x, lw.up, lw.upBias, n + ".ffn_in")
                let act = try g.add(.gelu(hp.gelu), [h], name: n + ".gelu")
                f = try linear(act, lw.down, lw.downBias, n + ".ffn_out")
            }
            let r2 = try g.add(.binary(.add), [f, x], name: n + ".residual2")
            x = try layerNorm(r2, lw.ffnNorm, n + ".norm2")
        }
        g.values[x.index].name = "last_hidden_state"
        return x
    }

    // MARK: GGUF

    /// nomic-bert (and any family in EncoderArchitecture.gguf) from a GGUF file: sizes from
    /// `<arch>.*` metadata, the WordPiece vocabulary mapped back from llama.cpp's form, pooling
    /// from `<arch>.pooling_type` (1 mean, 2 CLS, 3 last token) followed by L2 normalisation (as
    /// llama.cpp's embedding tool does by default).
    public static func importGGUF(_ file: GGUFFile) throws -> ImportedModel {
        let archName = file["general.architecture"]?.string ?? ""
        guard let arch = EncoderArchitecture.gguf.first(where: { $0.name == archName }) else {
            throw IngotError(.unsupported, file: file.path, location: "general.architecture",
                             "value \"\(archName)\", expected one of \(EncoderArchitecture.gguf.map { "\"\($0.name)\"" }.joined(separator: ", "))")
        }
        let (hp, pooling) = try ggufHyperParameters(file, arch)
        let tensors = GGUFTensors(file)
        var g = Graph(name: arch.name)
        var w = WeightBinder(tensors, architecture: arch.displayName)
        let inputs = EncoderInputs.add(to: &g)
        let weights = bindWeights(&g, &w, arch, hp, arch.names(""))
        w.requireAllUsed(except: Set(arch.ignoredTensors))
        try w.finish()
        let hiddenState = try buildGraph(&g, arch, hp, weights: weights, inputs: inputs)
        g.markOutput(hiddenState)
        let pipeline = SentenceTransformersPipeline(pooling: pooling, steps: pooling == nil ? [] : [.normalize], files: [])
        if let embedding = try pipeline.append(to: &g, tokens: hiddenState, mask: inputs.mask) { g.markOutput(embedding) }
        try g.verify()
        let tokenizer = try ggufWordPiece(file, maxLength: hp.contextLength)
        try checkVocabularyFits(tokenizer.tokens.count, field: "tokenizer.ggml.tokens", file: file.path,
                                table: EncoderTensorNames.gguf.word, rows: hp.vocab, hidden: hp.hidden)
        let summary = pipeline.summary
        return ImportedModel(
            architecture: arch.name, graph: g, tokenizer: tokenizer,
            hyperParameters: hp.described + [("pooling", summary.pooling), ("dense", summary.dense), ("normalize", "\(summary.normalize)")],
            sourceFiles: [file.path])
    }

    /// Whether a GGUF file names an encoder family (general.architecture).
    public static func isEncoderGGUF(_ file: GGUFFile) -> Bool {
        EncoderArchitecture.gguf.contains { $0.name == file["general.architecture"]?.string }
    }

    /// What `ingot inspect` says about a GGUF encoder: the family's facts, sizes and pooling, or
    /// the problems that keep it from importing (from metadata only).
    public static func support(_ file: GGUFFile) -> (facts: [(String, String)], problems: [String]) {
        guard let arch = EncoderArchitecture.gguf.first(where: { $0.name == file["general.architecture"]?.string }) else {
            return ([], ["general.architecture: not an encoder family"])
        }
        do {
            let (hp, pooling) = try ggufHyperParameters(file, arch)
            return (arch.facts + hp.described + [("pooling", pooling?.rawValue ?? "none"), ("normalize", "\(pooling != nil)")], [])
        } catch {
            return (arch.facts, ["\(error)"])
        }
    }

    static func ggufHyperParameters(_ file: GGUFFile, _ arch: EncoderArchitecture) throws
        -> (EncoderHyperParameters, SentenceTransformersPipeline.Pooling?) {
        var invalid: [String] = [], unsupported: [String] = []
        let p = arch.name + "."
        func int(_ key: String, range: ClosedRange<Int> = 1...(1 << 30)) -> Int {
            guard let v = file[key]?.int else { invalid.append("\(key): missing, expected an integer in \(range)"); return range.lowerBound }
            guard range.contains(v) else { invalid.append("\(key): value \(v), expected an integer in \(range)"); return range.lowerBound }
            return v
        }
        let hidden = int(p + "embedding_length"), heads = int(p + "attention.head_count")
        let context = int(p + "context_length", range: 2...(1 << 30))
        let eps = Float(file[p + "attention.layer_norm_epsilon"]?.float ?? 1e-12)
        let theta = Float(file[p + "rope.freq_base"]?.float ?? 10000)
        let vocab = file.tensor(named: EncoderTensorNames.gguf.word)?.shape.first ?? file["tokenizer.ggml.tokens"]?.stringArray?.count ?? 0
        let types = file.tensor(named: EncoderTensorNames.gguf.tokenType)?.shape.first ?? int("tokenizer.ggml.token_type_count")
        let hp = EncoderHyperParameters(
            hidden: hidden, layers: int(p + "block_count", range: 1...1024), heads: heads, intermediate: int(p + "feed_forward_length"),
            vocab: vocab, maxPositions: 0, typeVocab: types, normEps: eps, gelu: .erf, ropeTheta: theta, contextLength: context)
        if hidden % heads != 0 { invalid.append("\(p)embedding_length: value \(hidden), expected a multiple of \(p)attention.head_count \(heads)") }
        if hp.headDim % 2 != 0 { invalid.append("head dimension \(hp.headDim): expected an even number (RoPE pairs)") }
        if !(eps > 0 && eps < 1) { invalid.append("\(p)attention.layer_norm_epsilon: value \(eps), expected a number in (0, 1)") }
        if !(theta > 1) { invalid.append("\(p)rope.freq_base: value \(theta), expected a number > 1") }
        if vocab <= 0 { invalid.append("no \(EncoderTensorNames.gguf.word) or tokenizer.ggml.tokens to count the vocabulary") }
        if let causal = file[p + "attention.causal"], causal.bool != false {
            unsupported.append("\(p)attention.causal: value \(causal.summary), expected false (a bidirectional encoder)")
        }
        if let dims = file[p + "rope.dimension_count"]?.int, dims != hp.headDim {
            unsupported.append("\(p)rope.dimension_count: value \(dims), expected head dimension \(hp.headDim) (partial rotary is not supported)")
        }
        if let model = file["tokenizer.ggml.model"]?.string, model != "bert" {
            unsupported.append("tokenizer.ggml.model: value \"\(model)\", expected \"bert\" (WordPiece)")
        }
        var pooling: SentenceTransformersPipeline.Pooling?
        switch file[p + "pooling_type"]?.int ?? 1 {
        case 0: pooling = nil
        case 1: pooling = .mean
        case 2: pooling = .cls
        case 3: pooling = .lastToken
        case let other: unsupported.append("\(p)pooling_type: value \(other), expected 0 (none), 1 (mean), 2 (CLS) or 3 (last token)")
        }
        guard unsupported.isEmpty else { throw IngotError(.unsupported, file: file.path, (unsupported + invalid).joined(separator: "; ")) }
        guard invalid.isEmpty else { throw IngotError(.format, file: file.path, invalid.joined(separator: "; ")) }
        return (hp, pooling)
    }

    /// A GGUF `bert` vocabulary back in vocab.txt form: llama.cpp stores word-initial pieces with a
    /// `▁` prefix and continuation pieces without `##`; bracketed specials ([CLS], [unused0]) as they are.
    static func ggufWordPiece(_ file: GGUFFile, maxLength: Int) throws -> TokenizerSpec {
        guard let stored = file["tokenizer.ggml.tokens"]?.stringArray, !stored.isEmpty else {
            throw IngotError(.format, file: file.path, location: "tokenizer.ggml.tokens", "missing or empty, expected the WordPiece vocabulary")
        }
        // Compared by bytes: "▁" + a combining mark (Devanagari vowel signs) is one Character.
        let marker = Array("▁".utf8)
        let tokens = stored.map { t -> String in
            let bytes = Array(t.utf8)
            if bytes.starts(with: marker) { return String(decoding: bytes.dropFirst(marker.count), as: UTF8.self) }
            if bytes.count >= 2, bytes.first == UInt8(ascii: "["), bytes.last == UInt8(ascii: "]") { return t }
            return "##" + t
        }
        guard tokens.count <= TokenizerSpec.maxTokens else {
            throw IngotError(.format, file: file.path, location: "tokenizer.ggml.tokens", "\(tokens.count) tokens, expected at most \(TokenizerSpec.maxTokens)")
        }
        if let long = tokens.firstIndex(where: { $0.utf8.count > TokenizerSpec.maxTokenBytes }) {
            throw IngotError(.format, file: file.path, location: "tokenizer.ggml.tokens[\(long)]",
                             "\(tokens[long].utf8.count) bytes, expected at most \(TokenizerSpec.maxTokenBytes)")
        }
        var special: [String: Int32] = [:]
        for (key, field, name) in [("unk", "unknown_token_id", "[UNK]"), ("cls", "cls_token_id", "[CLS]"), ("sep", "seperator_token_id", "[SEP]"),
                                   ("pad", "padding_token_id", "[PAD]"), ("mask", "mask_token_id", "[MASK]")] {
            if let id = file["tokenizer.ggml." + field]?.int {
                guard id >= 0, id < tokens.count else {
                    throw IngotError(.format, file: file.path, location: "tokenizer.ggml." + field, "value \(id), expected a token id in 0..<\(tokens.count)")
                }
                special[key] = Int32(id)
            } else if let id = tokens.firstIndex(of: name) {
                special[key] = Int32(id)
            }
        }
        if special["cls"] == nil, let bos = file["tokenizer.ggml.bos_token_id"]?.int, bos >= 0, bos < tokens.count { special["cls"] = Int32(bos) }
        for required in ["unk", "cls", "sep", "pad"] where special[required] == nil {
            throw IngotError(.format, file: file.path, location: "tokenizer.ggml.tokens", "the vocabulary has no \(required) token")
        }
        return TokenizerSpec(
            kind: .wordPiece, tokens: tokens, merges: [], tokenTypes: [], preTokenizer: "bert",
            lowercase: true, stripAccents: true, splitCJK: true,
            continuingSubwordPrefix: "##", maxInputCharsPerWord: 100, maxLength: maxLength,
            specialTokens: special, addBOS: false, addEOS: false, chatTemplate: nil)
    }

    // MARK: Tokenizer of a Hugging Face folder

    /// A WordPiece tokenizer from tokenizer.json alone (a folder without vocab.txt): the model's
    /// vocabulary (ids 0..<n, each once), its unk token, the BertNormalizer's settings, [CLS]/[SEP]
    /// (or `<s>`/`</s>`) from the post-processor, the pad token from `padding`, else by name;
    /// max_seq_length from sentence_bert_config.json, else the model's positions (tokenizer.json's
    /// own truncation and padding are not the sentence-transformers settings). nil when there is
    /// no tokenizer.json or its model is not WordPiece (BPE and Unigram are not read).
    static func tokenizerJSONWordPiece(directory: String, maxPositions: Int) throws -> TokenizerSpec? {
        let path = directory + "/tokenizer.json"
        guard fileExists(path) else { return nil }
        return try tokenizerJSONWordPiece(path: path, configDirectory: directory, maxPositions: maxPositions)
    }

    /// The same from a tokenizer.json at any path (ONNX's `--tokenizer`), with
    /// sentence_bert_config.json looked for in `configDirectory`; a normalizer other than
    /// BertNormalizer is refused by name.
    static func tokenizerJSONWordPiece(path: String, configDirectory directory: String, maxPositions: Int) throws -> TokenizerSpec? {
        let file = try MappedFile(path: path)
        let root = try JSONValue.parse(file.bytes, file: path)
        guard root["model"]?["type"]?.string == "WordPiece" else { return nil }
        guard let vocab = root["model"]?["vocab"]?.object, !vocab.isEmpty else {
            throw IngotError(.format, file: path, location: "model.vocab", "missing or empty, expected an object of token ids")
        }
        var tokens = [String?](repeating: nil, count: vocab.count)
        for (token, idValue) in vocab {
            guard let id = idValue.int, id >= 0, id < vocab.count, tokens[id] == nil else {
                throw IngotError(.format, file: path, location: "model.vocab[\"\(token)\"]",
                                 "value \(idValue.serialized(pretty: false)), expected a distinct id in 0..<\(vocab.count)")
            }
            guard token.utf8.count <= TokenizerSpec.maxTokenBytes else {
                throw IngotError(.format, file: path, location: "model.vocab", "a token of \(token.utf8.count) bytes, expected at most \(TokenizerSpec.maxTokenBytes)")
            }
            tokens[id] = token
        }
        let list = tokens.map { $0! }
        guard list.count <= TokenizerSpec.maxTokens else {
            throw IngotError(.format, file: path, "\(list.count) tokens, expected at most \(TokenizerSpec.maxTokens)")
        }
        let normalizer = root["normalizer"]
        if let type = normalizer?["type"]?.string, type != "BertNormalizer" {
            throw IngotError(.unsupported, file: path, location: "normalizer.type", "value \"\(type)\", expected \"BertNormalizer\"")
        }
        let lowercase = normalizer?["lowercase"]?.bool ?? true
        let stripAccents = normalizer?["strip_accents"]?.bool ?? lowercase
        let splitCJK = normalizer?["handle_chinese_chars"]?.bool ?? true
        let prefix = root["model"]?["continuing_subword_prefix"]?.string ?? "##"
        let maxChars = root["model"]?["max_input_chars_per_word"]?.int ?? 100
        var special: [String: Int32] = [:]
        func id(_ token: String?) -> Int32? { token.flatMap { list.firstIndex(of: $0) }.map(Int32.init) }
        special["unk"] = id(root["model"]?["unk_token"]?.string)
        let post = root["post_processor"]
        special["cls"] = post?["cls"]?[1]?.int.map(Int32.init) ?? id("[CLS]") ?? id("<s>")
        special["sep"] = post?["sep"]?[1]?.int.map(Int32.init) ?? id("[SEP]") ?? id("</s>")
        special["pad"] = root["padding"]?["pad_id"]?.int.map(Int32.init) ?? id("[PAD]") ?? id("<pad>")
        let roberta = post?["type"]?.string == "RobertaProcessing"
        if let mask = roberta ? id("<mask>") ?? id("[MASK]") : id("[MASK]") ?? id("<mask>") { special["mask"] = mask }
        for required in ["unk", "cls", "sep", "pad"] {
            guard let v = special[required], v >= 0, Int(v) < list.count else {
                throw IngotError(.format, file: path, "no \(required) token found (model.unk_token, post_processor cls/sep, padding.pad_id, or by name)")
            }
        }
        var maxLength = maxPositions
        let stConfigPath = directory + "/sentence_bert_config.json"
        if fileExists(stConfigPath) {
            var cfg = try ConfigFile(path: stConfigPath)
            maxLength = min(cfg.int("max_seq_length", range: 2...maxPositions), maxPositions)
            try cfg.finish()
        }
        return TokenizerSpec(
            kind: .wordPiece, tokens: list, merges: [], tokenTypes: [], preTokenizer: "bert",
            lowercase: lowercase, stripAccents: stripAccents, splitCJK: splitCJK,
            continuingSubwordPrefix: prefix, maxInputCharsPerWord: maxChars, maxLength: maxLength,
            specialTokens: special, addBOS: false, addEOS: false, chatTemplate: nil)
    }

    /// WordPiece vocabulary (vocab.txt) with BertTokenizer settings and special tokens from
    /// tokenizer_config.json (cls_token, sep_token, … — MPNet's `<s>`, `</s>`; else [CLS], [SEP], …)
    /// and the sequence limit from sentence_bert_config.json (max_seq_length), else the model's.
    static func wordPieceTokenizer(directory: String, maxPositions: Int) throws -> TokenizerSpec? {
        let vocabPath = directory + "/vocab.txt"
        guard fileExists(vocabPath) else { return nil }
        let file = try MappedFile(path: vocabPath)
        guard let text = String(validating: file.bytes.bindMemory(to: UInt8.self), as: UTF8.self) else {
            throw IngotError(.format, file: vocabPath, "not valid UTF-8")
        }
        var tokens = text.split(separator: "\n", omittingEmptySubsequences: false).map { String($0.hasSuffix("\r") ? $0.dropLast() : $0) }
        if tokens.last == "" { tokens.removeLast() }
        guard !tokens.isEmpty else { throw IngotError(.format, file: vocabPath, "the vocabulary is empty") }
        // The artifact's tokenizer section holds at most 2^22 tokens of at most 64 KiB each.
        guard tokens.count <= TokenizerSpec.maxTokens else {
            throw IngotError(.format, file: vocabPath, "\(tokens.count) tokens, expected at most \(TokenizerSpec.maxTokens)")
        }
        if let long = tokens.firstIndex(where: { $0.utf8.count > TokenizerSpec.maxTokenBytes }) {
            throw IngotError(.format, file: vocabPath, location: "line \(long + 1)",
                             "\(tokens[long].utf8.count) bytes, expected at most \(TokenizerSpec.maxTokenBytes)")
        }

        var lowercase = true
        var stripAccents: Bool? = nil
        var splitCJK = true
        var names: [String: String] = ["unk": "[UNK]", "cls": "[CLS]", "sep": "[SEP]", "pad": "[PAD]", "mask": "[MASK]"]
        var namedBy: [String: String] = [:]
        let tokConfigPath = directory + "/tokenizer_config.json"
        if fileExists(tokConfigPath) {
            let cfg = try ConfigFile(path: tokConfigPath)
            lowercase = cfg.bool("do_lower_case", default: true)
            stripAccents = cfg.raw("strip_accents")?.bool
            splitCJK = cfg.bool("tokenize_chinese_chars", default: true)
            for key in ["unk", "cls", "sep", "pad", "mask"] {
                guard let v = cfg.raw(key + "_token") else { continue }
                if let s = v.string ?? v["content"]?.string {
                    names[key] = s
                    namedBy[key] = tokConfigPath
                }
            }
        }
        var maxLength = maxPositions
        let stConfigPath = directory + "/sentence_bert_config.json"
        if fileExists(stConfigPath) {
            var cfg = try ConfigFile(path: stConfigPath)
            maxLength = min(cfg.int("max_seq_length", range: 2...maxPositions), maxPositions)
            try cfg.finish()
        }
        var special: [String: Int32] = [:]
        for (key, token) in names {
            if let id = tokens.firstIndex(of: token) { special[key] = Int32(id) }
        }
        for required in ["unk", "cls", "sep", "pad"] where special[required] == nil {
            if let source = namedBy[required] {
                throw IngotError(.format, file: vocabPath, "the vocabulary has no \(required) token \(names[required]!) (named by \(source))")
            }
            throw IngotError(.format, file: vocabPath, "the vocabulary has no \(required) token ([\(required.uppercased())])")
        }
        return TokenizerSpec(
            kind: .wordPiece, tokens: tokens, merges: [], tokenTypes: [], preTokenizer: "bert",
            lowercase: lowercase, stripAccents: stripAccents ?? lowercase, splitCJK: splitCJK,
            continuingSubwordPrefix: "##", maxInputCharsPerWord: 100, maxLength: maxLength,
            specialTokens: special, addBOS: false, addEOS: false, chatTemplate: nil)
    }
}
