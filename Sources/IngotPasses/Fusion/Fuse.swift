// fuse: the float32-preserving fusion pipeline as one pass name, in the order the
// individual fusions need (see each pass's comment for why it sits where it does).

import IngotIR

extension Pass {
    /// The fusions in order; `--passes fuse` runs exactly this list.
    public static let fusionPipeline: [Pass] = [
        .removeDead,
        .foldConstants,
        .fuseAttention,
        .fuseSwiGLU,
        .fuseLinear,
        .fuseQKV,
        .fuseAddNorm,
        .removeDead,
    ]

    /// Runs `fusionPipeline`; its record sums the sub-passes' statistics under their names
    /// (remove-dead's two runs add up).
    public static let fuse = Pass(name: "fuse", summary: "all float32 fusions: " + fusionPipeline.map(\.name).joined(separator: ", ")) { g, _, context in
        let before = g.nodes.count
        var stats: [(String, Double)] = [("nodes_before", Double(before))]
        for pass in fusionPipeline {
            let record = try pass.run(&g, context: context)
            for (k, v) in record.stats {
                let key = "\(pass.name).\(k)"
                if let i = stats.firstIndex(where: { $0.0 == key }) { stats[i].1 += v } else { stats.append((key, v)) }
            }
        }
        stats.append(("nodes_after", Double(g.nodes.count)))
        return PassRecord(name: "fuse", stats: stats)
    }
}

extension PassRegistry {
    /// Every pass `--passes` and recipes can name.
    public static let standard = PassRegistry([.fuse] + Pass.fusionPipeline.filter { $0.name != "remove-dead" } + [.removeDead, .quantize, .pack, .prune, .reconstruct, .distill, .sparsify])
}
