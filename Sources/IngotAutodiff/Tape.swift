// Tape: reverse-mode differentiation over IR graphs, the core. It holds the values of one
// forward run (every intermediate, and what each op's backward needs), binds the graph
// inputs, and drives the nodes forward in order and backward in reverse, dispatching each
// node to its op family's `DifferentiableOp` conformance (Ops/*.swift). Generic over the
// scalar: Float to train, Double for the finite-difference checks. It holds no op
// semantics: the forwards call the reference kernels and the gradients live in the op
// families; ops without a conformance (int8, sparse) are rejected. It does not optimise or schedule.

import IngotCore
import IngotIR

public final class Tape<T: TrainingScalar> {
    public let graph: Graph
    /// Float data of constants by value index (row-major, the constant's shape).
    public var parameters: [Int: [T]]
    /// Parameters whose gradients `backward` computes.
    public var trainable: Set<Int>

    /// Shapes, float data and integer data of the last forward by value index.
    var shapes: [Int: [Int]] = [:]
    var floats: [Int: [T]] = [:]
    var ints: [Int: [Int32]] = [:]
    /// Sizes the graph inputs bound their symbolic dimensions to.
    var bindings: [String: Int] = [:]
    /// Per node index: what its backward needs beyond inputs and outputs (pre-activations,
    /// attention probabilities).
    var saved: [Int: [T]] = [:]
    /// During `backward`: ∂L/∂value accumulated so far, and the values that need a gradient.
    private var flowing: [Int: [T]] = [:]
    private var needsGradient: Set<Int> = []
    public private(set) var gradients: [Int: [T]] = [:]

    public init(graph: Graph, parameters: [Int: [T]], trainable: Set<Int> = []) throws {
        self.graph = graph
        self.parameters = parameters
        self.trainable = trainable
        for c in graph.constants {
            let v = graph[c.value]
            guard v.type.dtype.isFloatingPoint else { continue }
            guard let data = parameters[c.value.index] else {
                throw IngotError(.invalidArgument, location: "constant '\(v.name)'", "no data given to the training graph")
            }
            let expected = v.type.shape.fixedSizes.map { $0.reduce(1, *) } ?? -1
            guard data.count == expected else {
                throw IngotError(.shape, location: "constant '\(v.name)'", "has \(data.count) values, expected \(expected) for \(v.type.shape)")
            }
        }
    }

    // MARK: Access

    public func shape(of id: ValueID) -> [Int]? { shapes[id.index] }
    public func values(of id: ValueID) -> [T]? { floats[id.index] }
    public func gradient(of id: ValueID) -> [T]? { gradients[id.index] }

    /// For op families: float data, shape and integer data of a value the forward has computed.
    func f(_ id: ValueID) -> [T] { floats[id.index]! }
    func s(_ id: ValueID) -> [Int] { shapes[id.index]! }
    func i32(_ id: ValueID) -> [Int32] { ints[id.index]! }
    func isFloat(_ id: ValueID) -> Bool { floats[id.index] != nil }

    func set(_ id: ValueID, _ shape: [Int], _ data: [T]) {
        shapes[id.index] = shape
        floats[id.index] = data
    }

    func setInts(_ id: ValueID, _ shape: [Int], _ data: [Int32]) {
        shapes[id.index] = shape
        ints[id.index] = data
    }

    // MARK: Forward

