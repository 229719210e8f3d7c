// remove-dead: drops nodes whose outputs nothing reads (transitively) and constants no node
// reads. Attention nodes that keep a KV cache are kept: appending to the cache is an effect.

import IngotIR

extension Pass {
    /// Runs first and last in `fuse`, and after any pass that leaves orphans.
    ///
    ///     %a = gelu(%x)          ; %a unused
    ///     %y = silu(%x)
    ///     return %y
    /// becomes
    ///     %y = silu(%x)
    ///     return %y
    public static let removeDead = Pass(name: "remove-dead", summary: "drop nodes and constants nothing reads") { g, _, _ in
        let before = (g.nodes.count, g.constants.count)
        var live = Set(g.outputs)
        var keep = [Bool](repeating: false, count: g.nodes.count)
        for i in g.nodes.indices.reversed() {
            let node = g.nodes[i]
            var effect = false
            if case .attention(let a) = node.op, a.kvCache { effect = true }
            if effect || node.outputs.contains(where: live.contains) {
                keep[i] = true
                for input in node.inputs { live.insert(input) }
            }
        }
        g.nodes = g.nodes.enumerated().filter { keep[$0.offset] }.map(\.element)
        g.compact()
        return PassRecord(name: "remove-dead", stats: [("nodes_removed", Double(before.0 - g.nodes.count)),
                                                      ("constants_removed", Double(before.1 - g.constants.count))])
    }
}
