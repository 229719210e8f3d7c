// BertImporter: a Hugging Face BERT encoder (config.json + safetensors, e.g.
// all-MiniLM-L6-v2) → IR, with the sentence-transformers pipeline its folder lists
// (SentenceTransformersPipeline: pooling, Dense layers, Normalize) and the WordPiece
// vocabulary. Post-norm layers, absolute positions, GELU. It does not handle cross-attention,
// and it refuses a checkpoint with tensors it would not use (a classifier head), naming them;
// the BERT pooler (pooler.dense.*) and the position_ids buffer are the known unused ones.
//
// Graph (per layer l, x: f32[batch, seq, H]):
//   x = layer_norm(word[ids] + position[pos] + type[tt])
//   a = attention(x·Wqᵀ+bq, x·Wkᵀ+bk, x·Wvᵀ+bv, mask)          heads, head_dim = H / heads
//   x = layer_norm(a·Woᵀ + bo + x)
//   x = layer_norm(gelu(x·Wiᵀ + bi)·Wo2ᵀ + bo2 + x)
//   outputs: last_hidden_state f32[batch, seq, H], embedding f32[batch, H]
//
// With AttentionForm.decomposed the attention line is written out as an exported ONNX / HF
// graph has it (per-head reshapes and transposes, batched matmuls, scale, additive mask,
// softmax), with the mask bias computed once for all layers; fuse-attention folds it back.

import IngotCore
import IngotIR

/// How an importer writes self-attention.
public enum AttentionForm: Sendable, Hashable {
    /// One `attention` node per layer.
    case fused
    /// Per layer, with q, k, v [B, S, H·D] and bias [B, 1, 1, S] = (1 − f32(mask))·(−3.4028235e38):
    /// reshape [B, S, H, D] → transpose (0, 2, 1, 3) → scores = q·kᵀ [B, H, S, S] → ·(1/√D)
    /// → + bias → softmax(−1) → ·v [B, H, S, D] → transpose (0, 2, 1, 3) → reshape [B, S, H·D].
    /// BERT only.
    case decomposed
}

