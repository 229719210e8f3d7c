// Inspector: describes a checkpoint (GGUF, safetensors, PyTorch .bin or ONNX file, or folder) or a .ingot artifact
// as plain text for people and JSON for machines: tensors, dtypes, shapes, parameter counts,
// detected architecture, sections and checksums. It reads; it never converts.

import IngotArtifact
import IngotCheckpoint
import IngotCore
import IngotImport
import IngotIR

public struct TensorRow: Sendable {
    public var name: String
    public var type: String
    public var shape: [Int]
    /// Stored bytes (for artifacts: after compression).
    public var bytes: Int
    public var note: String = ""
}

public struct Inspection: Sendable {
    public var path: String
    /// "gguf", "safetensors", "pytorch-zip", "pytorch-legacy", "onnx" or "ingot".
    public var format: String
    public var architecture: String?
    public var fileBytes: Int
    public var facts: [(String, String)] = []
    public var tensors: [TensorRow] = []
    public var graph: Graph?

    public var parameterCount: Int {
        tensors.reduce(0) { $0 + (Shape.checkedProduct($1.shape) ?? 0) }
    }

    public func text(showGraph: Bool) -> String {
        var out = "\(path): \(format), \(formatCount(fileBytes)) bytes\n"
        out += "architecture: \(architecture ?? "unknown")\n"
        out += "parameters: \(formatCount(parameterCount)) in \(tensors.count) tensors\n"
        for (k, v) in facts { out += "\(k): \(v)\n" }
        if showGraph, let graph {
            out += "\n" + graph.text
            return out
        }
        let nameWidth = min(max(tensors.map(\.name.count).max() ?? 4, 4), 60)
        let typeWidth = max(tensors.map(\.type.count).max() ?? 4, 4)
        out += "\n" + pad("tensor", nameWidth) + "  " + pad("type", typeWidth) + "  shape\n"
        for t in tensors {
            out += pad(t.name, nameWidth) + "  " + pad(t.type, typeWidth) + "  " + Shape(fixed: t.shape).description
            if !t.note.isEmpty { out += "  " + t.note }
            out += "\n"
        }
        return out
    }

    public func json(showGraph: Bool) -> JSONValue {
        var fields: [(String, JSONValue)] = [
            ("path", .string(path)), ("format", .string(format)),
            ("architecture", architecture.map(JSONValue.string) ?? .null),
            ("file_bytes", .number(Double(fileBytes))), ("parameters", .number(Double(parameterCount))),
            ("facts", .object(facts.map { ($0.0, .string($0.1)) })),
            ("tensors", .array(tensors.map { t in
                .object([("name", .string(t.name)), ("type", .string(t.type)),
                         ("shape", .array(t.shape.map { .number(Double($0)) })), ("bytes", .number(Double(t.bytes)))])
            })),
        ]
        if showGraph, let graph { fields.append(("graph", .string(graph.text))) }
        return .object(fields)
    }
}

func pad(_ s: String, _ width: Int) -> String {
    s.count >= width ? s : s + String(repeating: " ", count: width - s.count)
}

/// 1234567 → "1,234,567"
public func formatCount(_ n: Int) -> String {
    let digits = String(n.magnitude)
    var out = ""
    for (i, c) in digits.enumerated() {
        if i > 0, (digits.count - i) % 3 == 0 { out.append(",") }
        out.append(c)
    }
    return (n < 0 ? "-" : "") + out
}

public enum Inspector {
    public static func inspect(_ path: String, verify: Bool = false) throws -> Inspection {
        if path.hasSuffix(".ingot") { return try inspectArtifact(path, verify: verify) }
        if path.hasSuffix(".gguf") { return try inspectGGUF(path) }
        if path.hasSuffix(".onnx") { return try inspectONNX(path) }
        if PyTorchCheckpoint.isCheckpointFile(path)
            || (!path.hasSuffix(".safetensors") && !fileExists(path + "/model.safetensors")
                && !fileExists(path + "/model.safetensors.index.json") && fileExists(path + "/pytorch_model.bin")) {
            return try inspectPyTorch(path)
        }
        return try inspectSafetensors(path)
    }

