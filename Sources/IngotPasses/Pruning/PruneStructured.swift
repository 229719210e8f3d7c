// Structured pruning (prune=structured:ffn=F:heads=H): removes the least important
// feed-forward neurons and attention heads, physically shrinking the matrices so the
// pruned model is smaller and faster, not just zero-filled. Importance of an FFN neuron:
// ‖its input-projection row‖ × ‖its output-projection column‖, times the neuron's
// activation norm on calibration data when available. Importance of a head: the
// Frobenius norm of its output-projection columns, times its context vectors' norm when
// calibrated. Heads are pruned in multi-head attention whose q, k, v come straight from
// linear layers (BERT family); grouped-query models get FFN pruning only.

import IngotCore
import IngotIR

struct StructuredPruner {
    let options: PassOptions
    let context: PassContext

    /// An FFN block: `up` (rows are neurons; for SwiGLU the stacked gate+up, neuron i is rows i and I+i) → `down` (columns are neurons).
    struct FFN {
        var up: Int
        var down: Int
        var gated: Bool
        var width: Int
    }

    func run(_ g: inout Graph) throws -> PassRecord {
        let ffnFraction = try options.double("ffn"), headFraction = try options.double("heads")
        guard ffnFraction > 0 || headFraction > 0 else {
            throw IngotError(.invalidArgument, location: "pass 'prune'", "method=structured needs ffn=F and/or heads=H above 0")
        }
        // Normalise to linear / swiglu form first (float-preserving).
        _ = try Pass.fuseSwiGLU.run(&g, context: context)
        _ = try Pass.fuseLinear.run(&g, context: context)
        var records: [LayerRecord] = []
        var removedNeurons = 0, removedHeads = 0
        let paramsBefore = g.parameterCount

        if ffnFraction > 0 {
            let blocks = findFFNs(g)
            guard !blocks.isEmpty else {
                throw IngotError(.unsupported, location: "pass 'prune'", "no feed-forward blocks (linear → activation → linear) found")
            }
            var activationNorms: [ValueID: [Float]] = [:]
            if let calibrator = context.calibrator {
                let values = blocks.map { g.nodes[$0.down].inputs[0] }
                for (id, s) in try calibrator.statistics(of: values, in: g) { activationNorms[id] = s.channelNorm }
            }
            for block in blocks {
                let keepCount = max(1, block.width - Int(Double(block.width) * ffnFraction))
                let upW = g.nodes[block.up].inputs[1], downW = g.nodes[block.down].inputs[1]
                let up = try g.floats(of: upW), down = try g.floats(of: downW)
                let k = g.type(of: upW).shape[1].fixedValue!, outDim = g.type(of: downW).shape[0].fixedValue!
                let actNorm = activationNorms[g.nodes[block.down].inputs[0]]
                let score = (0..<block.width).map { i -> Double in
                    var a = 0.0, b = 0.0
                    for j in 0..<k { a += Double(up[i * k + j] * up[i * k + j]) }
                    if block.gated { for j in 0..<k { a += Double(up[(block.width + i) * k + j] * up[(block.width + i) * k + j]) } }
                    for r in 0..<outDim { b += Double(down[r * block.width + i] * down[r * block.width + i]) }
                    return a.squareRoot() * b.squareRoot() * Double(actNorm?[i] ?? 1)
                }
                let keep = (0..<block.width).sorted { score[$0] != score[$1] ? score[$0] > score[$1] : $0 < $1 }.prefix(keepCount).sorted()
                let upRows = block.gated ? keep + keep.map { $0 + block.width } : Array(keep)
                try shrinkRows(&g, node: block.up, rows: upRows)
                try shrinkColumns(&g, node: block.down, columns: Array(keep))
                removedNeurons += block.width - keepCount
                records.append(LayerRecord(name: g[g.nodes[block.down].inputs[1]].name, kind: "ffn", dtype: "f32",
                                           sparsity: Double(block.width - keepCount) / Double(block.width)))
            }
        }

        if headFraction > 0 {
            let attentions = g.nodes.indices.filter { if case .attention = g.nodes[$0].op { return true } else { return false } }
            for a in attentions {
                guard case .attention(var attrs) = g.nodes[a].op else { continue }
                guard attrs.relativeBuckets == 0 else {
                    throw IngotError(.unsupported, location: "pass 'prune' heads",
                                     "attention node \(a) shares a relative position bias table over its heads; use ffn= only")
                }
                guard attrs.heads == attrs.kvHeads else {
                    throw IngotError(.unsupported, location: "pass 'prune' heads",
                                     "grouped-query attention (\(attrs.heads) query heads, \(attrs.kvHeads) kv heads) is not head-pruned; use ffn= only")
                }
                let producers = g.producers()
                let users = g.users()
                let qkv = g.nodes[a].inputs.prefix(3).map { producers[$0.index] }
                guard qkv.allSatisfy({ $0 != nil && LinearView(g.nodes[$0!], in: g) != nil && users[g.nodes[$0!].outputs[0].index].count == 1 }),
                      let outNode = users[g.nodes[a].outputs[0].index].first, users[g.nodes[a].outputs[0].index].count == 1,
                      LinearView(g.nodes[outNode], in: g) != nil else {
                    throw IngotError(.unsupported, location: "pass 'prune' heads",
                                     "attention node \(a) does not read q, k, v straight from linear layers (run prune before fuse)")
                }
                let d = attrs.headDim, h = attrs.heads
                let keepCount = max(1, h - Int(Double(h) * headFraction))
                let wo = try g.floats(of: g.nodes[outNode].inputs[1])
                let width = h * d, outDim = wo.count / width
                let score = (0..<h).map { head -> Double in
                    var s = 0.0
                    for r in 0..<outDim { for c in head * d..<(head + 1) * d { s += Double(wo[r * width + c] * wo[r * width + c]) } }
                    return s.squareRoot()
                }
                let keep = (0..<h).sorted { score[$0] != score[$1] ? score[$0] > score[$1] : $0 < $1 }.prefix(keepCount).sorted()
                let channels = keep.flatMap { ($0 * d)..<(($0 + 1) * d) }
                for p in qkv { try shrinkRows(&g, node: p!, rows: channels) }
                try shrinkColumns(&g, node: outNode, columns: channels)
                attrs.heads = keepCount
                attrs.kvHeads = keepCount
                g.nodes[a].op = .attention(attrs)
                removedHeads += h - keepCount
                records.append(LayerRecord(name: g[g.nodes[outNode].inputs[1]].name, kind: "attention_heads", dtype: "f32",
                                           sparsity: Double(h - keepCount) / Double(h)))
            }
        }
        try g.reinferTypes()
        g.compact()
        return PassRecord(name: "prune", stats: [
            ("ffn_neurons_removed", Double(removedNeurons)),
            ("heads_removed", Double(removedHeads)),
            ("parameters_before", Double(paramsBefore)),
            ("parameters_after", Double(g.parameterCount)),
        ], layers: records)
    }

