// fuse-attention: scaled-dot-product attention written out op by op, as exported ONNX and
// Hugging Face graphs have it (per-head reshapes and transposes, q·kᵀ as a batched matmul,
// scale, additive key-padding mask, softmax, ·v), becomes one `attention` node, whose kernel
// tiles the queries and never materialises the [B, H, S, S] scores. It does not match
// causal or grouped-query chains, masks other than a key-padding mask derived from an int32
// input, or keys transposed to [B, H, D, S] before the product.

import IngotCore
import IngotIR

extension Pass {
    /// Runs in `fuse` after fold-constants and before the linear fusions; it reads q, k and v
    /// as plain values, so what computes them does not matter. Fires when both head splits
    /// and the merge are reshape + transpose (0, 2, 1, 3), softmax is over the last axis, the
    /// scale (if any) is a constant scalar with known data, the mask (if any) is
    /// (1 − f32(m))·fill with m an int32 [B, S] value and fill a constant ≤ −1e4, and every
    /// value between the head splits and the final reshape has exactly one reader and is
    /// not a graph output. The mask nodes, shared by all layers, are removed once no chain
    /// reads them.
    ///
    ///     %maskf = cast(%mask) {to = f32}                                  [B, S]
    ///     %pad = sub(@one, %maskf)
    ///     %bias2 = mul(%pad, @fill)
    ///     %bias = reshape(%bias2) {shape = [B, 1, 1, S]}
    ///     %qh = reshape(%q) {shape = [B, S, H, D]}                         (k, v alike)
    ///     %qt = transpose(%qh) {permutation = [0, 2, 1, 3]}                [B, H, S, D]
    ///     %s = matmul(%qt, %kt) {transpose_b = true}                       [B, H, S, S]
    ///     %ss = mul(%s, @scale)
    ///     %sm = add(%ss, %bias)
    ///     %p = softmax(%sm) {axis = -1}
    ///     %c = matmul(%p, %vt) {transpose_b = false}                       [B, H, S, D]
    ///     %ct = transpose(%c) {permutation = [0, 2, 1, 3]}                 [B, S, H, D]
    ///     %a = reshape(%ct) {shape = [B, S, H·D]}
    /// →
    ///     %a = attention(%q, %k, %v, %mask) {heads = H, kv_heads = H, head_dim = D, causal = false, scale = <@scale>, kv_cache = false}
    ///
    /// Per batch row b and head h, with Q_h = q[b, :, h·D ..< (h+1)·D] (what reshape + transpose
    /// select, and what the kernel reads at stride H·D): softmax(c·Q_h·K_hᵀ + β)·V_h with
    /// β_j = (1 − m_j)·fill. For m_j = 1, β_j = 0; for m_j = 0, β_j = fill and
    /// e^(c·s_j + fill − max) underflows to 0 in float32 (|fill| ≥ 1e4 ≫ the scores' spread),
    /// the weight the fused op's −∞ gives. `div(%s, @d)` is the scale 1/d. The forms differ
    /// only for mask values other than 0 and 1 (the fused op keeps any non-zero key) and for
    /// rows whose keys are all padding (fused: zeros; decomposed: the mean of v).
    public static let fuseAttention = Pass(name: "fuse-attention", summary: "decomposed scaled-dot-product attention → attention") { g, _, _ in
        let index = GraphIndex(g)
        var rw = Rewriter()
        var maskNodes: Set<Int> = []
        for (i, node) in g.nodes.enumerated() {
            guard let chain = AttentionChain(endingAt: i, in: g, index), !chain.interior.contains(where: rw.isTouched) else { continue }
            rw.replace(i, with: [Node(op: .attention(chain.attributes), inputs: chain.inputs, outputs: node.outputs)],
                       alsoRemove: chain.interior)
            maskNodes.formUnion(chain.maskNodes)
        }
        let fused = rw.count
        var maskRemoved = 0
        // Users come after producers, so walking backwards sees each reader's fate first.
        for n in maskNodes.sorted(by: >) {
            let orphaned = g.nodes[n].outputs.allSatisfy { out in
                !index.outputs.contains(out) && index.users[out.index].allSatisfy(rw.isTouched)
            }
            if orphaned {
                rw.remove(n)
                maskRemoved += 1
            }
        }
        rw.finish(&g)
        return PassRecord(name: "fuse-attention", stats: [("attention_fused", Double(fused)), ("mask_nodes_removed", Double(maskRemoved))])
    }
}

