// fuse-swiglu: the gate and up projections of a LLaMA feed-forward block read the same
// input; stacking their weights makes one matmul of twice the width, and the SiLU-times-up
// product becomes one `swiglu` node over the stacked result.

import IngotCore
import IngotIR

extension Pass {
    /// Runs first among the fusions in `fuse` (fuse-linear would otherwise fold the SiLU into
    /// the gate projection). Fires when both projections read the same value, have no bias
    /// and no activation, weights of the same shape and dtype, and only the SiLU / mul read them.
    ///
    ///     %g = matmul(%x, @wg) {transpose_b = true}       @wg.up: f32[2I, H]   (rows of wg, then of wu)
    ///     %u = matmul(%x, @wu) {transpose_b = true}  →    %gu = linear(%x, @wg.up) {activation = none}
    ///     %s = silu(%g)                                   %h = swiglu(%gu)
    ///     %h = mul(%s, %u)
    ///
    /// silu(x·wgᵀ) ⊙ (x·wuᵀ) = swiglu(x·[wg; wu]ᵀ).
    public static let fuseSwiGLU = Pass(name: "fuse-swiglu", summary: "gate + up projections with SiLU·mul → linear + swiglu") { g, _, _ in
        let index = GraphIndex(g)
        var rw = Rewriter()
        var pending: [(Int, ValueID, ValueID, ValueID, ValueID, Int, Int, Int)] = []
        for (i, node) in g.nodes.enumerated() {
            guard case .binary(.mul) = node.op else { continue }
            for (si, ui) in [(0, 1), (1, 0)] {
                guard let s = index.soleProducer(of: node.inputs[si]), case .silu = g.nodes[s].op,
                      let gp = index.soleProducer(of: g.nodes[s].inputs[0]),
                      let up = index.soleProducer(of: node.inputs[ui]),
                      let gate = LinearView(g.nodes[gp], in: g), let upView = LinearView(g.nodes[up], in: g),
                      gate.bias == nil, upView.bias == nil, gate.activation == .none, upView.activation == .none,
                      gate.x == upView.x, g.type(of: gate.weight) == g.type(of: upView.weight),
                      !rw.isTouched(gp), !rw.isTouched(up), !rw.isTouched(s) else { continue }
                pending.append((i, gate.x, gate.weight, upView.weight, node.outputs[0], gp, up, s))
                rw.replace(i, with: [], alsoRemove: [gp, up, s])
                break
            }
        }
        rw = Rewriter()
        for (i, x, wg, wu, out, gp, up, s) in pending {
            let wt = g.type(of: wg)
            let rows = (wt.shape[0].fixedValue ?? 0) * 2
            let stacked = g.addDerivedConstant(g[wg].name + ".gate_up", TensorType(wt.dtype, Shape(fixed: [rows, wt.shape[1].fixedValue ?? 0])),
                                               parents: [wg, wu], origin: "rows of \(g[wg].name) then \(g[wu].name)",
                                               compute: { try concatenateRows($0) })
            let xt = g.type(of: x)
            let gu = g.addValue(g.freshName(g[out].name + ".gate_up"), TensorType(xt.dtype, Shape(Array(xt.shape.dims.dropLast()) + [.fixed(rows)])))
            rw.replace(i, with: [Node(op: .linear(activation: .none), inputs: [x, stacked], outputs: [gu]),
                                 Node(op: .swiglu, inputs: [gu], outputs: [out])],
                       alsoRemove: [gp, up, s])
        }
        rw.finish(&g)
        return PassRecord(name: "fuse-swiglu", stats: [("nodes_rewritten", Double(rw.count))])
    }
}
