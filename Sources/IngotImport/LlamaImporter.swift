// LlamaImporter: the byte-level BPE vocabulary of GGUF decoders (tokenizer.ggml.*), and LLaMA
// decoders from a Hugging Face folder (config.json + safetensors). The graph itself is
// DecoderImporter's (GGUF decoders of every supported family go there directly). It does not
// handle rope scaling or biases in Hugging Face folders.

import IngotCore
import IngotCheckpoint
import IngotIR

public enum LlamaImporter {
    /// Byte-level BPE from tokenizer.ggml.* metadata; nil when the file carries no tokenizer.
    static func bpeTokenizer(_ file: GGUFFile, contextLength: Int) throws -> TokenizerSpec? {
        guard let model = file["tokenizer.ggml.model"]?.string else { return nil }
        guard model == "gpt2" else {
            throw IngotError(.unsupported, file: file.path, location: "tokenizer.ggml.model",
                             "value \"\(model)\", expected \"gpt2\" (byte-level BPE)")
        }
        guard let tokens = file["tokenizer.ggml.tokens"]?.stringArray else {
            throw IngotError(.format, file: file.path, location: "tokenizer.ggml.tokens", "missing, expected an array of strings")
        }
        guard let merges = file["tokenizer.ggml.merges"]?.stringArray else {
            throw IngotError(.format, file: file.path, location: "tokenizer.ggml.merges", "missing, expected an array of strings")
        }
        let types = file["tokenizer.ggml.token_type"]?.intArray ?? []
        guard types.isEmpty || types.count == tokens.count else {
            throw IngotError(.format, file: file.path, location: "tokenizer.ggml.token_type",
                             "\(types.count) entries, expected one per token (\(tokens.count))")
        }
        var special: [String: Int32] = [:]
        for (key, name) in [("tokenizer.ggml.bos_token_id", "bos"), ("tokenizer.ggml.eos_token_id", "eos"),
                            ("tokenizer.ggml.unknown_token_id", "unk"), ("tokenizer.ggml.padding_token_id", "pad")] {
            guard let id = file[key]?.int else { continue }
            guard id >= 0, id < tokens.count else {
                throw IngotError.badField(file: file.path, key, seen: String(id), expected: "a token id in 0..<\(tokens.count)")
            }
            special[name] = Int32(id)
        }
        return TokenizerSpec(
            kind: .byteLevelBPE, tokens: tokens, merges: merges, tokenTypes: types.map { Int32(truncatingIfNeeded: $0) },
            preTokenizer: file["tokenizer.ggml.pre"]?.string ?? "gpt2",
            lowercase: false, stripAccents: false, splitCJK: false,
            continuingSubwordPrefix: "", maxInputCharsPerWord: 0, maxLength: contextLength,
            specialTokens: special,
            addBOS: file["tokenizer.ggml.add_bos_token"]?.bool ?? false,
            addEOS: file["tokenizer.ggml.add_eos_token"]?.bool ?? false,
            chatTemplate: file["tokenizer.chat_template"]?.string)
    }

    // MARK: Hugging Face

    static func importSafetensors(directory: String, config: ConfigFile, tensors: CheckpointTensors) throws -> ImportedModel {
        var config = config
        var hp = DecoderHyperParameters(
            hidden: config.int("hidden_size"), layers: config.int("num_hidden_layers", range: 1...1024),
            heads: config.int("num_attention_heads"), kvHeads: 1, headDim: 1, intermediate: config.int("intermediate_size"),
            vocab: config.int("vocab_size"), contextLength: config.int("max_position_embeddings"),
            ropeTheta: Float(config.double("rope_theta", default: 10000)),
            rmsEps: Float(config.double("rms_norm_eps", default: 1e-6, range: 0...1)), slidingWindow: 0)
        hp.kvHeads = config.raw("num_key_value_heads") == nil ? hp.heads : config.int("num_key_value_heads", range: 1...max(hp.heads, 1))
        hp.headDim = hp.hidden / max(hp.heads, 1)
        guard hp.hidden % max(hp.heads, 1) == 0 else {
            throw IngotError(.format, file: config.path, location: "hidden_size",
                             "value \(hp.hidden), expected a multiple of num_attention_heads \(hp.heads)")
        }
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
        _ = config.bool("tie_word_embeddings", default: false)
        let model = try DecoderImporter.buildGraph(.llama, hp, tensors: tensors, names: .huggingFace, ropeStyle: .halfRotation,
                                                   path: directory)
        return ImportedModel(architecture: "llama", graph: model.graph, tokenizer: nil,
                             hyperParameters: DecoderImporter.describe(hp) + [("tied_embeddings", "\(model.tied)"), ("rope_style", "half")],
                             sourceFiles: tensors.sourceFiles + [config.path])
    }
}
