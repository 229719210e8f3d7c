// WeightBinder: binds checkpoint tensors to graph constants while an importer builds its
// graph, collecting every missing tensor, shape mismatch, integer-typed weight and quantized
// 1-D tensor (norm weight or bias) so the import fails once, before any weight is loaded,
// with the complete list.

import IngotCore
import IngotCheckpoint
import IngotIR

struct WeightBinder {
    let tensors: CheckpointTensors
    let architecture: String
    private(set) var missing: [String] = []
    private(set) var mismatched: [String] = []
    private(set) var integerTyped: [String] = []
    private(set) var quantizedVectors: [String] = []
    private(set) var used: Set<String> = []
    private(set) var unused: [String] = []

    init(_ tensors: CheckpointTensors, architecture: String) {
        self.tensors = tensors
        self.architecture = architecture
    }

    /// The first of `names` present in the checkpoint (aliases such as a "bert." prefix).
    func firstPresent(_ names: [String]) -> String? {
        names.first { tensors.tensorInfo($0) != nil }
    }

    func has(_ name: String) -> Bool { tensors.tensorInfo(name) != nil }

    /// Stored types (safetensors dtypes, GGML types; compared lowercased) that cannot hold a weight.
    static let integerTypes: Set<String> = ["i8", "u8", "i16", "i32", "i64", "bool"]
    /// Stored types a 1-D tensor (a norm's weight, a bias) may have. llama.cpp keeps these in
    /// float; a block-quantized one is a header edit, and its bytes decode to garbage.
    static let vectorTypes: Set<String> = ["f32", "f16", "bf16", "f64"]

    /// Adds a float32 constant for `name`, expecting `shape`; records problems instead of throwing.
    mutating func weight(_ graph: inout Graph, _ names: [String], _ shape: [Int]) -> ValueID {
        let type = TensorType(.f32, Shape(fixed: shape))
        guard let name = firstPresent(names) else {
            missing.append(names[0] + " \(Shape(fixed: shape))")
            return graph.addConstant(names[0], type, source: nil)
        }
        if let existing = graph.value(named: name), graph.isConstant(existing) { return existing }
        check(name, shape)
        return graph.addConstant(name, type, source: tensors.float32Source(name))
    }

    /// Rows `rows` of the 2-D tensor `name` (expected [shape[0], shape[1]]) as a float32 constant
    /// named `constantName` [rows.count, shape[1]]: a fused q/k/v matrix's parts, a position
    /// table past its offset rows.
    mutating func weightRows(_ graph: inout Graph, _ name: String, _ shape: [Int], rows: Range<Int>, as constantName: String) -> ValueID {
        let type = TensorType(.f32, Shape(fixed: [rows.count, shape[1]]))
        guard has(name) else {
            missing.append(name + " \(Shape(fixed: shape))")
            return graph.addConstant(constantName, type, source: nil)
        }
        if let existing = graph.value(named: constantName), graph.isConstant(existing) { return existing }
        check(name, shape)
        let whole = tensors.float32Source(name)
        let width = shape[1]
        let source = ConstantSource(origin: whole.origin + " rows \(rows.lowerBound)..<\(rows.upperBound)", loader: {
            let full = try whole.load()
            let bytes = (rows.lowerBound * width * 4)..<(rows.upperBound * width * 4)
            guard bytes.upperBound <= full.byteCount else {
                throw IngotError(.format, location: name, "\(full.byteCount) bytes, expected at least \(bytes.upperBound) for rows \(rows)")
            }
            return TensorBuffer(borrowing: UnsafeRawBufferPointer(rebasing: full.raw[bytes]), owner: full)
        }, release: { whole.release() })
        return graph.addConstant(constantName, type, source: source)
    }

    private mutating func check(_ name: String, _ shape: [Int]) {
        let (seen, storedType) = tensors.tensorInfo(name)!
        if WeightBinder.integerTypes.contains(storedType.lowercased()) {
            // Integer bytes are not weights; converting them by value builds garbage.
            integerTyped.append("\(name): \(storedType)")
        } else if shape.count == 1, !WeightBinder.vectorTypes.contains(storedType.lowercased()) {
            quantizedVectors.append("\(name): \(storedType)")
        }
        if seen != shape {
            mismatched.append("\(name): shape \(Shape(fixed: seen)), expected \(Shape(fixed: shape))")
        }
        used.insert(name)
    }

    mutating func weight(_ graph: inout Graph, _ name: String, _ shape: [Int]) -> ValueID {
        weight(&graph, [name], shape)
    }

    /// Records every checkpoint tensor not bound so far and not in `ignored` (strict importers).
    mutating func requireAllUsed(except ignored: Set<String>) {
        unused = tensors.tensorNames.filter { !used.contains($0) && !ignored.contains($0) }
    }

    /// Throws one error listing every missing, unused (after `requireAllUsed`), mis-shaped and wrongly typed tensor.
    func finish() throws {
        guard missing.isEmpty && mismatched.isEmpty && integerTyped.isEmpty && quantizedVectors.isEmpty && unused.isEmpty else {
            var lines: [String] = []
            if !missing.isEmpty { lines.append("missing \(missing.count) tensor\(missing.count == 1 ? "" : "s"): " + missing.joined(separator: ", ")) }
            if !unused.isEmpty {
                lines.append("\(unused.count) tensor\(unused.count == 1 ? "" : "s") the graph does not use: " + unused.joined(separator: ", "))
            }
            if !mismatched.isEmpty { lines.append("wrong shape: " + mismatched.joined(separator: "; ")) }
            if !integerTyped.isEmpty {
                lines.append("integer dtype where a weight is expected (floating-point or a GGML quantized type): " + integerTyped.joined(separator: ", "))
            }
            if !quantizedVectors.isEmpty {
                lines.append("quantized type where a norm weight or bias is expected (F32, F16, BF16 or F64): " + quantizedVectors.joined(separator: ", "))
            }
            throw IngotError(.unsupported, file: tensors.sourceFiles.first,
                             "not a \(architecture) checkpoint Ingot can import: " + lines.joined(separator: "; "))
        }
    }
}
