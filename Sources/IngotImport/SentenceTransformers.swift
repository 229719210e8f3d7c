// SentenceTransformers: reads a sentence-transformers pipeline from its own files —
// modules.json, the Pooling folder's config.json, each Dense folder's config.json and
// weights (model.safetensors or pytorch_model.bin, `linear.weight` [out, in], `linear.bias`
// [out]) and Normalize — and appends it to an encoder graph after the token states:
// pool (mean, CLS, max, last token) → Dense layers (matmul + bias + activation) → l2_normalize,
// each only when listed. It refuses, naming the value seen and what is supported: module types
// other than Transformer / Pooling / Dense / Normalize, pooling modes it does not compute
// (mean_sqrt_len, weightedmean, several at once), include_prompt false, Dense activations other
// than Identity and Tanh, and any setting key it does not know. It does not run tokenizers.

import IngotCore
import IngotCheckpoint
import IngotIR

struct SentenceTransformersPipeline {
    enum Pooling: String {
        case mean, cls, max, lastToken = "last_token"
    }

    enum DenseActivation: String {
        case identity, tanh

        /// The names sentence-transformers stores in a Dense config's activation_function.
        static let byTorchName: [(String, DenseActivation)] = [
            ("torch.nn.modules.linear.Identity", .identity), ("torch.nn.modules.activation.Tanh", .tanh),
        ]
    }

    struct Dense {
        var folder: String
        var inFeatures: Int
        var outFeatures: Int
        var bias: Bool
        var activation: DenseActivation
        var tensors: CheckpointTensors
    }

    enum Step {
        case dense(Dense)
        case normalize
    }

    /// nil when modules.json lists no Pooling module (then the graph has token states only).
    var pooling: Pooling?
    /// Dense and Normalize modules after pooling, in the order modules.json lists them.
    var steps: [Step]
    /// Configuration and weight files read.
    var files: [String]

    static let modulePrefix = "sentence_transformers.models."
    static let moduleTypes = ["Transformer", "Pooling", "Dense", "Normalize"]