    static func inspectGGUF(_ path: String) throws -> Inspection {
        let file = try GGUFFile(path: path)
        var result = Inspection(path: path, format: "gguf", architecture: file["general.architecture"]?.string,
                                fileBytes: (try? MappedFile(path: path).count) ?? 0)
        result.facts.append(("gguf_version", "\(file.version)"))
        let prefix = (file["general.architecture"]?.string ?? "llama") + "."
        let sizeKeys = ["block_count", "embedding_length", "attention.head_count", "attention.head_count_kv",
                        "attention.key_length", "feed_forward_length", "context_length", "rope.freq_base",
                        "attention.layer_norm_rms_epsilon", "attention.sliding_window"].map { prefix + $0 }
        for key in ["general.name"] + sizeKeys + ["tokenizer.ggml.model", "tokenizer.ggml.pre"] {
            if let v = file[key] { result.facts.append((key, v.summary)) }
        }
        // What the encoder or decoder importer would do with it, from metadata alone.
        if EncoderImporter.isEncoderGGUF(file) {
            let support = EncoderImporter.support(file)
            result.facts += support.facts.map { ("encoder.\($0.0)", $0.1) }
            result.facts.append(("encoder_support", support.problems.isEmpty ? "supported" : "not supported: " + support.problems.joined(separator: "; ")))
        } else {
            let support = DecoderImporter.support(file)
            result.facts += support.facts.map { ("decoder.\($0.0)", $0.1) }
            result.facts.append(("decoder_support", support.supported ? "supported" : "not supported: " + support.problems.joined(separator: "; ")))
        }
        if let tokens = file["tokenizer.ggml.tokens"]?.stringArray { result.facts.append(("tokenizer.tokens", "\(tokens.count)")) }
        if let merges = file["tokenizer.ggml.merges"]?.stringArray { result.facts.append(("tokenizer.merges", "\(merges.count)")) }
        if file["tokenizer.ggml.model"] != nil {
            if let template = file["tokenizer.chat_template"]?.string {
                result.facts.append(("tokenizer.chat_template", "the model's own (\(template.utf8.count) bytes)"))
            } else if let family = GGUFTokenizer.builtInFamily(architecture: file["general.architecture"]?.string ?? "") {
                result.facts.append(("tokenizer.chat_template", "none in the file; built-in \(family.name) template"))
            } else {
                result.facts.append(("tokenizer.chat_template", "none"))
            }
        }
        result.facts.append(("metadata_keys", "\(file.metadata.count)"))
        result.tensors = file.tensors.map { TensorRow(name: $0.name, type: $0.type.name, shape: $0.shape, bytes: $0.byteCount) }
        return result
    }

    static func inspectPyTorch(_ path: String) throws -> Inspection {
        let checkpoint = try PyTorchCheckpoint(path: path)
        var result = Inspection(path: path, format: "pytorch-\(checkpoint.layout.rawValue)", architecture: nil, fileBytes: checkpoint.file.count)
        result.tensors = checkpoint.tensors.map { t in
            TensorRow(name: t.name, type: t.dtype.description, shape: t.shape, bytes: t.byteCount,
                      note: t.isContiguous ? "" : "strided \(t.strides)")
        }
        let names = checkpoint.tensorNames
        let dir = PyTorchCheckpoint.isCheckpointFile(path) ? parentDirectoryPath(path) : path
        if let config = try? IngotImport.readModelType(directory: dir) {
            result.architecture = config
        } else if names.contains(where: { $0.contains("encoder.layer.") }) {
            result.architecture = "bert"
        } else if names.contains(where: { $0.hasPrefix("model.layers.") }) {
            result.architecture = "llama"
        }
        addDecoderSupport(&result, directory: dir)
        return result
    }

