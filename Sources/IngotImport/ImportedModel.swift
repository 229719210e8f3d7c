// ImportedModel: what every importer returns — the graph with lazily loaded weights, the
// tokenizer carried into the artifact, and the facts worth recording as metadata.
// ModelImporter picks the importer from what is at the path; it does no conversion itself.

import IngotCore
import IngotCheckpoint
import IngotIR

public struct ImportedModel {
    /// An encoder family of EncoderArchitecture ("bert", "mpnet", "nomic-bert", …), or a decoder
    /// family of DecoderArchitecture ("llama", "qwen2", "gemma3"; a bidirectional gemma3_text
    /// folder such as EmbeddingGemma is "gemma3" with `isEncoder`).
    public var architecture: String
    public var graph: Graph
    public var tokenizer: TokenizerSpec?
    /// Hyper-parameters as (key, value) in a fixed order, e.g. ("hidden_size", "384").
    public var hyperParameters: [(String, String)]
    /// Checkpoint files the weights and configuration came from.
    public var sourceFiles: [String]

    /// A sentence encoder (BERT, EmbeddingGemma: the graph takes an attention mask), not a
    /// language model.
    public var isEncoder: Bool { graph.inputs.contains { graph[$0].name == "attention_mask" } }
}

public enum ModelImporter {
    /// Imports a checkpoint: a `.onnx` encoder (without a tokenizer), a `.gguf` file, or a Hugging Face folder (config.json +
    /// safetensors, or pytorch_model.bin when there is no safetensors), or a `.safetensors` or
    /// `.bin` file whose folder holds config.json. `attention`
    /// chooses how BERT writes self-attention; other architectures take `.fused` only.
    /// `blockWeights` says whether a GGUF's block-quantized weights stay as stored (BlockWeights.swift).
    public static func importModel(at path: String, attention: AttentionForm = .fused,
                                   blockWeights: BlockWeightChoice = .float32) throws -> ImportedModel {
        func fusedOnly(_ architecture: String) throws {
            guard attention == .fused else {
                throw IngotError(.unsupported, file: path, location: "attention form",
                                 "value decomposed for a \(architecture) checkpoint, expected fused (decomposed attention is written for BERT only)")
            }
        }
        if path.hasSuffix(".onnx") {
            try fusedOnly("ONNX")
            // No tokenizer: `ingot build --tokenizer` passes one to ONNXImporter directly.
            return try ONNXImporter.importModel(path: path, tokenizer: nil)
        }
        if path.hasSuffix(".gguf") {
            try fusedOnly("decoder")
            let file = try GGUFFile(path: path)
            if EncoderImporter.isEncoderGGUF(file) { return try EncoderImporter.importGGUF(file) }
            var model = try DecoderImporter.importGGUF(file)
            if blockWeights == .native { try BlockWeights.keepNative(&model.graph, file: file) }
            return model
        }
        let directory: String
        if path.hasSuffix(".safetensors") || path.hasSuffix(".json") || PyTorchCheckpoint.isCheckpointFile(path) {
            directory = parentDirectory(of: path)
        } else {
            directory = path
        }
        let configPath = directory + "/config.json"
        guard ConfigFile.exists(configPath) else {
            throw IngotError(.invalidArgument, file: path,
                             "no config.json beside the weights; expected a .gguf file or a Hugging Face model folder (config.json + model.safetensors or pytorch_model.bin)")
        }
        var config = try ConfigFile(path: configPath)
        let modelType = config.string("model_type", default: "")
        let tensors = try checkpointTensors(path: path, directory: directory)
        if let arch = EncoderArchitecture.huggingFace.first(where: { $0.name == modelType }) {
            return try EncoderImporter.importModel(directory: directory, config: config, tensors: tensors, architecture: arch,
                                                   attention: attention)
        }
        guard let arch = DecoderArchitecture.huggingFace(modelType: modelType) else {
            let known = EncoderArchitecture.huggingFace.map(\.name) + DecoderArchitecture.all.flatMap(\.huggingFaceModelTypes)
            throw IngotError(.unsupported, file: configPath, location: "model_type",
                             "value \"\(modelType)\", expected one of \(known.map { "\"\($0)\"" }.joined(separator: ", "))")
        }
        try fusedOnly(modelType)
        return try HuggingFaceDecoder.importFolder(directory: directory, config: config, architecture: arch, tensors: tensors)
    }
}

/// The weights of a Hugging Face checkpoint: the named `.safetensors` or `.bin` file, else the
/// folder's safetensors (single or sharded), else its `pytorch_model.bin`.
public func checkpointTensors(path: String, directory: String) throws -> CheckpointTensors {
    if PyTorchCheckpoint.isCheckpointFile(path) { return PyTorchTensors(try PyTorchCheckpoint(path: path)) }
    if path.hasSuffix(".safetensors") { return SafetensorsTensors(try SafetensorsCheckpoint(path: path)) }
    if !fileExists(directory + "/model.safetensors"), !fileExists(directory + "/model.safetensors.index.json"),
       fileExists(directory + "/pytorch_model.bin") {
        return PyTorchTensors(try PyTorchCheckpoint(path: directory))
    }
    do {
        return SafetensorsTensors(try SafetensorsCheckpoint(path: directory))
    } catch let e as IngotError where e.kind == .io && e.file == directory {
        throw IngotError(.io, file: directory, "no model.safetensors, model.safetensors.index.json or pytorch_model.bin here")
    }
}

func parentDirectory(of path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "." }
    let dir = String(path[..<slash])
    return dir.isEmpty ? "/" : dir
}

/// Refuses a vocabulary with more tokens than the embedding table has rows (`rows` is the
/// table's once the weights are bound). Fewer tokens than rows is padding and is fine.
func checkVocabularyFits(_ tokens: Int, field: String?, file: String, table: String, rows: Int, hidden: Int) throws {
    guard tokens <= rows else {
        throw IngotError(.format, file: file, location: field,
                         "\(tokens) tokens, expected at most the \(rows) rows of the embedding table \(table) [\(rows), \(hidden)] (a token id past the table has no embedding)")
    }
}

func fileExists(_ path: String) -> Bool { ConfigFile.exists(path) }

/// The `model_type` of a Hugging Face folder's config.json.
public func readModelType(directory: String) throws -> String {
    var config = try ConfigFile(path: directory + "/config.json")
    let t = config.string("model_type")
    try config.finish()
    return t
}