    /// Reads the pipeline of the model folder `directory`; nil when it has no modules.json.
    /// `hidden` is the encoder's width (the Pooling module's word_embedding_dimension).
    static func read(directory: String, hidden: Int) throws -> SentenceTransformersPipeline? {
        let modulesPath = directory + "/modules.json"
        guard fileExists(modulesPath) else { return nil }
        let file = try MappedFile(path: modulesPath)
        guard let modules = try JSONValue.parse(file.bytes, file: modulesPath).array else {
            throw IngotError(.format, file: modulesPath, "the top level is not a JSON array")
        }
        var pipeline = SentenceTransformersPipeline(pooling: nil, steps: [], files: [modulesPath])
        var width = hidden
        for (i, m) in modules.enumerated() {
            let type = m["type"]?.string ?? ""
            let location = "[\(i)].type"
            let short = type.hasPrefix(modulePrefix) ? String(type.dropFirst(modulePrefix.count)) : ""
            func misplaced(_ expected: String) -> IngotError {
                IngotError(.unsupported, file: modulesPath, location: location, "value \"\(type)\" at position \(i), expected \(expected)")
            }
            func folder() throws -> String {
                guard let sub = m["path"]?.string, !sub.isEmpty, !sub.contains(".."), !sub.hasPrefix("/") else {
                    throw IngotError(.format, file: modulesPath, location: "[\(i)].path",
                                     "value \(m["path"]?.serialized(pretty: false) ?? "missing"), expected a folder inside the model folder")
                }
                return sub
            }
            switch short {
            case "Transformer":
                guard i == 0 else { throw misplaced("the Transformer module first and only there") }
            case "Pooling":
                guard i == 1 else { throw misplaced("the Pooling module right after the Transformer") }
                let sub = try folder()
                pipeline.pooling = try readPooling(path: directory + "/" + sub + "/config.json", hidden: hidden)
                pipeline.files.append(directory + "/" + sub + "/config.json")
            case "Dense":
                guard pipeline.pooling != nil else { throw misplaced("a Dense module after the Pooling module") }
                let sub = try folder()
                let dense = try readDense(directory: directory + "/" + sub, folder: sub, width: width)
                width = dense.outFeatures
                pipeline.steps.append(.dense(dense))
                pipeline.files += [directory + "/" + sub + "/config.json"] + dense.tensors.sourceFiles
            case "Normalize":
                guard pipeline.pooling != nil else { throw misplaced("a Normalize module after the Pooling module") }
                pipeline.steps.append(.normalize)
            default:
                throw IngotError(.unsupported, file: modulesPath, location: location,
                                 "value \"\(type)\", expected one of \(moduleTypes.map { "\"\(modulePrefix)\($0)\"" }.joined(separator: ", "))")
            }
        }
        if modules.first.flatMap({ $0["type"]?.string }) != modulePrefix + "Transformer" {
            throw IngotError(.unsupported, file: modulesPath, location: "[0].type",
                             "value \(modules.first?["type"]?.serialized(pretty: false) ?? "missing"), expected \"\(modulePrefix)Transformer\"")
        }
        return pipeline
    }

    static let poolingKeys = ["word_embedding_dimension", "pooling_mode_cls_token", "pooling_mode_mean_tokens",
                              "pooling_mode_max_tokens", "pooling_mode_mean_sqrt_len_tokens",
                              "pooling_mode_weightedmean_tokens", "pooling_mode_lasttoken", "include_prompt"]
    static let supportedPooling: [(String, Pooling)] = [
        ("pooling_mode_mean_tokens", .mean), ("pooling_mode_cls_token", .cls),
        ("pooling_mode_max_tokens", .max), ("pooling_mode_lasttoken", .lastToken),
    ]

    static func readPooling(path: String, hidden: Int) throws -> Pooling {
        var cfg = try ConfigFile(path: path)
        try refuseUnknownKeys(cfg, known: poolingKeys)
        let dimension = cfg.int("word_embedding_dimension")
        try cfg.finish()
        guard dimension == hidden else {
            throw IngotError(.format, file: path, location: "word_embedding_dimension",
                             "value \(dimension), expected the encoder's hidden_size \(hidden)")
        }
        var enabled: [String] = []
        for key in poolingKeys where key.hasPrefix("pooling_mode_") {
            if try strictBool(cfg, key, default: false) { enabled.append(key) }
        }
        let supported = supportedPooling.map(\.0).joined(separator: ", ")
        guard enabled.count == 1, let mode = supportedPooling.first(where: { $0.0 == enabled[0] })?.1 else {
            throw IngotError(.unsupported, file: path,
                             "pooling modes set to true: \(enabled.isEmpty ? "none" : enabled.joined(separator: ", ")); Ingot computes exactly one of \(supported)")
        }
        guard try strictBool(cfg, "include_prompt", default: true) else {
            throw IngotError(.unsupported, file: path, location: "include_prompt",
                             "value false, expected true (Ingot pools over the prompt's tokens too)")
        }
        return mode
    }

    static let denseKeys = ["in_features", "out_features", "bias", "activation_function"]

    /// A Dense folder's config.json: (in, out, bias, activation); `width` is the width before it.
    static func readDenseConfig(path: String, width: Int) throws -> (inFeatures: Int, outFeatures: Int, bias: Bool, activation: DenseActivation) {
        var cfg = try ConfigFile(path: path)
        try refuseUnknownKeys(cfg, known: denseKeys)
        let inFeatures = cfg.int("in_features")
        let outFeatures = cfg.int("out_features")
        let torchName = cfg.string("activation_function", default: "torch.nn.modules.activation.Tanh")
        try cfg.finish()
        let bias = try strictBool(cfg, "bias", default: true)
        guard inFeatures == width else {
            throw IngotError(.format, file: path, location: "in_features",
                             "value \(inFeatures), expected \(width), the width of the module before it")
        }
        guard let activation = DenseActivation.byTorchName.first(where: { $0.0 == torchName })?.1 else {
            throw IngotError(.unsupported, file: path, location: "activation_function",
                             "value \"\(torchName)\", expected one of \(DenseActivation.byTorchName.map { "\"\($0.0)\"" }.joined(separator: ", "))")
        }
        return (inFeatures, outFeatures, bias, activation)
    }

    static func readDense(directory: String, folder: String, width: Int) throws -> Dense {
        let c = try readDenseConfig(path: directory + "/config.json", width: width)
        let tensors = try checkpointTensors(path: directory, directory: directory)
        return Dense(folder: folder, inFeatures: c.inFeatures, outFeatures: c.outFeatures, bias: c.bias,
                     activation: c.activation, tensors: tensors)
    }

    /// Appends the pipeline after `tokens` [batch, seq, hidden] with `mask` [batch, seq]; the
    /// result [batch, width] is named "embedding". Returns nil when there is no pooling.
    func append(to g: inout Graph, tokens: ValueID, mask: ValueID) throws -> ValueID? {
        guard let pooling else { return nil }
        var e: ValueID
        switch pooling {
        case .mean: e = try g.add(.meanPool, [tokens, mask], name: "pooled")
        case .cls: e = try g.add(.pool(.cls), [tokens, mask], name: "pooled")
        case .max: e = try g.add(.pool(.max), [tokens, mask], name: "pooled")
        case .lastToken: e = try g.add(.pool(.lastToken), [tokens, mask], name: "pooled")
        }
        for (i, step) in steps.enumerated() {
            switch step {
            case .dense(let d):
                var w = WeightBinder(PrefixedTensors(prefix: d.folder + ".", d.tensors), architecture: "sentence-transformers Dense")
                let weight = w.weight(&g, d.folder + ".linear.weight", [d.outFeatures, d.inFeatures])
                let bias = d.bias ? w.weight(&g, d.folder + ".linear.bias", [d.outFeatures]) : nil
                try w.finish()
                try refuseUnusedTensors(w)
                e = try g.add(.matmul(transposeB: true), [e, weight], name: "\(d.folder).matmul")
                if let bias { e = try g.add(.binary(.add), [e, bias], name: "\(d.folder).biased") }
                switch d.activation {
                case .identity: break
                case .tanh: e = try g.add(.tanh, [e], name: "\(d.folder).tanh")
                }
            case .normalize:
                e = try g.add(.l2Normalize(axis: -1, epsilon: 1e-12), [e], name: "normalized\(i)")
            }
        }
        g.values[e.index].name = "embedding"
        return e
    }

    /// For the artifact's metadata: "mean", "cls → dense 8→4 tanh → normalize", …
    var summary: (pooling: String, dense: String, normalize: Bool) {
        var dense: [String] = []
        var normalize = false
        for step in steps {
            switch step {
            case .dense(let d): dense.append("\(d.inFeatures)→\(d.outFeatures)\(d.bias ? "+bias" : "") \(d.activation.rawValue)")
            case .normalize: normalize = true
            }
        }
        return (pooling?.rawValue ?? "none", dense.isEmpty ? "none" : dense.joined(separator: ", "), normalize)
    }

    static func refuseUnknownKeys(_ cfg: ConfigFile, known: [String]) throws {
        let unknown = cfg.root.map(\.0).filter { !known.contains($0) }
        guard unknown.isEmpty else {
            throw IngotError(.unsupported, file: cfg.path, location: unknown[0],
                             "setting\(unknown.count == 1 ? "" : "s") \(unknown.joined(separator: ", ")) not understood; expected only \(known.joined(separator: ", "))")
        }
    }

    static func strictBool(_ cfg: ConfigFile, _ key: String, default fallback: Bool) throws -> Bool {
        guard let v = cfg.raw(key) else { return fallback }
        guard let b = v.bool else {
            throw IngotError(.format, file: cfg.path, location: key, "value \(v.serialized(pretty: false)), expected true or false")
        }
        return b
    }
}