    /// Runs the graph; `intInputs` and `floatInputs` are keyed by graph input name.
    public func forward(_ intInputs: [String: IntTensor], floatInputs: [String: ([Int], [T])] = [:]) throws {
        shapes = [:]; floats = [:]; ints = [:]; saved = [:]; gradients = [:]; bindings = [:]
        for id in graph.inputs {
            let v = graph[id]
            let shape: [Int]
            if v.type.dtype.isFloatingPoint {
                guard let (s, data) = floatInputs[v.name] else {
                    throw IngotError(.invalidArgument, location: "input '\(v.name)'", "missing (float \(v.type.shape))")
                }
                guard data.count == s.reduce(1, *) else {
                    throw IngotError(.shape, location: "input '\(v.name)'", "\(data.count) values for shape \(s)")
                }
                floats[id.index] = data
                shape = s
            } else {
                guard let t = intInputs[v.name] else {
                    throw IngotError(.invalidArgument, location: "input '\(v.name)'", "missing (\(v.type))")
                }
                guard t.values.count == t.shape.reduce(1, *) else {
                    throw IngotError(.shape, location: "input '\(v.name)'", "\(t.values.count) values for shape \(t.shape)")
                }
                ints[id.index] = t.values
                shape = t.shape
            }
            guard shape.count == v.type.shape.rank else {
                throw IngotError(.shape, location: "input '\(v.name)'", "rank \(shape.count), expected \(v.type.shape)")
            }
            for (d, n) in zip(v.type.shape.dims, shape) {
                switch d {
                case .fixed(let f):
                    guard f == n else { throw IngotError(.shape, location: "input '\(v.name)'", "shape \(shape), expected \(v.type.shape)") }
                case .symbol(let s):
                    if let b = bindings[s], b != n {
                        throw IngotError(.shape, location: "input '\(v.name)'", "\(s) = \(n) here but \(b) in another input")
                    }
                    bindings[s] = n
                }
            }
            shapes[id.index] = shape
        }
        for c in graph.constants {
            shapes[c.value.index] = graph[c.value].type.shape.fixedSizes ?? []
            if let p = parameters[c.value.index] { floats[c.value.index] = p }
        }
        for (n, node) in graph.nodes.enumerated() {
            do {
                guard let op = node.op.definition as? any DifferentiableOp.Type else {
                    throw IngotError(.unsupported, location: node.op.name,
                                     "int8 and sparse-format ops are not differentiable; run distill before quantize and sparsify")
                }
                try op.forward(node, at: n, on: self)
            } catch var e as IngotError {
                e.location = "node \(graph[node.outputs[0]].name) (\(node.op.name))" + (e.location.map { ": " + $0 } ?? "")
                throw e
            }
        }
    }

    // MARK: Backward

    /// Accumulates ∂L/∂p for every trainable parameter p, given ∂L/∂y for some values y
    /// (usually graph outputs) from the last `forward`.
    public func backward(seeds: [ValueID: [T]]) throws {
        gradients = [:]
        // Values that depend on a trainable parameter or a float graph input need gradients.
        var needs = Set(trainable)
        for id in graph.inputs where graph[id].type.dtype.isFloatingPoint { needs.insert(id.index) }
        for node in graph.nodes where node.inputs.contains(where: { needs.contains($0.index) }) {
            for o in node.outputs { needs.insert(o.index) }
        }
        needsGradient = needs
        flowing = [:]
        defer { flowing = [:]; needsGradient = [] }
        for (id, g) in seeds {
            guard let shape = shapes[id.index], g.count == shape.reduce(1, *) else {
                throw IngotError(.shape, location: "seed for '\(graph[id].name)'", "\(g.count) values, expected \(shapes[id.index] ?? [])")
            }
            flowing[id.index] = g
        }
        for n in graph.nodes.indices.reversed() {
            let node = graph.nodes[n]
            guard node.outputs.contains(where: { flowing[$0.index] != nil }),
                  node.inputs.contains(where: { needs.contains($0.index) }) else { continue }
            let outGrads = node.outputs.map { flowing[$0.index] ?? [T](repeating: 0, count: shapes[$0.index]!.reduce(1, *)) }
            for o in node.outputs where !graph.outputs.contains(o) && !trainable.contains(o.index) { flowing[o.index] = nil }
            guard let op = node.op.definition as? any DifferentiableOp.Type else {
                throw IngotError(.unsupported, location: node.op.name, "int8 and sparse-format ops are not differentiable")
            }
            try op.backward(node, at: n, outputGradients: outGrads, on: self)
        }
        for p in trainable { gradients[p] = flowing[p] ?? [T](repeating: 0, count: parameters[p]?.count ?? 0) }
        for id in graph.inputs where graph[id].type.dtype.isFloatingPoint { gradients[id.index] = flowing[id.index] }
    }

    /// For op families during `backward`: whether input `i` of `node` needs a gradient.
    func wants(_ node: Node, _ i: Int) -> Bool { i < node.inputs.count && needsGradient.contains(node.inputs[i].index) }

    /// For op families during `backward`: adds `g` to ∂L/∂id (ignored when id needs no gradient).
    func accumulate(_ id: ValueID, _ g: [T]) {
        guard needsGradient.contains(id.index) else { return }
        if var existing = flowing[id.index] {
            for i in existing.indices { existing[i] += g[i] }
            flowing[id.index] = existing
        } else {
            flowing[id.index] = g
        }
    }
}
