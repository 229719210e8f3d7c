// ONNXImporter: an ONNX BERT-family sentence encoder (ONNXModel, e.g. paraphrase-MiniLM-L3-v2 or
// an int8 all-MiniLM-L6-v2 export) → IR, with the tokenizer and pooling given beside it. Nodes are
// translated one by one in file order by ONNXTranslator (ONNXPatterns.swift), which folds shape
// arithmetic, keeps int8 initializers dequantised by Cast + Mul or DequantizeLinear as int8 (linear_int8 weight-only,
// gather_int8), and rewrites the export patterns (decomposed LayerNorm, GELU from Erf, attention
// masks, mean pooling) onto the ops the safetensors BERT path produces; attention stays in the
// decomposed form that `fuse-attention` folds. Every op type outside `supportedOps` is listed
// (all of them, with counts and node names) before any work, exit 69.
//
// The artifact has the encoder interface (Encoder): inputs input_ids, attention_mask,
// token_type_ids, position_ids i32[batch, seq]; outputs last_hidden_state f32[batch, seq, H], the
// graph's own pooled output as sentence_embedding f32[batch, H] when it has one, and embedding
// (the pipeline's pooling and normalisation). Int64 outputs that echo an input are dropped.
// It does not import decoders, graphs with subgraphs (If, Loop), or ops not in `supportedOps`.

import IngotCore
import IngotCheckpoint
import IngotIR

public enum ONNXPooling: String, Sendable, CaseIterable {
    case mean, cls, max, last
}

public enum ONNXImporter {
    /// Op types (ai.onnx domain) the translator handles.
    public static let supportedOps: Set<String> = [
        "Add", "Sub", "Mul", "Div", "Pow", "Sqrt", "Erf", "MatMul", "Gemm", "Gather", "Reshape", "Transpose",
        "Softmax", "LayerNormalization", "ReduceMean", "ReduceSum", "Cast", "Unsqueeze", "Squeeze", "Shape",
        "Concat", "Slice", "Where", "Equal", "Not", "Constant", "ConstantOfShape", "Expand", "Identity",
        "Dropout", "Clip", "Range", "Tanh", "Neg", "IsNaN", "And", "GreaterOrEqual", "Max", "GatherND", "DequantizeLinear",
    ]

    /// Every node whose op Ingot does not import, grouped by op type: "Foo ×3 (n1, n2, n3)".
    public static func unsupportedOps(_ model: ONNXModel) -> [String] {
        var byType: [String: [String]] = [:]
        var order: [String] = []
        for n in model.nodes where !(n.domain.isEmpty && supportedOps.contains(n.opType)) {
            let key = n.domain.isEmpty ? n.opType : n.domain + "." + n.opType
            if byType[key] == nil { order.append(key) }
            byType[key, default: []].append(n.name)
        }
        return order.map { key in
            let names = byType[key]!
            return "\(key) ×\(names.count) (\(names.joined(separator: ", ")))"
        }
    }

    /// Imports `path`; `tokenizer` is a vocab.txt, a tokenizer.json or a Hugging Face /
    /// sentence-transformers folder (whose modules.json, when present, sets pooling and
    /// normalisation: then `pooling` and `normalize` must be left unset).
    public static func importModel(path: String, tokenizer tokenizerPath: String?,
                                   pooling: ONNXPooling? = nil, normalize: Bool? = nil) throws -> ImportedModel {
        // Every error names the file (shape folding and graph checks know no file of their own).
        do {
            return try importChecked(path: path, tokenizer: tokenizerPath, pooling: pooling, normalize: normalize)
        } catch let e as IngotError {
            throw e.inFile(path)
        } catch let failure as VerificationFailure {
            throw failure.asIngotError(file: path)
        }
    }

    static func importChecked(path: String, tokenizer tokenizerPath: String?,
                              pooling: ONNXPooling?, normalize: Bool?) throws -> ImportedModel {
        let model = try ONNXModel(path: path)
        let unsupported = unsupportedOps(model)
        guard unsupported.isEmpty else {
            throw IngotError(.unsupported, file: path, location: "graph.node",
                             "\(unsupported.count) unsupported op type\(unsupported.count == 1 ? "" : "s"): \(unsupported.joined(separator: "; ")); expected only \(supportedOps.sorted().joined(separator: ", "))")
        }
        let opset = model.opsets[""] ?? 0
        guard (11...23).contains(opset) else {
            throw IngotError(.unsupported, file: path, location: "opset_import", "ai.onnx opset \(opset), expected 11…23")
        }

        var translator = try ONNXTranslator(model: model)
        try translator.run()
        var g = translator.graph
        guard let hidden = translator.lastHidden else {
            throw IngotError(.unsupported, file: path, location: "graph.output",
                             "no float [batch, seq, hidden] output (outputs: \(model.outputs.map(\.name))); expected an encoder's last hidden state")
        }
        let width = g.type(of: hidden).shape.dims.last?.fixedValue ?? 0

        // Tokenizer and pooling.
        var spec: TokenizerSpec? = nil
        var pipeline: SentenceTransformersPipeline? = nil
        var files = [path]
        if let tokenizerPath {
            let loaded = try ONNXTokenizer.load(tokenizerPath, hidden: width, maxPositions: translator.maxPositions)
            spec = loaded.spec
            files += loaded.files
            if let p = loaded.pipeline {
                guard pooling == nil, normalize == nil else {
                    throw IngotError(.invalidArgument, file: tokenizerPath, location: "--pooling/--normalize",
                                     "given with a sentence-transformers folder whose modules.json already sets pooling and normalisation; expected one or the other")
                }
                pipeline = p
                files += p.files
            }
        }
        if pipeline == nil {
            let mode: SentenceTransformersPipeline.Pooling
            switch pooling ?? .mean {
            case .mean: mode = .mean
            case .cls: mode = .cls
            case .max: mode = .max
            case .last: mode = .lastToken
            }
            pipeline = SentenceTransformersPipeline(pooling: mode, steps: normalize == true ? [.normalize] : [], files: [])
        }
        if let spec, let rows = translator.vocabularyRows {
            try checkVocabularyFits(spec.tokens.count, field: nil, file: tokenizerPath ?? path, table: "word embeddings", rows: rows, hidden: width)
        }
        if let embedding = try pipeline?.append(to: &g, tokens: hidden, mask: translator.maskInput) {
            g.markOutput(embedding)
        }
        try g.verify()
        let summary = pipeline?.summary ?? (pooling: "none", dense: "none", normalize: false)
        var hp: [(String, String)] = [("source_format", "onnx"), ("onnx_producer", model.producer.isEmpty ? "unknown" : model.producer),
                                      ("onnx_opset", "\(opset)"), ("hidden_size", "\(width)")]
        if let rows = translator.vocabularyRows { hp.append(("vocab_size", "\(rows)")) }
        if let limit = translator.fixedLimits { hp.append(("fixed_shape", limit)) }
        hp += [("int8_weights", "\(translator.int8Weights)"), ("pooling", summary.pooling),
               ("dense", summary.dense), ("normalize", "\(summary.normalize)")]
        return ImportedModel(architecture: "bert", graph: g, tokenizer: spec, hyperParameters: hp, sourceFiles: files)
    }
}
