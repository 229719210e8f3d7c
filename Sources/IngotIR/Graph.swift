// Graph: the intermediate representation. A graph is a list of typed values, the graph
// inputs and outputs among them, named weight constants, and nodes in program order
// (each node defines its outputs once). It holds no kernels and runs nothing.

import IngotCore

public struct TensorType: Hashable, Sendable, CustomStringConvertible {
    public var dtype: DType
    public var shape: Shape

    public init(_ dtype: DType, _ shape: Shape) {
        self.dtype = dtype
        self.shape = shape
    }

    /// "f32[batch, seq, 384]"
    public var description: String { dtype.description + shape.description }
}

/// Index of a value in `Graph.values`.
public struct ValueID: Hashable, Comparable, Sendable {
    public let index: Int
    public init(_ index: Int) { self.index = index }
    public static func < (a: ValueID, b: ValueID) -> Bool { a.index < b.index }
}

public struct Value: Sendable {
    /// Unique within the graph; printed as %name (or @name for constants).
    public var name: String
    public var type: TensorType
}

public struct Node: Sendable {
    public var op: Op
    public var inputs: [ValueID]
    public var outputs: [ValueID]

    public init(op: Op, inputs: [ValueID], outputs: [ValueID]) {
        self.op = op
        self.inputs = inputs
        self.outputs = outputs
    }
}

/// Where a weight's bytes come from until they are written: already in memory, or loaded
/// on demand from a checkpoint so conversion streams one tensor at a time.
public final class ConstantSource: @unchecked Sendable {
    /// Human-readable origin, e.g. "model.safetensors:encoder.layer.0.output.dense.weight (f32)".
    public let origin: String
    private let loader: () throws -> TensorBuffer
    private let releaser: () -> Void

    /// `release` is called once the bytes have been consumed, e.g. to drop mapped pages.
    public init(origin: String, loader: @escaping () throws -> TensorBuffer, release: @escaping () -> Void = {}) {
        self.origin = origin
        self.loader = loader
        self.releaser = release
    }

    public convenience init(origin: String, buffer: TensorBuffer) {
        self.init(origin: origin, loader: { buffer })
    }

    /// Materialises the bytes (dtype and shape of the constant's value, row-major).
    public func load() throws -> TensorBuffer { try loader() }

    /// Tells the source its bytes are no longer needed.
    public func release() { releaser() }
}

public struct Constant: Sendable {
    public var value: ValueID
    /// nil when the graph was decoded from an artifact: the data lives in its tensor section.
    public var source: ConstantSource?

    public init(value: ValueID, source: ConstantSource?) {
        self.value = value
        self.source = source
    }
}

public struct Graph: Sendable {
    public var name: String
    public var values: [Value] = []
    public var inputs: [ValueID] = []
    public var outputs: [ValueID] = []
    public var constants: [Constant] = []
    public var nodes: [Node] = []

    public init(name: String) { self.name = name }

    public subscript(id: ValueID) -> Value { values[id.index] }

    public func type(of id: ValueID) -> TensorType { values[id.index].type }

    public func value(named name: String) -> ValueID? {
        values.firstIndex(where: { $0.name == name }).map(ValueID.init)
    }

    public func isConstant(_ id: ValueID) -> Bool { constants.contains(where: { $0.value == id }) }

    /// Number of parameters: elements of every constant with a fixed shape, except the
    /// quantization metadata passes add (int8 scales, SmoothQuant factors).
    public var parameterCount: Int {
        constants.reduce(0) { total, c in
            let v = values[c.value.index]
            if v.name.hasSuffix(".scales") || v.name.hasSuffix(".smooth") { return total }
            return total + (v.type.shape.elementCount ?? 0)
        }
    }

    // MARK: Building

    @discardableResult
    public mutating func addValue(_ name: String, _ type: TensorType) -> ValueID {
        values.append(Value(name: name, type: type))
        return ValueID(values.count - 1)
    }

    public mutating func addInput(_ name: String, _ type: TensorType) -> ValueID {
        let id = addValue(name, type)
        inputs.append(id)
        return id
    }

    public mutating func addConstant(_ name: String, _ type: TensorType, source: ConstantSource?) -> ValueID {
        let id = addValue(name, type)
        constants.append(Constant(value: id, source: source))
        return id
    }

    /// Appends a node with one output whose type is inferred from the op; throws when the
    /// inputs do not fit the op (the importer then reports the checkpoint as inconsistent).
    public mutating func add(_ op: Op, _ inputs: [ValueID], name: String) throws -> ValueID {
        let inferred = try inferOutputTypes(op, inputs.map { type(of: $0) })
        guard inferred.count == 1 else {
            throw IngotError(.internal, location: name, "op \(op.name) has \(inferred.count) outputs; use addNode")
        }
        let out = addValue(name, inferred[0])
        nodes.append(Node(op: op, inputs: inputs, outputs: [out]))
        return out
    }

    /// Appends a node with one output per name (ops such as split and add_layer_norm have several).
    public mutating func addNode(_ op: Op, _ inputs: [ValueID], names: [String]) throws -> [ValueID] {
        let inferred = try inferOutputTypes(op, inputs.map { type(of: $0) })
        guard inferred.count == names.count else {
            throw IngotError(.internal, location: names.first ?? op.name, "op \(op.name) has \(inferred.count) outputs, \(names.count) names given")
        }
        let outs = zip(names, inferred).map { addValue($0.0, $0.1) }
        nodes.append(Node(op: op, inputs: inputs, outputs: outs))
        return outs
    }

    public mutating func markOutput(_ id: ValueID) { outputs.append(id) }
}