public enum BertImporter {
    static func importModel(directory: String, config: ConfigFile, tensors: CheckpointTensors,
                            attention form: AttentionForm = .fused) throws -> ImportedModel {
        var config = config
        let hidden = config.int("hidden_size")
        let heads = config.int("num_attention_heads")
        let layers = config.int("num_hidden_layers", range: 1...1024)
        let intermediate = config.int("intermediate_size")
        let vocab = config.int("vocab_size")
        let maxPositions = config.int("max_position_embeddings", range: 2...(1 << 30)) // [CLS] and [SEP] need two
        let typeVocab = config.int("type_vocab_size", range: 1...1024)
        let eps = Float(config.double("layer_norm_eps", default: 1e-12, range: 0...1))
        let act = config.string("hidden_act", default: "gelu", allowed: ["gelu", "gelu_new", "gelu_pytorch_tanh"])
        _ = config.string("position_embedding_type", default: "absolute", allowed: ["absolute"])
        try config.finish()
        guard hidden % heads == 0 else {
            throw IngotError(.format, file: config.path, location: "hidden_size",
                             "value \(hidden) is not a multiple of num_attention_heads \(heads)")
        }
        let headDim = hidden / heads
        let gelu: GELUApproximation = act == "gelu" ? .erf : .tanh

        let pipeline = try SentenceTransformersPipeline.read(directory: directory, hidden: hidden)

        var g = Graph(name: "bert")
        var w = WeightBinder(tensors, architecture: "BERT")
        let prefix = w.has("bert.embeddings.word_embeddings.weight") ? "bert." : ""
        func p(_ name: String) -> String { prefix + name }

        let ids = g.addInput("input_ids", TensorType(.i32, ["batch", "seq"]))
        let mask = g.addInput("attention_mask", TensorType(.i32, ["batch", "seq"]))
        let types = g.addInput("token_type_ids", TensorType(.i32, ["batch", "seq"]))
        let positions = g.addInput("position_ids", TensorType(.i32, ["batch", "seq"]))

        let wordTable = w.weight(&g, p("embeddings.word_embeddings.weight"), [vocab, hidden])
        let posTable = w.weight(&g, p("embeddings.position_embeddings.weight"), [maxPositions, hidden])
        let typeTable = w.weight(&g, p("embeddings.token_type_embeddings.weight"), [typeVocab, hidden])
        let embLNw = w.weight(&g, p("embeddings.LayerNorm.weight"), [hidden])
        let embLNb = w.weight(&g, p("embeddings.LayerNorm.bias"), [hidden])

        // Weights are bound first for every layer so a bad checkpoint fails before graph
        // construction depends on them.
        struct Layer { var q, qb, k, kb, v, vb, o, ob, ln1w, ln1b, i, ib, o2, o2b, ln2w, ln2b: ValueID }
        var layerWeights: [Layer] = []
        for l in 0..<layers {
            let b = p("encoder.layer.\(l).")
            layerWeights.append(Layer(
                q: w.weight(&g, b + "attention.self.query.weight", [hidden, hidden]),
                qb: w.weight(&g, b + "attention.self.query.bias", [hidden]),
                k: w.weight(&g, b + "attention.self.key.weight", [hidden, hidden]),
                kb: w.weight(&g, b + "attention.self.key.bias", [hidden]),
                v: w.weight(&g, b + "attention.self.value.weight", [hidden, hidden]),
                vb: w.weight(&g, b + "attention.self.value.bias", [hidden]),
                o: w.weight(&g, b + "attention.output.dense.weight", [hidden, hidden]),
                ob: w.weight(&g, b + "attention.output.dense.bias", [hidden]),
                ln1w: w.weight(&g, b + "attention.output.LayerNorm.weight", [hidden]),
                ln1b: w.weight(&g, b + "attention.output.LayerNorm.bias", [hidden]),
                i: w.weight(&g, b + "intermediate.dense.weight", [intermediate, hidden]),
                ib: w.weight(&g, b + "intermediate.dense.bias", [intermediate]),
                o2: w.weight(&g, b + "output.dense.weight", [hidden, intermediate]),
                o2b: w.weight(&g, b + "output.dense.bias", [hidden]),
                ln2w: w.weight(&g, b + "output.LayerNorm.weight", [hidden]),
                ln2b: w.weight(&g, b + "output.LayerNorm.bias", [hidden])))
        }
        try w.finish()
        try refuseUnusedTensors(w) { name in
            let base = name.hasPrefix(prefix) ? String(name.dropFirst(prefix.count)) : name
            return base.hasPrefix("pooler.dense.") || base == "embeddings.position_ids"
        }

        func linear(_ x: ValueID, _ weight: ValueID, _ bias: ValueID, _ name: String) throws -> ValueID {
            let y = try g.add(.matmul(transposeB: true), [x, weight], name: name + ".matmul")
            return try g.add(.binary(.add), [y, bias], name: name)
        }

        var x = try g.add(.gather, [wordTable, ids], name: "embeddings.word")
        let pe = try g.add(.gather, [posTable, positions], name: "embeddings.position")
        let te = try g.add(.gather, [typeTable, types], name: "embeddings.token_type")
        x = try g.add(.binary(.add), [x, pe], name: "embeddings.sum_position")
        x = try g.add(.binary(.add), [x, te], name: "embeddings.sum")
        x = try g.add(.layerNorm(epsilon: eps), [x, embLNw, embLNb], name: "embeddings.norm")

        let scale = 1 / Float(headDim).squareRoot()
        let attention = Op.attention(AttentionAttributes(heads: heads, kvHeads: heads, headDim: headDim, causal: false,
                                                         scale: scale, kvCache: false))
        func scalar(_ name: String, _ value: Float) -> ValueID {
            g.addConstant(name, TensorType(.f32, Shape([])),
                          source: ConstantSource(origin: "BERT importer: \(name) = \(formatFloat(value))", buffer: TensorBuffer(array: [value])))
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
            let m = try g.add(.cast(.f32), [mask], name: "attention.mask_f32")
            let padding = try g.add(.binary(.sub), [one, m], name: "attention.padding")
            let bias = try g.add(.binary(.mul), [padding, fill], name: "attention.mask_bias_2d")
            let dims = g.type(of: mask).shape.dims
            decomposed = (try g.add(.reshape(Shape([dims[0], 1, 1, dims[1]])), [bias], name: "attention.mask_bias"), scaleConstant)
        }
        // [B, S, H·D] → [B, H, S, D]
        func byHead(_ x: ValueID, _ name: String) throws -> ValueID {
            let dims = g.type(of: x).shape.dims
            let split = try g.add(.reshape(Shape([dims[0], dims[1], .fixed(heads), .fixed(headDim)])), [x], name: name + ".heads")
            return try g.add(.transpose(permutation: [0, 2, 1, 3]), [split], name: name + ".by_head")
        }
        for (l, lw) in layerWeights.enumerated() {
            let n = "layer\(l)"
            let q = try linear(x, lw.q, lw.qb, n + ".q")
            let k = try linear(x, lw.k, lw.kb, n + ".k")
            let v = try linear(x, lw.v, lw.vb, n + ".v")
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
            } else {
                a = try g.add(attention, [q, k, v, mask], name: n + ".attention")
            }
            let o = try linear(a, lw.o, lw.ob, n + ".attention_out")
            let r1 = try g.add(.binary(.add), [o, x], name: n + ".residual1")
            x = try g.add(.layerNorm(epsilon: eps), [r1, lw.ln1w, lw.ln1b], name: n + ".norm1")
            let h = try linear(x, lw.i, lw.ib, n + ".ffn_in")
            let act = try g.add(.gelu(gelu), [h], name: n + ".gelu")
            let f = try linear(act, lw.o2, lw.o2b, n + ".ffn_out")
            let r2 = try g.add(.binary(.add), [f, x], name: n + ".residual2")
            x = try g.add(.layerNorm(epsilon: eps), [r2, lw.ln2w, lw.ln2b], name: n + ".norm2")
        }
        g.values[x.index].name = "last_hidden_state"
        g.markOutput(x)
        if let embedding = try pipeline?.append(to: &g, tokens: x, mask: mask) {
            g.markOutput(embedding)
        }
        try g.verify()

