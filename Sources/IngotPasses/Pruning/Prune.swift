// prune: sets weights of linear layers to zero — by magnitude (per layer or one global
// threshold), by Wanda score (|w| × the L2 norm of its input channel over calibration
// data, compared within each output row), or N:M semi-structured (keep the N largest of
// every M consecutive inputs) — or, with method=structured, removes whole FFN neurons and
// attention heads (PruneStructured.swift). Embeddings and the LM head are never pruned.
// The zeros pay off in the artifact's zstd size; every layer's sparsity is recorded.

import IngotCore
import IngotIR

extension Pass {
    /// Runs before `fuse` or after it (it prunes `linear` and constant-weight `matmul`
    /// nodes alike); before `reconstruct`, which refits what it leaves.
    ///
    ///     @w: f32[N, K]                                   @w.pruned: f32[N, K]   (half its entries 0)
    ///     %y = linear(%x, @w, @b) {activation = gelu}  →  %y = linear(%x, @w.pruned, @b) {activation = gelu}
    public static let prune = Pass(
        name: "prune", summary: "zero (magnitude, wanda, n:m) or remove (structured) weights",
        positional: "method", positionals: ["sparsity"],
        options: [
            PassOption("method", .choice(["magnitude", "wanda", "nm", "structured"]), default: "magnitude", "how weights are chosen"),
            PassOption("sparsity", .number(0...0.999), default: "0.5", "fraction of each layer's weights set to zero"),
            PassOption("scope", .choice(["layer", "global"]), default: "layer", "magnitude: one threshold per layer or for all layers"),
            PassOption("n", .integer(1...64), default: "2", "nm: weights kept per group"),
            PassOption("m", .integer(2...64), default: "4", "nm: group size along the input dimension"),
            PassOption("ffn", .number(0...0.95), default: "0", "structured: fraction of feed-forward neurons removed"),
            PassOption("heads", .number(0...0.95), default: "0", "structured: fraction of attention heads removed"),
        ],
        needsCalibration: { try $0["method"] == "wanda" },
        body: { g, options, context in
            if try options["method"] == "structured" { return try StructuredPruner(options: options, context: context).run(&g) }
            return try UnstructuredPruner(options: options, context: context).run(&g)
        })
}

/// Linear layers that pruning may touch: constant f32 weights, not tied to an embedding.
func prunableLinears(_ g: Graph) -> [(node: Int, view: LinearView)] {
    let tables = Set(g.nodes.compactMap { node -> ValueID? in
        switch node.op {
        case .gather: return node.inputs[0]
        default: return nil
        }
    })
    return g.nodes.enumerated().compactMap { i, node in
        guard let view = LinearView(node, in: g), g.type(of: view.weight).dtype == .f32, !tables.contains(view.weight),
              !node.outputs.contains(where: { g.outputs.contains($0) }) else { return nil }
        return (i, view)
    }
}

struct UnstructuredPruner {
    let options: PassOptions
    let context: PassContext

