// sparsify: stores the weights of sparse linear layers in CSR so the runtime's sparse
// kernel skips the zeros — fewer bytes per decoded token and fewer multiply-adds:
//
//     %y = linear(%x, @w, @b) {activation = gelu}         @w: f32[N, K], ≥ min-sparsity zeros
//   →
//     %y = linear_sparse(%x, @w.values, @w.columns, @w.row_offsets, @b) {activation = gelu}
//                                                           f32[nnz], i16[nnz], i32[N + 1]
//
// y[t, n] = act(Σ_{j ∈ row n} values[j] · x[t, columns[j]] + b[n]) = act(x · wᵀ + b)[t, n].
// It does not prune (run `prune` first) and leaves int8 layers, weights that other nodes
// also read (a tied embedding), inputs wider than 32767 and layers below the threshold alone.

import IngotCore
import IngotIR

extension Pass {
    /// Runs after `prune` (and `reconstruct`/`distill`), instead of `quantize` for those layers.
    public static let sparsify = Pass(
        name: "sparsify", summary: "store linear weights with enough zeros as CSR for the sparse kernel",
        positional: "min-sparsity",
        options: [
            PassOption("min-sparsity", .numberOrAuto(0...0.999), default: "auto",
                       "convert a layer when at least this fraction of its weights is zero; auto: 0.5 for decoders, 0.75 for encoders"),
        ],
        body: { g, options, _ in
            let threshold = try options.numberOrAuto("min-sparsity") ?? autoThreshold(g)
            var record = try sparsify(&g, minSparsity: threshold)
            record.stats.insert(("min_sparsity", threshold), at: 0)
            return record
        })

    /// Where CSR pays off in this runtime (measured, see the header): a KV-cache decoder reads
    /// every weight once per generated token, so CSR (6 bytes a nonzero) wins once it is
    /// smaller than dense (4 bytes a weight), above 1/3 sparse — 0.5 leaves a margin; an
    /// encoder runs many tokens per weight, where the sparse kernel matches sgemm at about
    /// 70% zeros (MiniLM p50 against dense, 128 tokens: 1.32× at 50%, 0.96× at 70%, 0.63×
    /// at 90%; 16 tokens: 0.62×, 0.42×, 0.26×) — 0.75 keeps long inputs from slowing down.
    static func autoThreshold(_ g: Graph) -> Double {
        let decoder = g.nodes.contains { node in
            if case .attention(let a) = node.op { return a.kvCache }
            return false
        }
        return decoder ? 0.5 : 0.75
    }

    static func sparsify(_ g: inout Graph, minSparsity: Double) throws -> PassRecord {
        let users = g.users()
        var rw = Rewriter()
        var layers: [LayerRecord] = []
        var denseBytes = 0, sparseBytes = 0
        for (i, node) in g.nodes.enumerated() {
            guard let view = LinearView(node, in: g), g.type(of: view.weight).dtype == .f32, users[view.weight.index].count == 1,
                  let dims = g.type(of: view.weight).shape.fixedSizes, dims.count == 2, dims[1] <= Int(Int16.max),
                  g.constant(view.weight)?.source != nil else { continue }
            let (n, k) = (dims[0], dims[1])
            let w = try g.floats(of: view.weight)
            let nnz = w.reduce(0) { $0 + ($1 == 0 ? 0 : 1) }
            let sparsity = 1 - Double(nnz) / Double(max(w.count, 1))
            guard sparsity >= minSparsity, nnz > 0 else { continue }
            let name = g[view.weight].name
            let values = g.addDerivedConstant(name + ".values", TensorType(.f32, Shape(fixed: [nnz])), parents: [view.weight],
                                              origin: "nonzeros of \(name), row by row") { parents in
                TensorBuffer(array: parents[0].toArray(of: Float.self).filter { $0 != 0 })
            }
            let columns = g.addDerivedConstant(name + ".columns", TensorType(.i16, Shape(fixed: [nnz])), parents: [view.weight],
                                               origin: "column of each nonzero of \(name)") { parents in
                let w = parents[0].toArray(of: Float.self)
                return TensorBuffer(array: w.indices.filter { w[$0] != 0 }.map { Int16($0 % k) })
            }
            let offsets = g.addDerivedConstant(name + ".row_offsets", TensorType(.i32, Shape(fixed: [n + 1])), parents: [view.weight],
                                               origin: "row offsets of \(name)'s nonzeros") { parents in
                let w = parents[0].toArray(of: Float.self)
                var offsets: [Int32] = [0]
                for r in 0..<n { offsets.append(offsets[r] + Int32(w[(r * k)..<((r + 1) * k)].reduce(0) { $0 + ($1 == 0 ? 0 : 1) })) }
                return TensorBuffer(array: offsets)
            }
            var inputs = [view.x, values, columns, offsets]
            if let b = view.bias { inputs.append(b) }
            rw.replace(i, with: [Node(op: .linearSparse(activation: view.activation), inputs: inputs, outputs: node.outputs)])
            denseBytes += w.count * 4
            sparseBytes += nnz * 6 + (n + 1) * 4
            layers.append(LayerRecord(name: name, kind: "linear_sparse", dtype: "f32", sparsity: sparsity))
        }
        rw.finish(&g)
        return PassRecord(name: "sparsify", stats: [("layers_converted", Double(rw.count)), ("dense_bytes", Double(denseBytes)),
                                                    ("sparse_bytes", Double(sparseBytes)), ("bytes_saved", Double(denseBytes - sparseBytes))],
                          layers: layers)
    }
}