/// The (0, 2, 1, 3) permutation that swaps sequence and head axes.
private let headAxesSwap = [0, 2, 1, 3]

/// Mask fills at or below this make padded keys' weights underflow to 0.
private let largestMaskFill: Float = -1e4

/// x[d0, d1, H·D] → reshape [d0, d1, H, D] → transpose (0, 2, 1, 3) → [d0, H, d1, D], each
/// intermediate read only by the next node.
private struct HeadSplit {
    var source: ValueID
    var heads: Int
    var headDim: Int
    var nodes: [Int]

    init?(_ value: ValueID, in g: Graph, _ index: GraphIndex) {
        guard let t = index.soleProducer(of: value), case .transpose(let perm) = g.nodes[t].op, perm == headAxesSwap,
              let r = index.soleProducer(of: g.nodes[t].inputs[0]), case .reshape(let target) = g.nodes[r].op else { return nil }
        let x = g.nodes[r].inputs[0]
        let dims = g.type(of: x).shape.dims
        guard dims.count == 3, target.rank == 4, target[0] == dims[0], target[1] == dims[1],
              let h = target[2].fixedValue, let d = target[3].fixedValue, dims[2] == .fixed(h * d) else { return nil }
        (source, heads, headDim, nodes) = (x, h, d, [t, r])
    }
}

/// The value of a one-element f32 constant whose data is known.
private func scalarValue(_ id: ValueID, in g: Graph) -> Float? {
    let t = g.type(of: id)
    guard g.isConstant(id), t.dtype == .f32, t.shape.elementCount == 1, let values = try? g.floats(of: id) else { return nil }
    return values.first
}

/// The int32 [B, S] value behind an additive mask bias (1 − f32(m))·fill, reshapes allowed
/// anywhere in between, and the nodes computing it.
private func maskSource(of bias: ValueID, in g: Graph, _ index: GraphIndex) -> (mask: ValueID, nodes: [Int])? {
    var nodes: [Int] = []
    var x = bias
    func producerPastReshapes() -> Int? {
        while let p = index.producer(of: x), case .reshape = g.nodes[p].op {
            nodes.append(p)
            x = g.nodes[p].inputs[0]
        }
        return index.producer(of: x)
    }
    // ·fill, either side; the scalar must not widen the other operand.
    guard let mul = producerPastReshapes(), case .binary(.mul) = g.nodes[mul].op else { return nil }
    let (a, b) = (g.nodes[mul].inputs[0], g.nodes[mul].inputs[1])
    guard let found = [(a, b), (b, a)].lazy.compactMap({ p, f in scalarValue(f, in: g).map { (p, $0) } }).first,
          found.1.isFinite, found.1 <= largestMaskFill, g.type(of: found.0) == g.type(of: g.nodes[mul].outputs[0]) else { return nil }
    nodes.append(mul)
    x = found.0
    // 1 − f32(m)
    guard let sub = producerPastReshapes(), case .binary(.sub) = g.nodes[sub].op,
          scalarValue(g.nodes[sub].inputs[0], in: g) == 1,
          g.type(of: g.nodes[sub].inputs[1]) == g.type(of: g.nodes[sub].outputs[0]) else { return nil }
    nodes.append(sub)
    x = g.nodes[sub].inputs[1]
    guard let cast = producerPastReshapes(), case .cast(.f32) = g.nodes[cast].op else { return nil }
    nodes.append(cast)
    x = g.nodes[cast].inputs[0]
    _ = producerPastReshapes()
    guard g.type(of: x).dtype == .i32, g.type(of: x).shape.rank == 2 else { return nil }
    return (x, nodes)
}

