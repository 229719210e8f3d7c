// Patterns: the matching vocabulary shared by the fusion passes — which node defines a
// value, how many nodes read it, and the "linear layer" view of a node (a linear op, or a
// matmul against a constant [out, in] weight). No rewriting happens here.

import IngotIR

struct GraphIndex {
    let producers: [Int?]
    let users: [[Int]]
    let outputs: Set<ValueID>

    init(_ g: Graph) {
        producers = g.producers()
        users = g.users()
        outputs = Set(g.outputs)
    }

    /// The node defining `id`, when exactly one node reads `id` and it is not a graph output
    /// (so the producer can be folded into its user).
    func soleProducer(of id: ValueID) -> Int? {
        guard users[id.index].count == 1, !outputs.contains(id) else { return nil }
        return producers[id.index]
    }

    func producer(of id: ValueID) -> Int? { producers[id.index] }
}

/// A node seen as y = activation(x · wᵀ + bias) with w a constant [N, K].
struct LinearView {
    var x: ValueID
    var weight: ValueID
    var bias: ValueID?
    var activation: Activation

    init?(_ node: Node, in g: Graph) {
        switch node.op {
        case .linear(let a):
            guard g.isConstant(node.inputs[1]) else { return nil }
            x = node.inputs[0]
            weight = node.inputs[1]
            bias = node.inputs.count == 3 ? node.inputs[2] : nil
            activation = a
        case .matmul(let transposeB):
            guard transposeB, g.isConstant(node.inputs[1]), g.type(of: node.inputs[1]).dtype == g.type(of: node.inputs[0]).dtype else { return nil }
            x = node.inputs[0]
            weight = node.inputs[1]
            bias = nil
            activation = .none
        default:
            return nil
        }
    }

    var inputs: [ValueID] { bias.map { [x, weight, $0] } ?? [x, weight] }
}

/// Marks nodes for removal and appends replacements; `finish` rebuilds the node list in
/// order (each replacement at the position of the node it stands in for) and compacts.
struct Rewriter {
    private var removed: Set<Int> = []
    private var inserted: [Int: [Node]] = [:]
    private(set) var count = 0

    /// Replaces node `at` with `nodes`, removing `alsoRemove` (the pattern's interior nodes).
    mutating func replace(_ at: Int, with nodes: [Node], alsoRemove: [Int] = []) {
        removed.insert(at)
        for r in alsoRemove { removed.insert(r) }
        inserted[at, default: []].append(contentsOf: nodes)
        count += 1
    }

    /// Removes node `n` with no replacement (a pattern's leftovers that nothing reads any more).
    mutating func remove(_ n: Int) { removed.insert(n) }

    func isTouched(_ n: Int) -> Bool { removed.contains(n) }

    func finish(_ g: inout Graph) {
        var nodes: [Node] = []
        for (i, node) in g.nodes.enumerated() {
            if let new = inserted[i] { nodes.append(contentsOf: new) }
            if !removed.contains(i) { nodes.append(node) }
        }
        g.nodes = nodes
        g.compact()
    }
}

extension Activation {
    /// The activation an elementwise op computes, if it is one a linear layer can absorb.
    init?(_ op: Op) {
        switch op {
        case .gelu(.erf): self = .gelu
        case .gelu(.tanh): self = .geluTanh
        case .silu: self = .silu
        default: return nil
        }
    }
}
