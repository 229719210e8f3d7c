// LlamaImporter: LLaMA decoders from a Hugging Face folder (config.json + safetensors). The
// graph itself is DecoderImporter's, which also imports GGUF decoders of every supported family
// directly (their tokenizers: GGUFTokenizer). It does not handle rope scaling or biases in
// Hugging Face folders.

import IngotCore
import IngotCheckpoint
import IngotIR

public enum LlamaImporter {
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