/// One decomposed attention chain, read backwards from its final reshape.
private struct AttentionChain {
    var inputs: [ValueID]
    var attributes: AttentionAttributes
    /// Nodes replaced along with the final reshape (each read only inside the chain).
    var interior: [Int]
    /// Nodes computing the mask bias; other chains may read them too.
    var maskNodes: [Int]

    init?(endingAt end: Int, in g: Graph, _ index: GraphIndex) {
        let merge = g.nodes[end]
        guard case .reshape = merge.op,
              let ct = index.soleProducer(of: merge.inputs[0]), case .transpose(let perm) = g.nodes[ct].op, perm == headAxesSwap,
              let pv = index.soleProducer(of: g.nodes[ct].inputs[0]), case .matmul(transposeB: false) = g.nodes[pv].op,
              let sm = index.soleProducer(of: g.nodes[pv].inputs[0]), case .softmax(let axis) = g.nodes[sm].op,
              let v = HeadSplit(g.nodes[pv].inputs[1], in: g, index) else { return nil }
        var logits = g.nodes[sm].inputs[0]
        let rank = g.type(of: logits).shape.rank
        guard axis == -1 || axis == rank - 1, var p = index.soleProducer(of: logits) else { return nil }
        var interior = [ct, pv, sm] + v.nodes

        // + bias: the operand of the logits' own type is the scores; the other must be a mask.
        var bias: ValueID?
        if case .binary(.add) = g.nodes[p].op {
            let (a, b) = (g.nodes[p].inputs[0], g.nodes[p].inputs[1])
            let type = g.type(of: logits)
            guard g.type(of: a) == type || g.type(of: b) == type else { return nil }
            (logits, bias) = g.type(of: a) == type && g.type(of: b) != type ? (a, b) : (b, a)
            interior.append(p)
            guard let next = index.soleProducer(of: logits) else { return nil }
            p = next
        }
        // ·c (the constant on either side) or /d, a one-element constant that does not widen the scores.
        var scale: Float = 1
        if case .binary(let kind) = g.nodes[p].op, kind == .mul || kind == .div {
            let (a, b) = (g.nodes[p].inputs[0], g.nodes[p].inputs[1])
            let found = kind == .mul ? [(a, b), (b, a)].lazy.compactMap({ s, c in scalarValue(c, in: g).map { (s, $0) } }).first
                                     : scalarValue(b, in: g).map { (a, 1 / $0) }
            guard let found, found.1.isFinite, g.type(of: found.0) == g.type(of: logits),
                  let next = index.soleProducer(of: found.0) else { return nil }
            interior.append(p)
            (logits, scale, p) = (found.0, found.1, next)
        }
        guard case .matmul(transposeB: true) = g.nodes[p].op,
              let q = HeadSplit(g.nodes[p].inputs[0], in: g, index), let k = HeadSplit(g.nodes[p].inputs[1], in: g, index),
              q.heads == k.heads, k.heads == v.heads, q.headDim == k.headDim, k.headDim == v.headDim else { return nil }
        interior += [p] + q.nodes + k.nodes

        var inputs = [q.source, k.source, v.source]
        maskNodes = []
        if let bias {
            let qt = g.type(of: q.source).shape, kt = g.type(of: k.source).shape
            guard g.type(of: bias) == TensorType(.f32, Shape([qt[0], 1, 1, kt[1]])),
                  let source = maskSource(of: bias, in: g, index) else { return nil }
            inputs.append(source.mask)
            maskNodes = source.nodes
        }
        attributes = AttentionAttributes(heads: q.heads, kvHeads: q.heads, headDim: q.headDim, causal: false, scale: scale, kvCache: false)
        // The fused op must produce exactly the final reshape's type (this also checks the
        // batch and key-length agreement of q, k, v and the mask).
        guard let fusedTypes = try? inferOutputTypes(.attention(attributes), inputs.map { g.type(of: $0) }),
              fusedTypes == [g.type(of: merge.outputs[0])] else { return nil }
        self.inputs = inputs
        self.interior = interior
    }
}
