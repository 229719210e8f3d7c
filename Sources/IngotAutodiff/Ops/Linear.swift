// Gradients of the matrix products: matmul (2-D or batched right operand) and the fused
// linear (x·wᵀ + bias, then an activation). The products run on BLAS (`T.gemm`) in Float and
// Double for training speed; the activation of linear runs through the reference kernel.
// Nothing else: activations' derivatives are in Elementwise.swift.

import IngotIR
import IngotKernels

extension Ops.MatMul: DifferentiableOp {
    static func forward<T: TrainingScalar>(_ node: Node, at index: Int, on tape: Tape<T>) throws {
        guard case .matmul(let transposeB) = node.op else { throw mismatch(node) }
        let ins = node.inputs
        let (y, shape) = matmulForward(tape.f(ins[0]), tape.s(ins[0]), tape.f(ins[1]), tape.s(ins[1]), transposeB)
        tape.set(node.outputs[0], shape, y)
    }

    static func backward<T: TrainingScalar>(_ node: Node, at index: Int, outputGradients gs: [[T]], on tape: Tape<T>) throws {
        guard case .matmul(let transposeB) = node.op else { throw mismatch(node) }
        let ins = node.inputs
        let (da, db) = matmulBackward(gs[0], tape.f(ins[0]), tape.s(ins[0]), tape.f(ins[1]), tape.s(ins[1]), transposeB,
                                      wantA: tape.wants(node, 0), wantB: tape.wants(node, 1))
        if let da { tape.accumulate(ins[0], da) }
        if let db { tape.accumulate(ins[1], db) }
    }
}

extension Ops.Linear: DifferentiableOp {
    /// x [..., K], w [N, K], bias [N]: pre = x·wᵀ + bias (kept for the backward when activated), y = act(pre).
    static func forward<T: TrainingScalar>(_ node: Node, at index: Int, on tape: Tape<T>) throws {
        guard case .linear(let activation) = node.op else { throw mismatch(node) }
        let ins = node.inputs
        let (z, shape) = matmulForward(tape.f(ins[0]), tape.s(ins[0]), tape.f(ins[1]), tape.s(ins[1]), true)
        var pre = z
        if ins.count == 3 {
            let bias = tape.f(ins[2]), nOut = shape.last!
            for i in pre.indices { pre[i] += bias[i % nOut] }
        }
        guard activation != .none else {
            tape.set(node.outputs[0], shape, pre)
            return
        }
        tape.saved[index] = pre
        tape.set(node.outputs[0], shape, kernelOutput(pre, count: pre.count) { x, y in
            ReferenceKernels.activation(x, y, count: pre.count, activation.epilogue)
        })
    }

    static func backward<T: TrainingScalar>(_ node: Node, at index: Int, outputGradients gs: [[T]], on tape: Tape<T>) throws {
        guard case .linear(let activation) = node.op else { throw mismatch(node) }
        let ins = node.inputs
        var dz = gs[0]
        if activation != .none {
            let pre = tape.saved[index]!
            for i in dz.indices { dz[i] *= activationDerivative(pre[i], activation) }
        }
        let (dx, dw) = matmulBackward(dz, tape.f(ins[0]), tape.s(ins[0]), tape.f(ins[1]), tape.s(ins[1]), true,
                                      wantA: tape.wants(node, 0), wantB: tape.wants(node, 1))
        if let dx { tape.accumulate(ins[0], dx) }
        if let dw { tape.accumulate(ins[1], dw) }
        if tape.wants(node, 2) {
            let nOut = tape.s(ins[1])[0]
            var db = [T](repeating: 0, count: nOut)
            for i in dz.indices { db[i % nOut] += dz[i] }
            tape.accumulate(ins[2], db)
        }
    }
}

// MARK: Matrix products

