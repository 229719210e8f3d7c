// fuse-qkv: linear layers that read the same input with the same activation (the query, key
// and value projections of attention) become one linear over stacked weights followed by a
// split, so one wide GEMM replaces several narrow ones.

import IngotCore
import IngotIR

extension Pass {
    /// Runs in `fuse` after fuse-linear (it groups `linear` nodes). Fires on two or more
    /// linear nodes with a common input, the same activation and dtype, and either all or
    /// none with a bias. Grouped-query models stack k and v narrower than q; split sizes follow.
    ///
    ///     %q = linear(%x, @wq, @bq) {activation = none}     @wq.qkv: f32[3H, H]   @bq.qkv: f32[3H]
    ///     %k = linear(%x, @wk, @bk) {activation = none}  →  %x.qkv = linear(%x, @wq.qkv, @bq.qkv) {activation = none}
    ///     %v = linear(%x, @wv, @bv) {activation = none}     %q, %k, %v = split(%x.qkv) {axis = -1, sizes = [H, H, H]}
    ///
    /// x·[wq; wk; wv]ᵀ + [bq; bk; bv], split by columns, equals the three products.
    public static let fuseQKV = Pass(name: "fuse-qkv", summary: "sibling linears on one input → one linear + split") { g, _, _ in
        var groups: [[Int]] = []
        var groupOf: [String: Int] = [:]
        for (i, node) in g.nodes.enumerated() {
            guard case .linear(let a) = node.op, let view = LinearView(node, in: g), g.type(of: view.weight).shape.fixedSizes != nil else { continue }
            let key = "\(view.x.index)|\(a.name)|\(view.bias != nil)|\(g.type(of: view.weight).dtype)"
            if let gi = groupOf[key] { groups[gi].append(i) } else { groupOf[key] = groups.count; groups.append([i]) }
        }
        var rw = Rewriter()
        var stacked = 0
        for members in groups where members.count >= 2 {
            let first = g.nodes[members[0]]
            guard case .linear(let activation) = first.op else { continue }
            let views = members.map { LinearView(g.nodes[$0], in: g)! }
            let weights = views.map(\.weight)
            let sizes = weights.map { g.type(of: $0).shape[0].fixedValue! }
            let k = g.type(of: weights[0]).shape[1]
            guard weights.allSatisfy({ g.type(of: $0).shape[1] == k }) else { continue }
            let dtype = g.type(of: weights[0]).dtype
            let total = sizes.reduce(0, +)
            let base = g[weights[0]].name
            let w = g.addDerivedConstant(base + ".stacked", TensorType(dtype, Shape([.fixed(total), k])), parents: weights,
                                         origin: "rows of " + weights.map { g[$0].name }.joined(separator: ", "),
                                         compute: { try concatenateRows($0) })
            var inputs = [views[0].x, w]
            if views[0].bias != nil {
                let biases = views.map { $0.bias! }
                inputs.append(g.addDerivedConstant(g[biases[0]].name + ".stacked", TensorType(g.type(of: biases[0]).dtype, Shape(fixed: [total])),
                                                   parents: biases, origin: "concatenation of " + biases.map { g[$0].name }.joined(separator: ", "),
                                                   compute: { try concatenateRows($0) }))
            }
            let xt = g.type(of: views[0].x)
            let joined = g.addValue(g.freshName(g[first.outputs[0]].name + ".stacked"),
                                    TensorType(xt.dtype, Shape(Array(xt.shape.dims.dropLast()) + [.fixed(total)])))
            let outputs = members.map { g.nodes[$0].outputs[0] }
            rw.replace(members[0], with: [Node(op: .linear(activation: activation), inputs: inputs, outputs: [joined]),
                                          Node(op: .split(axis: -1, sizes: sizes), inputs: [joined], outputs: outputs)],
                       alsoRemove: Array(members.dropFirst()))
            stacked += members.count
        }
        rw.finish(&g)
        return PassRecord(name: "fuse-qkv", stats: [("groups_fused", Double(rw.count)), ("linears_stacked", Double(stacked))])
    }
}
