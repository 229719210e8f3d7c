// Gradients of softmax (last axis) and attention (multi-head, grouped-query, key padding
// mask, causal). Softmax rows — standalone and the masked score rows inside attention — run
// through ReferenceKernels.softmaxRow; attention's two products (Q·Kᵀ, P·V) run on BLAS for
// training speed and its probabilities are kept for the backward. The tape has no KV cache:
// a kv-cache attention runs as causal attention over its own keys.

import IngotCore
import IngotIR
import IngotKernels

extension Ops.Softmax: DifferentiableOp {
    static func forward<T: TrainingScalar>(_ node: Node, at index: Int, on tape: Tape<T>) throws {
        guard case .softmax(let axis) = node.op else { throw mismatch(node) }
        let shape = tape.s(node.inputs[0])
        guard axis == -1 || axis == shape.count - 1 else {
            throw IngotError(.unsupported, location: "softmax", "training supports the last axis only, got axis \(axis)")
        }
        var y = tape.f(node.inputs[0])
        let w = shape.last!
        if w > 0 {
            y.withUnsafeMutableBufferPointer { p in
                for r in 0..<p.count / w { ReferenceKernels.softmaxRow(p.baseAddress! + r * w, w) }
            }
        }
        tape.set(node.outputs[0], shape, y)
    }

    static func backward<T: TrainingScalar>(_ node: Node, at index: Int, outputGradients gs: [[T]], on tape: Tape<T>) throws {
        let y = tape.f(node.outputs[0]), w = tape.s(node.inputs[0]).last!, g = gs[0]
        var dx = [T](repeating: 0, count: y.count)
        for r in 0..<(w == 0 ? 0 : y.count / w) {
            var dot: T = 0
            for j in 0..<w { dot += g[r * w + j] * y[r * w + j] }
            for j in 0..<w { dx[r * w + j] = y[r * w + j] * (g[r * w + j] - dot) }
        }
        tape.accumulate(node.inputs[0], dx)
    }
}

extension Ops.Attention: DifferentiableOp {
    /// q [B, S, H·D], k, v [B, T, KV·D], mask [B, T] (optional) → [B, S, H·D].
    static func forward<T: TrainingScalar>(_ node: Node, at index: Int, on tape: Tape<T>) throws {
        guard case .attention(let a) = node.op else { throw mismatch(node) }
        guard a.relativeBuckets == 0 else {
            throw IngotError(.unsupported, location: "attention", "training through a relative position bias (relative_buckets \(a.relativeBuckets)) is not supported")
        }
        let ins = node.inputs
        let (sq, sk) = (tape.s(ins[0]), tape.s(ins[1]))
        let mask = ins.count == 4 ? tape.i32(ins[3]) : nil
        let (y, probs) = attentionForward(q: tape.f(ins[0]), k: tape.f(ins[1]), v: tape.f(ins[2]), mask: mask, batch: sq[0], seq: sq[1],
                                          keySeq: sk[1], a)
        tape.saved[index] = probs
        tape.set(node.outputs[0], sq, y)
    }

    static func backward<T: TrainingScalar>(_ node: Node, at index: Int, outputGradients gs: [[T]], on tape: Tape<T>) throws {
        guard case .attention(let a) = node.op else { throw mismatch(node) }
        let ins = node.inputs
        let (sq, sk) = (tape.s(ins[0]), tape.s(ins[1]))
        let (dq, dk, dv) = attentionBackward(gs[0], q: tape.f(ins[0]), k: tape.f(ins[1]), v: tape.f(ins[2]), probs: tape.saved[index]!,
                                             batch: sq[0], seq: sq[1], keySeq: sk[1], a)
        if tape.wants(node, 0) { tape.accumulate(ins[0], dq) }
        if tape.wants(node, 1) { tape.accumulate(ins[1], dk) }
        if tape.wants(node, 2) { tape.accumulate(ins[2], dv) }
    }