        let tokenizer = try wordPieceTokenizer(directory: directory, maxPositions: maxPositions)
        if let tokenizer {
            try checkVocabularyFits(tokenizer.tokens.count, field: nil, file: directory + "/vocab.txt",
                                    table: p("embeddings.word_embeddings.weight"), rows: vocab, hidden: hidden)
        }
        let summary = pipeline?.summary ?? (pooling: "none", dense: "none", normalize: false)
        return ImportedModel(
            architecture: "bert", graph: g, tokenizer: tokenizer,
            hyperParameters: [("hidden_size", "\(hidden)"), ("num_hidden_layers", "\(layers)"),
                              ("num_attention_heads", "\(heads)"), ("intermediate_size", "\(intermediate)"),
                              ("vocab_size", "\(vocab)"), ("max_position_embeddings", "\(maxPositions)"),
                              ("layer_norm_eps", "\(eps)"), ("hidden_act", act),
                              ("pooling", summary.pooling), ("dense", summary.dense), ("normalize", "\(summary.normalize)")],
            sourceFiles: tensors.sourceFiles + [directory + "/config.json"] + (pipeline?.files ?? []))
    }

    /// WordPiece vocabulary (vocab.txt) with BertTokenizer settings from tokenizer_config.json
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
        let tokConfigPath = directory + "/tokenizer_config.json"
        if fileExists(tokConfigPath) {
            let cfg = try ConfigFile(path: tokConfigPath)
            lowercase = cfg.bool("do_lower_case", default: true)
            stripAccents = cfg.raw("strip_accents")?.bool
            splitCJK = cfg.bool("tokenize_chinese_chars", default: true)
        }
        var maxLength = maxPositions
        let stConfigPath = directory + "/sentence_bert_config.json"
        if fileExists(stConfigPath) {
            var cfg = try ConfigFile(path: stConfigPath)
            maxLength = min(cfg.int("max_seq_length", range: 2...maxPositions), maxPositions)
            try cfg.finish()
        }
        var special: [String: Int32] = [:]
        for (key, token) in [("unk", "[UNK]"), ("cls", "[CLS]"), ("sep", "[SEP]"), ("pad", "[PAD]"), ("mask", "[MASK]")] {
            if let id = tokens.firstIndex(of: token) { special[key] = Int32(id) }
        }
        for required in ["unk", "cls", "sep", "pad"] where special[required] == nil {
            throw IngotError(.format, file: vocabPath, "the vocabulary has no \(required) token ([\(required.uppercased())])")
        }
        return TokenizerSpec(
            kind: .wordPiece, tokens: tokens, merges: [], tokenTypes: [], preTokenizer: "bert",
            lowercase: lowercase, stripAccents: stripAccents ?? lowercase, splitCJK: splitCJK,
            continuingSubwordPrefix: "##", maxInputCharsPerWord: 100, maxLength: maxLength,
            specialTokens: special, addBOS: false, addEOS: false, chatTemplate: nil)
    }
}
