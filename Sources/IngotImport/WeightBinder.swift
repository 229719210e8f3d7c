// WeightBinder: binds checkpoint tensors to graph constants while an importer builds its
// graph, collecting every missing tensor and shape mismatch so the import fails once,
// before any weight is loaded, with the complete list.

import IngotCore
import IngotCheckpoint
import IngotIR

struct WeightBinder {
    let tensors: CheckpointTensors
    let architecture: String
    private(set) var missing: [String] = []
    private(set) var mismatched: [String] = []
    private(set) var used: Set<String> = []

    init(_ tensors: CheckpointTensors, architecture: String) {
        self.tensors = tensors
        self.architecture = architecture
    }

    /// The first of `names` present in the checkpoint (aliases such as a "bert." prefix).
    func firstPresent(_ names: [String]) -> String? {
        names.first { tensors.tensorInfo($0) != nil }
    }

    func has(_ name: String) -> Bool { tensors.tensorInfo(name) != nil }

    /// Adds a float32 constant for `name`, expecting `shape`; records problems instead of throwing.
    mutating func weight(_ graph: inout Graph, _ names: [String], _ shape: [Int]) -> ValueID {
        let type = TensorType(.f32, Shape(fixed: shape))
        guard let name = firstPresent(names) else {
            missing.append(names[0] + " \(Shape(fixed: shape))")
            return graph.addConstant(names[0], type, source: nil)
        }
        if let existing = graph.value(named: name), graph.isConstant(existing) { return existing }
        let seen = tensors.tensorInfo(name)!.shape
        if seen != shape {
            mismatched.append("\(name): shape \(Shape(fixed: seen)), expected \(Shape(fixed: shape))")
        }
        used.insert(name)
        return graph.addConstant(name, type, source: tensors.float32Source(name))
    }

    mutating func weight(_ graph: inout Graph, _ name: String, _ shape: [Int]) -> ValueID {
        weight(&graph, [name], shape)
    }

    /// Throws one error listing every missing tensor and shape mismatch.
    func finish() throws {
        guard missing.isEmpty && mismatched.isEmpty else {
            var lines: [String] = []
            if !missing.isEmpty { lines.append("missing \(missing.count) tensor\(missing.count == 1 ? "" : "s"): " + missing.joined(separator: ", ")) }
            if !mismatched.isEmpty { lines.append("wrong shape: " + mismatched.joined(separator: "; ")) }
            throw IngotError(.unsupported, file: tensors.sourceFiles.first,
                             "not a \(architecture) checkpoint Ingot can import: " + lines.joined(separator: "; "))
        }
    }
}