    /// Per batch b and head h (kv head h / (H / KV)): P = softmax(scale·Q·Kᵀ + mask), O = P·V.
    /// q, out [B, S, H·D]; k, v [B, T, KV·D]; probs [B, H, S, T] (kept for backward).
    static func attentionForward<T: TrainingScalar>(q: [T], k: [T], v: [T], mask: [Int32]?, batch: Int, seq: Int, keySeq: Int,
                                                    _ a: AttentionAttributes) -> ([T], [T]) {
        let (H, KV, D) = (a.heads, a.kvHeads, a.headDim)
        var out = [T](repeating: 0, count: batch * seq * H * D)
        var probs = [T](repeating: 0, count: batch * H * seq * keySeq)
        guard !out.isEmpty, !probs.isEmpty else { return (out, probs) }
        q.withUnsafeBufferPointer { pq in
            k.withUnsafeBufferPointer { pk in
                v.withUnsafeBufferPointer { pv in
                    probs.withUnsafeMutableBufferPointer { pp in
                        out.withUnsafeMutableBufferPointer { po in
                            for b in 0..<batch {
                                for h in 0..<H {
                                    let gIdx = h / (H / KV)
                                    let p = pp.baseAddress! + (b * H + h) * seq * keySeq
                                    let qb = pq.baseAddress! + b * seq * H * D + h * D
                                    let kb = pk.baseAddress! + b * keySeq * KV * D + gIdx * D
                                    let vb = pv.baseAddress! + b * keySeq * KV * D + gIdx * D
                                    T.gemm(transA: false, transB: true, m: seq, n: keySeq, k: D, alpha: T(a.scale), a: qb, lda: H * D,
                                           b: kb, ldb: KV * D, beta: 0, c: p, ldc: keySeq)
                                    for i in 0..<seq {
                                        let row = p + i * keySeq
                                        for j in 0..<keySeq {
                                            let padding = mask?[b * keySeq + j] == 0
                                            if padding || (a.causal && j > i) || (a.window > 0 && j <= i - a.window)
                                                || (a.window > 0 && !a.causal && j >= i + a.window) { row[j] = -T.infinity }
                                        }
                                        ReferenceKernels.softmaxRow(row, keySeq)
                                    }
                                    T.gemm(transA: false, transB: false, m: seq, n: D, k: keySeq, alpha: 1, a: p, lda: keySeq,
                                           b: vb, ldb: KV * D, beta: 0, c: po.baseAddress! + b * seq * H * D + h * D, ldc: H * D)
                                }
                            }
                        }
                    }
                }
            }
        }
        return (out, probs)
    }

    /// dP = dO·Vᵀ; dS = P ⊙ (dP − rowsum(dP ⊙ P)); dQ = scale·dS·K; dK += scale·dSᵀ·Q; dV += Pᵀ·dO.
    static func attentionBackward<T: TrainingScalar>(_ g: [T], q: [T], k: [T], v: [T], probs: [T], batch: Int, seq: Int, keySeq: Int,
                                                     _ a: AttentionAttributes) -> ([T], [T], [T]) {
        let (H, KV, D) = (a.heads, a.kvHeads, a.headDim)
        var dq = [T](repeating: 0, count: q.count), dk = [T](repeating: 0, count: k.count), dv = [T](repeating: 0, count: v.count)
        var ds = [T](repeating: 0, count: seq * keySeq)
        guard !g.isEmpty, !ds.isEmpty else { return (dq, dk, dv) }
        g.withUnsafeBufferPointer { pg in
            q.withUnsafeBufferPointer { pq in
                k.withUnsafeBufferPointer { pk in
                    v.withUnsafeBufferPointer { pv in
                        probs.withUnsafeBufferPointer { pp in
                            for b in 0..<batch {
                                for h in 0..<H {
                                    let gIdx = h / (H / KV)
                                    let p = pp.baseAddress! + (b * H + h) * seq * keySeq
                                    let qOff = b * seq * H * D + h * D, kOff = b * keySeq * KV * D + gIdx * D
                                    let gb = pg.baseAddress! + qOff
                                    ds.withUnsafeMutableBufferPointer { pd in
                                        let d = pd.baseAddress!
                                        T.gemm(transA: false, transB: true, m: seq, n: keySeq, k: D, alpha: 1, a: gb, lda: H * D,
                                               b: pv.baseAddress! + kOff, ldb: KV * D, beta: 0, c: d, ldc: keySeq)
                                        for i in 0..<seq {
                                            var dot: T = 0
                                            for j in 0..<keySeq { dot += d[i * keySeq + j] * p[i * keySeq + j] }
                                            for j in 0..<keySeq { d[i * keySeq + j] = p[i * keySeq + j] * (d[i * keySeq + j] - dot) }
                                        }
                                        dq.withUnsafeMutableBufferPointer { o in
                                            T.gemm(transA: false, transB: false, m: seq, n: D, k: keySeq, alpha: T(a.scale), a: d, lda: keySeq,
                                                   b: pk.baseAddress! + kOff, ldb: KV * D, beta: 1, c: o.baseAddress! + qOff, ldc: H * D)
                                        }
                                        dk.withUnsafeMutableBufferPointer { o in
                                            T.gemm(transA: true, transB: false, m: keySeq, n: D, k: seq, alpha: T(a.scale), a: d, lda: keySeq,
                                                   b: pq.baseAddress! + qOff, ldb: H * D, beta: 1, c: o.baseAddress! + kOff, ldc: KV * D)
                                        }
                                    }
                                    dv.withUnsafeMutableBufferPointer { o in
                                        T.gemm(transA: true, transB: false, m: keySeq, n: D, k: seq, alpha: 1, a: p, lda: keySeq,
                                               b: gb, ldb: H * D, beta: 1, c: o.baseAddress! + kOff, ldc: KV * D)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return (dq, dk, dv)
    }
}