    func run(_ g: inout Graph) throws -> PassRecord {
        let sparsity = try options.double("sparsity")
        let method = try options["method"]
        let (n, m) = (try options.int("n"), try options.int("m"))
        if method == "nm" {
            guard n < m else {
                throw IngotError(.invalidArgument, location: "pass 'prune' option 'n'", "value \(n), expected fewer than m = \(m)")
            }
        } else if method == "wanda", context.calibrator == nil {
            throw IngotError(.invalidArgument, location: "pass 'prune'", "method=wanda needs calibration data (--calibration FILE)")
        }
        let layers = prunableLinears(g)
        var norms: [ValueID: [Float]] = [:]
        if method == "wanda", let calibrator = context.calibrator {
            let stats = try calibrator.statistics(of: Array(Set(layers.map(\.view.x))), in: g)
            for (id, s) in stats { norms[id] = s.channelNorm }
        }
        var globalThreshold: Float?
        if try method == "magnitude" && options["scope"] == "global" {
            var all: [Float] = []
            for layer in layers { all += try g.floats(of: layer.view.weight).map { abs($0) } }
            all.sort()
            globalThreshold = all.isEmpty ? 0 : all[min(all.count - 1, Int(Double(all.count) * sparsity))]
        }
        var records: [LayerRecord] = []
        var zeros = 0, total = 0
        for layer in layers {
            let w = layer.view.weight
            let sizes = g.type(of: w).shape.fixedSizes!
            let (rows, cols) = (sizes[0], sizes[1])
            if method == "nm", cols % m != 0 { continue }
            let channelNorm = norms[layer.view.x]
            let threshold = globalThreshold
            let prune: @Sendable ([Float]) -> [Float] = { weights in
                switch method {
                case "nm": return UnstructuredPruner.nm(weights, rows: rows, cols: cols, n: n, m: m, channelNorm: channelNorm)
                case "wanda": return UnstructuredPruner.perRow(weights, rows: rows, cols: cols, sparsity: sparsity, channelNorm: channelNorm)
                default:
                    if let threshold { return weights.map { abs($0) < threshold ? 0 : $0 } }
                    return UnstructuredPruner.perLayer(weights, sparsity: sparsity)
                }
            }
            let pruned = g.addDerivedConstant(g[w].name + ".pruned", g.type(of: w), parents: [w], origin: "\(method)-pruned \(g[w].name)",
                                              compute: { TensorBuffer(array: prune(try Graph.floats($0[0], dtype: .f32, name: "weight"))) })
            var node = g.nodes[layer.node]
            node.inputs = node.inputs.map { $0 == w ? pruned : $0 }
            g.nodes[layer.node] = node
            var layerSparsity: Double?
            if g.constant(w)?.source != nil {
                let result = prune(try g.floats(of: w))
                let z = result.reduce(0) { $0 + ($1 == 0 ? 1 : 0) }
                zeros += z
                total += result.count
                layerSparsity = Double(z) / Double(max(result.count, 1))
            }
            records.append(LayerRecord(name: g[w].name, kind: "linear", dtype: "f32", sparsity: layerSparsity))
        }
        g.compact()
        return PassRecord(name: "prune", stats: [
            ("layers_pruned", Double(records.count)),
            ("weights_zeroed", Double(zeros)),
            ("sparsity", total > 0 ? Double(zeros) / Double(total) : 0),
        ], layers: records)
    }

    /// Zeros the `sparsity` fraction of smallest |w| in the whole matrix (ties broken by index).
    static func perLayer(_ w: [Float], sparsity: Double) -> [Float] {
        let k = Int(Double(w.count) * sparsity)
        guard k > 0 else { return w }
        let order = w.indices.sorted { abs(w[$0]) != abs(w[$1]) ? abs(w[$0]) < abs(w[$1]) : $0 < $1 }
        var out = w
        for i in order.prefix(k) { out[i] = 0 }
        return out
    }

    /// Wanda: within each output row, zeros the `sparsity` fraction with the smallest |w|·‖x_j‖.
    static func perRow(_ w: [Float], rows: Int, cols: Int, sparsity: Double, channelNorm: [Float]?) -> [Float] {
        let k = Int(Double(cols) * sparsity)
        var out = w
        guard k > 0 else { return out }
        for r in 0..<rows {
            let base = r * cols
            let score = (0..<cols).map { abs(w[base + $0]) * (channelNorm?[$0] ?? 1) }
            let order = (0..<cols).sorted { score[$0] != score[$1] ? score[$0] < score[$1] : $0 < $1 }
            for j in order.prefix(k) { out[base + j] = 0 }
        }
        return out
    }

    /// Keeps the n highest-scoring weights of every m consecutive inputs in each row.
    static func nm(_ w: [Float], rows: Int, cols: Int, n: Int, m: Int, channelNorm: [Float]?) -> [Float] {
        var out = w
        for r in 0..<rows {
            for start in stride(from: 0, to: cols, by: m) {
                let idx = (start..<start + m).map { r * cols + $0 }
                let order = idx.sorted {
                    let a = abs(w[$0]) * (channelNorm?[$0 - r * cols] ?? 1), b = abs(w[$1]) * (channelNorm?[$1 - r * cols] ?? 1)
                    return a != b ? a > b : $0 < $1
                }
                for i in order.dropFirst(n) { out[i] = 0 }
            }
        }
        return out
    }
}