    /// A decoder-family folder (llama, qwen2, gemma3_text): what the importer would do with it,
    /// from config.json and the tokenizer files alone.
    static func addDecoderSupport(_ result: inout Inspection, directory: String) {
        guard let support = HuggingFaceDecoder.support(directory: directory) else { return }
        result.facts += support.facts.map { ("decoder.\($0.0)", $0.1) }
        result.facts.append(("decoder_support", support.supported ? "supported" : "not supported: " + support.problems.joined(separator: "; ")))
    }

    private static func fileExists(_ path: String) -> Bool { (try? MappedFile(path: path)) != nil }

    /// An ONNX file: opset, producer, inputs and outputs with their dims (fixed ones are the
    /// limits an artifact built from it keeps), the op types and the ones Ingot does not import.
    static func inspectONNX(_ path: String) throws -> Inspection {
        let model = try ONNXModel(path: path)
        var result = Inspection(path: path, format: "onnx", architecture: nil, fileBytes: model.fileBytes)
        result.facts.append(("opset", model.opsets.sorted { $0.key < $1.key }.map { "\($0.key.isEmpty ? "ai.onnx" : $0.key) \($0.value)" }.joined(separator: ", ")))
        result.facts.append(("producer", model.producer.isEmpty ? "unknown" : model.producer))
        func describe(_ v: ONNXValueInfo) -> String { "\(v.name) \(v.dtype)[" + (v.dims ?? []).map(\.description).joined(separator: ", ") + "]" }
        result.facts.append(("inputs", model.inputs.map(describe).joined(separator: "; ")))
        result.facts.append(("outputs", model.outputs.map(describe).joined(separator: "; ")))
        let fixed = model.inputs.filter { ($0.dims ?? []).contains { if case .fixed = $0 { return true } else { return false } } }
        if !fixed.isEmpty {
            result.facts.append(("input_limits", fixed.map(describe).joined(separator: "; ") + " (fixed sizes: an artifact built from it runs only these)"))
        }
        var counts: [String: Int] = [:]
        for n in model.nodes { counts[n.opType, default: 0] += 1 }
        result.facts.append(("ops", counts.sorted { $0.key < $1.key }.map { "\($0.key) ×\($0.value)" }.joined(separator: ", ")))
        let unsupported = ONNXImporter.unsupportedOps(model)
        result.facts.append(("import_support", unsupported.isEmpty ? "every op type is imported" : "not imported: " + unsupported.joined(separator: "; ")))
        result.tensors = model.initializers.map { TensorRow(name: $0.name, type: $0.dtype.description, shape: $0.dims, bytes: $0.data.byteCount) }
        return result
    }

    static func inspectSafetensors(_ path: String) throws -> Inspection {
        let checkpoint = try SafetensorsCheckpoint(path: path)
        var result = Inspection(path: path, format: "safetensors", architecture: nil,
                                fileBytes: checkpoint.shardPaths.reduce(0) { $0 + ((try? MappedFile(path: $1).count) ?? 0) })
        let names = checkpoint.tensorNames
        result.tensors = names.compactMap { name in
            checkpoint.tensor(named: name).map {
                TensorRow(name: name, type: $0.dtype.description, shape: $0.shape, bytes: $0.byteCount)
            }
        }
        result.facts.append(("shards", "\(checkpoint.shardPaths.count)"))
        // Architecture: config.json's model_type when present, else the tensor naming scheme.
        let dir = path.hasSuffix(".safetensors") ? parentDirectoryPath(path) : path
        if let config = try? IngotImport.readModelType(directory: dir) {
            result.architecture = config
        } else if names.contains(where: { $0.contains("encoder.layer.") }) {
            result.architecture = "bert"
        } else if names.contains(where: { $0.hasPrefix("model.layers.") }) {
            result.architecture = "llama"
        }
        addDecoderSupport(&result, directory: dir)
        return result
    }

