// CheckpointTensors: the one view importers have of a checkpoint's weights — names,
// row-major shapes, stored type names, and lazy float32 loaders — over safetensors
// (single or sharded), PyTorch state dicts (pytorch_model.bin) and GGUF. It does not know any architecture.

import IngotCore
import IngotCheckpoint
import IngotIR

public protocol CheckpointTensors {
    /// Files the weights come from (for provenance and errors).
    var sourceFiles: [String] { get }
    /// Names in a deterministic order.
    var tensorNames: [String] { get }
    /// Row-major shape and the stored element type's name ("f32", "Q4_1", ...), nil when absent.
    func tensorInfo(_ name: String) -> (shape: [Int], storedType: String)?
    /// Loads the tensor as float32 on demand (dequantizing or converting as needed).
    func float32Source(_ name: String) -> ConstantSource
}

public final class SafetensorsTensors: CheckpointTensors {
    public let checkpoint: SafetensorsCheckpoint

    public init(_ checkpoint: SafetensorsCheckpoint) { self.checkpoint = checkpoint }

    public var sourceFiles: [String] { checkpoint.shardPaths }
    public var tensorNames: [String] { checkpoint.tensorNames }

    public func tensorInfo(_ name: String) -> (shape: [Int], storedType: String)? {
        guard let info = checkpoint.tensor(named: name) else { return nil }
        return (info.shape, info.dtype.description)
    }

    public func float32Source(_ name: String) -> ConstantSource {
        let checkpoint = self.checkpoint
        let type = checkpoint.tensor(named: name).map { $0.dtype.description } ?? "?"
        let file = checkpoint.tensor(named: name).map { $0.shardPath.split(separator: "/").last.map(String.init) ?? $0.shardPath } ?? "?"
        return ConstantSource(origin: "\(file):\(name) (\(type))", loader: { try checkpoint.floats(name) },
                              release: { checkpoint.dropPages(name) })
    }
}

public final class GGUFTensors: CheckpointTensors {
    public let file: GGUFFile
    private let byName: [String: GGUFTensorInfo]

    public init(_ file: GGUFFile) {
        self.file = file
        var map: [String: GGUFTensorInfo] = [:]
        for t in file.tensors { map[t.name] = t }
        byName = map
    }

    public var sourceFiles: [String] { [file.path] }
    public var tensorNames: [String] { file.tensors.map(\.name) }

    public func tensorInfo(_ name: String) -> (shape: [Int], storedType: String)? {
        guard let t = byName[name] else { return nil }
        return (t.shape, t.type.name)
    }

    public func float32Source(_ name: String) -> ConstantSource {
        let file = self.file
        let info = byName[name]
        let base = file.path.split(separator: "/").last.map(String.init) ?? file.path
        return ConstantSource(origin: "\(base):\(name) (\(info?.type.name ?? "?"))", loader: {
            guard let info else { throw IngotError(.format, file: file.path, location: "tensor '\(name)'", "not in the file") }
            return try file.dequantize(info)
        }, release: {
            if let info { file.file.dropPages(info.offset..<(info.offset + info.byteCount)) }
        })
    }
}

public final class PyTorchTensors: CheckpointTensors {
    public let checkpoint: PyTorchCheckpoint

    public init(_ checkpoint: PyTorchCheckpoint) { self.checkpoint = checkpoint }

    public var sourceFiles: [String] { [checkpoint.path] }
    public var tensorNames: [String] { checkpoint.tensorNames }

    public func tensorInfo(_ name: String) -> (shape: [Int], storedType: String)? {
        guard let info = checkpoint.tensor(named: name) else { return nil }
        return (info.shape, info.dtype.description)
    }

    public func float32Source(_ name: String) -> ConstantSource {
        let checkpoint = self.checkpoint
        let type = checkpoint.tensor(named: name).map { $0.dtype.description } ?? "?"
        let file = checkpoint.path.split(separator: "/").last.map(String.init) ?? checkpoint.path
        return ConstantSource(origin: "\(file):\(name) (\(type))", loader: { try checkpoint.floats(name) },
                              release: { checkpoint.dropPages(name) })
    }
}
