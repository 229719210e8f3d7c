// fuse-linear: matmul against a constant weight, its bias add and a following activation
// become one `linear` node, so the runtime applies bias and activation in the GEMM's
// epilogue while the tile is still in cache instead of two more passes over memory.

import IngotIR

extension Pass {
    /// Runs in `fuse` after fuse-swiglu (which needs the bare gate projection) and before
    /// fuse-qkv. Fires only when the weight is a constant [N, K] read transposed, the bias a
    /// constant [N], and each intermediate value has exactly one reader.
    ///
    ///     %m = matmul(%x, @w) {transpose_b = true}        %y = linear(%x, @w, @b) {activation = gelu}
    ///     %a = add(%m, @b)                         →
    ///     %y = gelu(%a) {approximation = erf}
    ///
    /// x·wᵀ + b then gelu: same arithmetic, one node.
    public static let fuseLinear = Pass(name: "fuse-linear", summary: "matmul + bias + activation → linear") { g, _, _ in
        var rewrites = 0
        // 1. matmul(x, @w)ᵀ → linear(x, @w){none}
        for i in g.nodes.indices {
            if case .matmul = g.nodes[i].op, let view = LinearView(g.nodes[i], in: g) {
                g.nodes[i] = Node(op: .linear(activation: .none), inputs: view.inputs, outputs: g.nodes[i].outputs)
                rewrites += 1
            }
        }
        // 2. add(linear(x, w){none}, @b) → linear(x, w, b){none}
        var index = GraphIndex(g)
        var rw = Rewriter()
        for (i, node) in g.nodes.enumerated() {
            guard case .binary(.add) = node.op else { continue }
            for (lhs, rhs) in [(0, 1), (1, 0)] {
                let (l, b) = (node.inputs[lhs], node.inputs[rhs])
                guard g.isConstant(b), let p = index.soleProducer(of: l), !rw.isTouched(p),
                      case .linear(.none) = g.nodes[p].op, g.nodes[p].inputs.count == 2 else { continue }
                let w = g.nodes[p].inputs[1]
                guard g.type(of: b).shape.rank == 1, g.type(of: b).shape[0] == g.type(of: w).shape[0],
                      g.type(of: b).dtype == g.type(of: w).dtype else { continue }
                rw.replace(i, with: [Node(op: .linear(activation: .none), inputs: g.nodes[p].inputs + [b], outputs: node.outputs)],
                           alsoRemove: [p])
                break
            }
        }
        rewrites += rw.count
        rw.finish(&g)
        // 3. activation(linear(…){none}) → linear(…){activation}
        index = GraphIndex(g)
        rw = Rewriter()
        for (i, node) in g.nodes.enumerated() {
            guard let activation = Activation(node.op), let p = index.soleProducer(of: node.inputs[0]), !rw.isTouched(p),
                  case .linear(.none) = g.nodes[p].op else { continue }
            rw.replace(i, with: [Node(op: .linear(activation: activation), inputs: g.nodes[p].inputs, outputs: node.outputs)],
                       alsoRemove: [p])
        }
        rewrites += rw.count
        rw.finish(&g)
        return PassRecord(name: "fuse-linear", stats: [("nodes_rewritten", Double(rewrites))])
    }
}