    /// Every graph constant has a tensor of its name, dtype and shape in the index (what `run`
    /// needs to bind it); the first that does not is named.
    static func checkConstantsAgainstIndex(_ graph: Graph, _ tensors: [ArtifactTensorInfo], path: String) throws {
        let index = Dictionary(tensors.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        for c in graph.constants {
            let v = graph[c.value]
            guard let t = index[v.name] else {
                throw IngotError(.format, file: path, location: "graph constant '\(v.name)'", "not in the tensor index")
            }
            guard t.dtype == v.type.dtype, v.type.shape.fixedSizes == t.shape else {
                throw IngotError(.format, file: path, location: "graph constant '\(v.name)'",
                                 "the tensor index has \(t.dtype)\(t.shape), the graph declares \(v.type)")
            }
        }
    }

    static func inspectArtifact(_ path: String, verify: Bool) throws -> Inspection {
        let reader = try ArtifactReader(path: path, verify: verify ? .full : .structure)
        var result = Inspection(path: path, format: "ingot", architecture: nil, fileBytes: reader.fileSize)
        result.facts.append(("format_version", "\(reader.formatVersion.major).\(reader.formatVersion.minor)"))
        result.facts.append(("digest", reader.digestHex))
        for s in reader.sections {
            result.facts.append(("section \(s.kind)", "\(s.storedSize) bytes stored, \(s.decodedSize) decoded, \(s.codecName)\(s.required ? ", required" : "")"))
        }
        if let signature = try reader.unverifiedSignature() {
            if let key = signature.publicKey {
                result.facts.append(("signature", "ed25519, key \(key.keyID) (not verified here: ingot verify --key)"))
            } else {
                result.facts.append(("signature", "version \(signature.version), unknown to this ingot"))
            }
        }
        if let graphBytes = try reader.payload(.graph) {
            let graph = try graphBytes.withUnsafeBytes { try GraphCodec.decode($0, file: path) }
            do { try graph.verify() } catch let failure as VerificationFailure { throw failure.asIngotError(file: path) }
            try checkConstantsAgainstIndex(graph, reader.tensors, path: path)
            result.graph = graph
            result.architecture = graph.name
            result.facts.append(("graph", "\(graph.nodes.count) nodes, \(graph.inputs.count) inputs, \(graph.outputs.count) outputs"))
            // Inputs with fixed sizes (an ONNX export with fixed dims): the artifact runs only those shapes.
            let fixed = graph.inputs.filter { graph.type(of: $0).shape.dims.contains { $0.fixedValue != nil } }
            if !fixed.isEmpty {
                result.facts.append(("input_limits", fixed.map { v in
                    let dims = graph.type(of: v).shape.dims
                    return "\(graph[v].name) \(Shape(dims)): " + dims.enumerated().compactMap { i, d in
                        d.fixedValue.map { "dimension \(i) fixed at \($0)" }
                    }.joined(separator: ", ")
                }.joined(separator: "; ") + " (encoders pad shorter sequences to the fixed length; longer ones are refused)"))
            }
        }
        if let tok = try reader.payload(.tokenizer) {
            let spec = try tok.withUnsafeBytes { try TokenizerSpec(decoding: $0, file: path) }
            result.facts.append(("tokenizer", "\(spec.kind), \(spec.tokens.count) tokens"))
            if spec.chatTemplate != nil {
                result.facts.append(("chat_template", spec.chatTemplateBuiltIn.map { "built-in \($0) template" } ?? "the model's own"))
            }
        }
        if verify { result.facts.append(("verified", "digest, sections and tensors")) }
        result.tensors = reader.tensors.map {
            TensorRow(name: $0.name, type: $0.dtype.description, shape: $0.shape, bytes: $0.storedSize,
                      note: $0.compressed ? "zstd \($0.storedSize)/\($0.decodedSize)" : "")
        }
        return result
    }
}

func parentDirectoryPath(_ path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "." }
    return String(path[..<slash])
}