/// a[…, K] · b (b [N, K] with transposeB, else [K, N]; or batched b [B…, K, N] matching a's leading dims).
func matmulForward<T: TrainingScalar>(_ a: [T], _ sa: [Int], _ b: [T], _ sb: [Int], _ transposeB: Bool) -> ([T], [Int]) {
    let k = sa.last!
    let n = transposeB ? sb[sb.count - 2] : sb.last!
    if sb.count == 2 {
        let m = a.count / max(k, 1)
        var y = [T](repeating: 0, count: m * n)
        matmul(a, b, into: &y, m: m, n: n, k: k, transB: transposeB)
        return (y, Array(sa.dropLast()) + [n])
    }
    let m = sa[sa.count - 2], batches = a.count / (m * k)
    var y = [T](repeating: 0, count: batches * m * n)
    a.withUnsafeBufferPointer { pa in
        b.withUnsafeBufferPointer { pb in
            y.withUnsafeMutableBufferPointer { py in
                for i in 0..<batches {
                    T.gemm(transA: false, transB: transposeB, m: m, n: n, k: k, alpha: 1, a: pa.baseAddress! + i * m * k, lda: k,
                           b: pb.baseAddress! + i * k * n, ldb: transposeB ? k : n, beta: 0, c: py.baseAddress! + i * m * n, ldc: n)
                }
            }
        }
    }
    return (y, Array(sa.dropLast()) + [n])
}

/// ∂L/∂a and ∂L/∂b of `matmulForward` given ∂L/∂y (nil where not wanted).
func matmulBackward<T: TrainingScalar>(_ g: [T], _ a: [T], _ sa: [Int], _ b: [T], _ sb: [Int], _ transposeB: Bool,
                                       wantA: Bool, wantB: Bool) -> ([T]?, [T]?) {
    let k = sa.last!
    let n = transposeB ? sb[sb.count - 2] : sb.last!
    if sb.count == 2 {
        let m = a.count / max(k, 1)
        var da: [T]? = nil, db: [T]? = nil
        if wantA {
            // y = a·bᵀ: da = g·b;  y = a·b: da = g·bᵀ
            var d = [T](repeating: 0, count: a.count)
            matmul(g, b, into: &d, m: m, n: k, k: n, transB: !transposeB)
            da = d
        }
        if wantB {
            var d = [T](repeating: 0, count: b.count)
            if transposeB { matmul(g, a, into: &d, m: n, n: k, k: m, transA: true) }   // db[N, K] = gᵀ·a
            else { matmul(a, g, into: &d, m: k, n: n, k: m, transA: true) }            // db[K, N] = aᵀ·g
            db = d
        }
        return (da, db)
    }
    let m = sa[sa.count - 2], batches = a.count / (m * k)
    var da = [T](repeating: 0, count: wantA ? a.count : 0), db = [T](repeating: 0, count: wantB ? b.count : 0)
    g.withUnsafeBufferPointer { pg in
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                for i in 0..<batches {
                    let gi = pg.baseAddress! + i * m * n, ai = pa.baseAddress! + i * m * k, bi = pb.baseAddress! + i * k * n
                    if wantA {
                        da.withUnsafeMutableBufferPointer { d in
                            T.gemm(transA: false, transB: !transposeB, m: m, n: k, k: n, alpha: 1, a: gi, lda: n, b: bi,
                                   ldb: transposeB ? k : n, beta: 0, c: d.baseAddress! + i * m * k, ldc: k)
                        }
                    }
                    if wantB {
                        db.withUnsafeMutableBufferPointer { d in
                            if transposeB {
                                T.gemm(transA: true, transB: false, m: n, n: k, k: m, alpha: 1, a: gi, lda: n, b: ai, ldb: k,
                                       beta: 0, c: d.baseAddress! + i * k * n, ldc: k)
                            } else {
                                T.gemm(transA: true, transB: false, m: k, n: n, k: m, alpha: 1, a: ai, lda: k, b: gi, ldb: n,
                                       beta: 0, c: d.baseAddress! + i * k * n, ldc: n)
                            }
                        }
                    }
                }
            }
        }
    }
    return (wantA ? da : nil, wantB ? db : nil)
}
