// fuse-add-norm: a residual add feeding a LayerNorm or RMSNorm becomes one node that writes
// both the sum (still needed by the next residual in pre-norm models) and the normalised
// rows, reading each row once instead of three times.

import IngotIR

extension Pass {
    /// Runs in `fuse` after the linear fusions. Fires when both add operands have the norm
    /// input's exact type (no broadcasting); the sum may have other readers.
    ///
    ///     %r = add(%a, %b)                                  %n, %r = add_layer_norm(%a, %b, @g, @β) {epsilon = 1e-12}
    ///     %n = layer_norm(%r, @g, @β) {epsilon = 1e-12}  →
    ///
    /// layer_norm(a + b) computed in one sweep; %r keeps its name and readers.
    public static let fuseAddNorm = Pass(name: "fuse-add-norm", summary: "residual add + LayerNorm/RMSNorm → one node") { g, _, _ in
        let index = GraphIndex(g)
        var rw = Rewriter()
        for (i, node) in g.nodes.enumerated() {
            let fused: Op
            switch node.op {
            case .layerNorm(let e): fused = .addLayerNorm(epsilon: e)
            case .rmsNorm(let e): fused = .addRMSNorm(epsilon: e)
            default: continue
            }
            let sum = node.inputs[0]
            guard let p = index.producer(of: sum), !rw.isTouched(p), case .binary(.add) = g.nodes[p].op else { continue }
            let (a, b) = (g.nodes[p].inputs[0], g.nodes[p].inputs[1])
            guard g.type(of: a) == g.type(of: sum), g.type(of: b) == g.type(of: sum) else { continue }
            rw.replace(p, with: [Node(op: fused, inputs: [a, b] + node.inputs.dropFirst(), outputs: [node.outputs[0], sum])],
                       alsoRemove: [i])
        }
        rw.finish(&g)
        return PassRecord(name: "fuse-add-norm", stats: [("nodes_rewritten", Double(rw.count))])
    }
}