/// Throws, naming them, when the checkpoint holds tensors the importer did not bind (a
/// classifier head, an extra projection), which would otherwise be dropped silently.
/// `ignorable` names tensors known to be unused by the computation (e.g. BERT's pooler).
func refuseUnusedTensors(_ w: WeightBinder, ignorable: (String) -> Bool = { _ in false }) throws {
    let unused = w.tensors.tensorNames.filter { !w.used.contains($0) && !ignorable($0) }.sorted()
    guard unused.isEmpty else {
        let shown = unused.prefix(8).joined(separator: ", ") + (unused.count > 8 ? ", … (\(unused.count) in all)" : "")
        throw IngotError(.unsupported, file: w.tensors.sourceFiles.first,
                         "\(unused.count) tensor\(unused.count == 1 ? "" : "s") a \(w.architecture) import does not use: \(shown); Ingot imports no classifier or other head besides the sentence-transformers pipeline")
    }
}

/// A checkpoint's tensors under names with a prefix, so two Dense folders' `linear.weight`
/// become distinct graph constants.
final class PrefixedTensors: CheckpointTensors {
    let prefix: String
    let base: CheckpointTensors

    init(prefix: String, _ base: CheckpointTensors) {
        self.prefix = prefix
        self.base = base
    }

    var sourceFiles: [String] { base.sourceFiles }
    var tensorNames: [String] { base.tensorNames.map { prefix + $0 } }

    func tensorInfo(_ name: String) -> (shape: [Int], storedType: String)? {
        guard name.hasPrefix(prefix) else { return nil }
        return base.tensorInfo(String(name.dropFirst(prefix.count)))
    }

    func float32Source(_ name: String) -> ConstantSource {
        base.float32Source(name.hasPrefix(prefix) ? String(name.dropFirst(prefix.count)) : name)
    }
}
