// HuggingFaceDecoder: a Hugging Face folder of a decoder family (config.json `model_type`
// llama, qwen2 or gemma3_text + safetensors) → DecoderImporter's graph, with the tokenizer the
// folder carries (HuggingFaceTokenizer) and, for a bidirectional model (EmbeddingGemma:
// `use_bidirectional_attention`), its sentence-transformers pipeline. The family's facts come
// from DecoderArchitecture; this file only reads config.json into sizes, refusing, by field,
// what the graph does not compute (rope scaling, soft-capping, Qwen2's sliding window, biases
// LLaMA folders would need, an activation other than the family's). It does not read the
// multimodal `gemma3` config (text_config nested) or any other model_type.

import IngotCore
import IngotCheckpoint
import IngotIR

public enum HuggingFaceDecoder {
    /// What `ingot inspect FOLDER` says about a decoder-family folder (nil for other model
    /// types): the family's facts, the sizes config.json gives, the tokenizer found, and every
    /// problem that keeps it from importing. Reads config.json and the tokenizer files only.
    public static func support(directory: String) -> DecoderSupport? {
        guard let config = try? ConfigFile(path: directory + "/config.json"), let modelType = config.raw("model_type")?.string,
              let arch = DecoderArchitecture.huggingFace(modelType: modelType) else { return nil }
        var facts = arch.facts, problems: [String] = []
        func note(_ error: Error) { problems.append((error as? IngotError)?.description ?? "\(error)") }
        do {
            let hp = try hyperParameters(config, arch)
            facts += DecoderImporter.describe(hp)
            let tokenizer = try HuggingFaceTokenizer.spec(directory: directory, contextLength: hp.contextLength,
                                                          architecture: hp.bidirectional ? nil : arch.name)
            let origin = fileExists(directory + "/tokenizer.model") ? "tokenizer.model" : "tokenizer.json"
            facts.append(("tokenizer", tokenizer.map { "\($0.kind) from \(origin), \($0.tokens.count) tokens" } ?? "none (the artifact gets no tokenizer)"))
            if let tokenizer {
                facts.append(("chat_template", tokenizer.chatTemplateBuiltIn.map { "none in the folder; built-in \($0) template" }
                              ?? (tokenizer.chatTemplate == nil ? "none" : "the folder's own")))
            }
        } catch {
            note(error)
        }
        return DecoderSupport(architecture: modelType, facts: facts, problems: problems)
    }

    static func importFolder(directory: String, config: ConfigFile, architecture arch: DecoderArchitecture,
                             tensors: CheckpointTensors) throws -> ImportedModel {
        let hp = try hyperParameters(config, arch)
        let prefixed = tensors.tensorInfo("embed_tokens.weight") == nil
        let pipeline = hp.bidirectional ? try SentenceTransformersPipeline.read(directory: directory, hidden: hp.hidden) : nil
        let model = try DecoderImporter.buildGraph(arch, hp, tensors: tensors, names: .huggingFace(sandwichNorms: arch.sandwichNorms, prefixed: prefixed),
                                                   ropeStyle: .halfRotation, normWeight: arch.huggingFaceNormWeight,
                                                   pipeline: pipeline, path: directory)
        let tokenizer = try HuggingFaceTokenizer.spec(directory: directory, contextLength: hp.contextLength,
                                                      architecture: hp.bidirectional ? nil : arch.name)
        if let tokenizer {
            try checkVocabularyFits(tokenizer.tokens.count, field: nil,
                                    file: directory + (fileExists(directory + "/tokenizer.model") ? "/tokenizer.model" : "/tokenizer.json"),
                                    table: (prefixed ? "model." : "") + "embed_tokens.weight", rows: hp.vocab, hidden: hp.hidden)
        }
        var facts = DecoderImporter.describe(hp) + [("rope_style", "half")]
        if hp.bidirectional {
            let summary = pipeline?.summary ?? (pooling: "none", dense: "none", normalize: false)
            facts += [("pooling", summary.pooling), ("dense", summary.dense), ("normalize", "\(summary.normalize)")]
        } else {
            facts.append(("tied_embeddings", "\(model.tied)"))
        }
        return ImportedModel(architecture: arch.name, graph: model.graph, tokenizer: tokenizer, hyperParameters: facts,
                             sourceFiles: tensors.sourceFiles + [config.path] + (pipeline?.files ?? []))
    }