    /// linear(x, Wup){act} → y, or linear(x, Wgu) → swiglu → y, whose y is read only by linear(y, Wdown).
    func findFFNs(_ g: Graph) -> [FFN] {
        let users = g.users(), producers = g.producers()
        var out: [FFN] = []
        for (i, node) in g.nodes.enumerated() {
            guard case .linear = node.op, let down = LinearView(node, in: g), let p = producers[down.x.index],
                  users[down.x.index].count == 1 else { continue }
            if case .linear(let act) = g.nodes[p].op, act != .none, let up = LinearView(g.nodes[p], in: g),
               users[g.nodes[p].outputs[0].index].count == 1, let width = g.type(of: up.weight).shape[0].fixedValue {
                out.append(FFN(up: p, down: i, gated: false, width: width))
            } else if case .swiglu = g.nodes[p].op, let q = producers[g.nodes[p].inputs[0].index], case .linear(.none) = g.nodes[q].op,
                      let up = LinearView(g.nodes[q], in: g), users[g.nodes[q].outputs[0].index].count == 1,
                      let rows = g.type(of: up.weight).shape[0].fixedValue {
                out.append(FFN(up: q, down: i, gated: true, width: rows / 2))
            }
        }
        return out
    }

    /// Keeps only `rows` of the node's weight (and bias).
    func shrinkRows(_ g: inout Graph, node n: Int, rows: [Int]) throws {
        let view = LinearView(g.nodes[n], in: g)!
        let k = g.type(of: view.weight).shape[1].fixedValue!
        let w = view.weight
        let newW = g.addDerivedConstant(g[w].name + ".rows", TensorType(.f32, Shape(fixed: [rows.count, k])), parents: [w],
                                        origin: "rows of \(g[w].name)", compute: { bufs in
            let src = try Graph.floats(bufs[0], dtype: .f32, name: "weight")
            return TensorBuffer(array: rows.flatMap { src[$0 * k..<($0 + 1) * k] })
        })
        var inputs = [view.x, newW]
        if let b = view.bias {
            inputs.append(g.addDerivedConstant(g[b].name + ".rows", TensorType(.f32, Shape(fixed: [rows.count])), parents: [b],
                                               origin: "entries of \(g[b].name)", compute: { bufs in
                let src = try Graph.floats(bufs[0], dtype: .f32, name: "bias")
                return TensorBuffer(array: rows.map { src[$0] })
            }))
        }
        g.nodes[n].inputs = inputs
        g.nodes[n].op = .linear(activation: view.activation)
    }

    /// Keeps only `columns` (inputs) of the node's weight.
    func shrinkColumns(_ g: inout Graph, node n: Int, columns: [Int]) throws {
        let view = LinearView(g.nodes[n], in: g)!
        let sizes = g.type(of: view.weight).shape.fixedSizes!
        let (rows, k) = (sizes[0], sizes[1])
        let w = view.weight
        let newW = g.addDerivedConstant(g[w].name + ".cols", TensorType(.f32, Shape(fixed: [rows, columns.count])), parents: [w],
                                        origin: "columns of \(g[w].name)", compute: { bufs in
            let src = try Graph.floats(bufs[0], dtype: .f32, name: "weight")
            var out: [Float] = []
            out.reserveCapacity(rows * columns.count)
            for r in 0..<rows { for c in columns { out.append(src[r * k + c]) } }
            return TensorBuffer(array: out)
        })
        g.nodes[n].inputs[1] = newW
        g.nodes[n].op = .linear(activation: view.activation)
    }
}