    /// The sizes and features config.json gives, refusing by field what the graph does not compute.
    static func hyperParameters(_ config: ConfigFile, _ arch: DecoderArchitecture) throws -> DecoderHyperParameters {
        var config = config
        var unsupported: [String] = []
        var hp = DecoderHyperParameters(
            hidden: config.int("hidden_size"), layers: config.int("num_hidden_layers", range: 1...1024),
            heads: config.int("num_attention_heads"), kvHeads: 1, headDim: 1, intermediate: config.int("intermediate_size"),
            vocab: config.int("vocab_size"), contextLength: config.int("max_position_embeddings"),
            ropeTheta: Float(config.double("rope_theta", default: 10000, range: 1...1e12)),
            rmsEps: Float(config.double("rms_norm_eps", default: 1e-6, range: 1e-12...0.5)), slidingWindow: 0)
        hp.kvHeads = present(config, "num_key_value_heads") ? config.int("num_key_value_heads", range: 1...max(hp.heads, 1)) : hp.heads
        if present(config, "head_dim") {
            hp.headDim = config.int("head_dim")
        } else {
            hp.headDim = hp.hidden / max(hp.heads, 1)
            if hp.hidden % max(hp.heads, 1) != 0 {
                throw IngotError(.format, file: config.path, location: "hidden_size",
                                 "value \(hp.hidden), expected a multiple of num_attention_heads \(hp.heads) (no head_dim given)")
            }
        }
        // The family's activation under the names transformers gives it.
        let activationNames: [String]
        switch arch.activation {
        case .silu: activationNames = ["silu", "swish"]
        case .geluTanh: activationNames = ["gelu_pytorch_tanh"]
        }
        for key in ["hidden_act", "hidden_activation"] where present(config, key) {
            let seen = config.string(key)
            if !activationNames.contains(seen) {
                unsupported.append("\(key): value \"\(seen)\", expected \(activationNames.map { "\"\($0)\"" }.joined(separator: " or ")) (the \(arch.displayName) feed-forward)")
            }
        }
        for key in ["rope_scaling", "attn_logit_softcapping", "final_logit_softcapping"] where present(config, key) {
            unsupported.append("\(key): value \(config.raw(key)!.serialized(pretty: false)), expected null (not supported)")
        }
        if config.bool("attention_bias", default: arch.qkvBias) != arch.qkvBias {
            unsupported.append("attention_bias: value \(!arch.qkvBias), expected \(arch.qkvBias) for \(arch.displayName)")
        }
        if config.bool("mlp_bias", default: false) { unsupported.append("mlp_bias: value true, expected false (FFN biases are not supported)") }
        if config.bool("use_sliding_window", default: false), arch.slidingPattern == 0 {
            unsupported.append("use_sliding_window: value true, expected false (\(arch.displayName) has no sliding-window layers in Ingot)")
        }
        if let key = arch.attentionScaleKey {
            let s = config.double(key, range: 1e-6...1e12)
            hp.attentionScale = Float(1 / s.squareRoot())
        }
        if arch.slidingPattern > 0 {
            hp.slidingWindow = config.int("sliding_window")
            if present(config, "rope_local_base_freq") {
                hp.slidingRopeTheta = Float(config.double("rope_local_base_freq", range: 1...1e12))
            }
            if let types = config.raw("layer_types"), types != .null {
                let kinds = types.array?.map { $0.string ?? "" } ?? []
                let known = ["sliding_attention", "full_attention"]
                if kinds.count != hp.layers || kinds.contains(where: { !known.contains($0) }) {
                    throw IngotError(.format, file: config.path, location: "layer_types",
                                     "value \(types.serialized(pretty: false)), expected \(hp.layers) entries, each \"sliding_attention\" or \"full_attention\"")
                }
                hp.slidingLayers = kinds.map { $0 == "sliding_attention" }
            } else if present(config, "sliding_window_pattern") {
                let pattern = config.int("sliding_window_pattern", range: 1...1024)
                hp.slidingLayers = (0..<hp.layers).map { ($0 + 1) % pattern != 0 }
            }
        }
        hp.bidirectional = config.bool("use_bidirectional_attention", default: false)
        hp.tiedHead = config.bool("tie_word_embeddings", default: arch.name == "gemma3")
        try config.finish()
        guard unsupported.isEmpty else { throw IngotError(.unsupported, file: config.path, unsupported.joined(separator: "; ")) }
        return hp
    }

    /// The key is there with a value other than null.
    static func present(_ config: ConfigFile, _ key: String) -> Bool {
        guard let v = config.raw(key) else { return false }
        return v != .null
    }
}
