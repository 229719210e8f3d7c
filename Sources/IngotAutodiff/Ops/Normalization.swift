// Gradients of the row normalisations over the last axis: layer_norm, rms_norm and the fused
// add_layer_norm / add_rms_norm (which also output the sum). The forward runs the reference
// kernels; the backward recomputes each row's statistics from the input (mean and 1/std, or
// 1/rms) in the tape's scalar.

import IngotIR
import IngotKernels

extension Ops.LayerNorm: DifferentiableOp {
    /// x [..., W], gamma [W], beta [W].
    static func forward<T: TrainingScalar>(_ node: Node, at index: Int, on tape: Tape<T>) throws {
        guard case .layerNorm(let eps) = node.op else { throw mismatch(node) }
        let ins = node.inputs, shape = tape.s(ins[0])
        tape.set(node.outputs[0], shape, layerNormForward(tape.f(ins[0]), tape.f(ins[1]), tape.f(ins[2]), width: shape.last!, eps: eps))
    }

    static func backward<T: TrainingScalar>(_ node: Node, at index: Int, outputGradients gs: [[T]], on tape: Tape<T>) throws {
        guard case .layerNorm(let eps) = node.op else { throw mismatch(node) }
        let ins = node.inputs
        let (dx, dgamma, dbeta) = layerNormBackward(gs[0], tape.f(ins[0]), tape.f(ins[1]), width: tape.s(ins[0]).last!, eps: eps)
        if tape.wants(node, 0) { tape.accumulate(ins[0], dx) }
        if tape.wants(node, 1) { tape.accumulate(ins[1], dgamma) }
        if tape.wants(node, 2) { tape.accumulate(ins[2], dbeta) }
    }
}

extension Ops.RMSNorm: DifferentiableOp {
    /// x [..., W], weight [W].
    static func forward<T: TrainingScalar>(_ node: Node, at index: Int, on tape: Tape<T>) throws {
        guard case .rmsNorm(let eps) = node.op else { throw mismatch(node) }
        let ins = node.inputs, shape = tape.s(ins[0])
        tape.set(node.outputs[0], shape, rmsNormForward(tape.f(ins[0]), tape.f(ins[1]), width: shape.last!, eps: eps))
    }

    static func backward<T: TrainingScalar>(_ node: Node, at index: Int, outputGradients gs: [[T]], on tape: Tape<T>) throws {
        guard case .rmsNorm(let eps) = node.op else { throw mismatch(node) }
        let ins = node.inputs
        let (dx, dw) = rmsNormBackward(gs[0], tape.f(ins[0]), tape.f(ins[1]), width: tape.s(ins[0]).last!, eps: eps)
        if tape.wants(node, 0) { tape.accumulate(ins[0], dx) }
        if tape.wants(node, 1) { tape.accumulate(ins[1], dw) }
    }
}

extension Ops.AddLayerNorm: DifferentiableOp {
    /// a, b [..., W], gamma, beta [W] → (layerNorm(a + b), a + b).
    static func forward<T: TrainingScalar>(_ node: Node, at index: Int, on tape: Tape<T>) throws {
        guard case .addLayerNorm(let eps) = node.op else { throw mismatch(node) }
        let ins = node.inputs, shape = tape.s(ins[0]), w = shape.last!
        let (a, b, gamma, beta) = (tape.f(ins[0]), tape.f(ins[1]), tape.f(ins[2]), tape.f(ins[3]))
        var sum = [T](repeating: 0, count: a.count)
        let y = kernelOutput(a, count: a.count) { pa, py in
            b.withUnsafeBufferPointer { pb in
                gamma.withUnsafeBufferPointer { pg in
                    beta.withUnsafeBufferPointer { pbeta in
                        sum.withUnsafeMutableBufferPointer { ps in
                            ReferenceKernels.addLayerNorm(pa, pb.baseAddress!, gamma: pg.baseAddress!, beta: pbeta.baseAddress!, out: py,
                                                          sum: ps.baseAddress!, rows: a.count / w, cols: w, eps: eps)
                        }
                    }
                }
            }
        }
        tape.set(node.outputs[0], shape, y)
        tape.set(node.outputs[1], shape, sum)
    }

    static func backward<T: TrainingScalar>(_ node: Node, at index: Int, outputGradients gs: [[T]], on tape: Tape<T>) throws {
        guard case .addLayerNorm(let eps) = node.op else { throw mismatch(node) }
        let ins = node.inputs
        var (dsum, dgamma, dbeta) = layerNormBackward(gs[0], tape.f(node.outputs[1]), tape.f(ins[2]), width: tape.s(ins[0]).last!, eps: eps)
        for i in dsum.indices { dsum[i] += gs[1][i] }
        if tape.wants(node, 0) { tape.accumulate(ins[0], dsum) }
        if tape.wants(node, 1) { tape.accumulate(ins[1], dsum) }
        if tape.wants(node, 2) { tape.accumulate(ins[2], dgamma) }
        if tape.wants(node, 3) { tape.accumulate(ins[3], dbeta) }
    }
}

extension Ops.AddRMSNorm: DifferentiableOp {
    /// a, b [..., W], weight [W] → (rmsNorm(a + b), a + b).
    static func forward<T: TrainingScalar>(_ node: Node, at index: Int, on tape: Tape<T>) throws {
        guard case .addRMSNorm(let eps) = node.op else { throw mismatch(node) }
        let ins = node.inputs, shape = tape.s(ins[0]), w = shape.last!
        let (a, b, weight) = (tape.f(ins[0]), tape.f(ins[1]), tape.f(ins[2]))
        var sum = [T](repeating: 0, count: a.count)
        let y = kernelOutput(a, count: a.count) { pa, py in
            b.withUnsafeBufferPointer { pb in
                weight.withUnsafeBufferPointer { pw in
                    sum.withUnsafeMutableBufferPointer { ps in
                        ReferenceKernels.addRMSNorm(pa, pb.baseAddress!, weight: pw.baseAddress!, out: py, sum: ps.baseAddress!,
                                                    rows: a.count / w, cols: w, eps: eps)
                    }
                }
            }
        }
        tape.set(node.outputs[0], shape, y)
        tape.set(node.outputs[1], shape, sum)
    }

    static func backward<T: TrainingScalar>(_ node: Node, at index: Int, outputGradients gs: [[T]], on tape: Tape<T>) throws {
        guard case .addRMSNorm(let eps) = node.op else { throw mismatch(node) }
        let ins = node.inputs
        var (dsum, dw) = rmsNormBackward(gs[0], tape.f(node.outputs[1]), tape.f(ins[2]), width: tape.s(ins[0]).last!, eps: eps)
        for i in dsum.indices { dsum[i] += gs[1][i] }
        if tape.wants(node, 0) { tape.accumulate(ins[0], dsum) }
        if tape.wants(node, 1) { tape.accumulate(ins[1], dsum) }
        if tape.wants(node, 2) { tape.accumulate(ins[2], dw) }
    }
}

// MARK: Rows

/// Rows of width w through ReferenceKernels.layerNorm.
func layerNormForward<T: TrainingScalar>(_ x: [T], _ gamma: [T], _ beta: [T], width w: Int, eps: Float) -> [T] {
    kernelOutput(x, count: x.count) { px, py in
        gamma.withUnsafeBufferPointer { pg in
            beta.withUnsafeBufferPointer { pb in
                ReferenceKernels.layerNorm(px, gamma: pg.baseAddress!, beta: pb.baseAddress!, py, rows: x.count / w, cols: w, eps: eps)
            }
        }
    }
}

/// Rows of width w through ReferenceKernels.rmsNorm.
func rmsNormForward<T: TrainingScalar>(_ x: [T], _ weight: [T], width w: Int, eps: Float) -> [T] {
    kernelOutput(x, count: x.count) { px, py in
        weight.withUnsafeBufferPointer { pw in
            ReferenceKernels.rmsNorm(px, weight: pw.baseAddress!, py, rows: x.count / w, cols: w, eps: eps)
        }
    }
}

/// With x̂ = (x − μ)·r, r = 1/√(var + ε) per row: dx = r·(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂)),
/// dx̂ = g·γ; dγ = Σ g·x̂; dβ = Σ g.
func layerNormBackward<T: TrainingScalar>(_ g: [T], _ x: [T], _ gamma: [T], width w: Int, eps: Float) -> ([T], [T], [T]) {
    var dx = [T](repeating: 0, count: x.count), dgamma = [T](repeating: 0, count: w), dbeta = [T](repeating: 0, count: w)
    for r in 0..<x.count / w {
        var mean: T = 0
        for j in 0..<w { mean += x[r * w + j] }
        mean /= T(w)
        var v: T = 0
        for j in 0..<w { let d = x[r * w + j] - mean; v += d * d }
        let rstd = 1 / (v / T(w) + T(eps)).squareRoot()
        var sum1: T = 0, sum2: T = 0
        for j in 0..<w {
            let xhat = (x[r * w + j] - mean) * rstd, dxhat = g[r * w + j] * gamma[j]
            sum1 += dxhat
            sum2 += dxhat * xhat
            dgamma[j] += g[r * w + j] * xhat
            dbeta[j] += g[r * w + j]
        }
        sum1 /= T(w)
        sum2 /= T(w)
        for j in 0..<w {
            let xhat = (x[r * w + j] - mean) * rstd
            dx[r * w + j] = rstd * (g[r * w + j] * gamma[j] - sum1 - xhat * sum2)
        }
    }
    return (dx, dgamma, dbeta)
}

/// With r = 1/√(mean(x²) + ε) per row: dx = r·gw − x·r³·Σ(gw·x)/n with gw = g·w; dw = Σ g·x·r.
func rmsNormBackward<T: TrainingScalar>(_ g: [T], _ x: [T], _ weight: [T], width w: Int, eps: Float) -> ([T], [T]) {
    var dx = [T](repeating: 0, count: x.count), dw = [T](repeating: 0, count: w)
    for r in 0..<x.count / w {
        var ss: T = 0
        for j in 0..<w { ss += x[r * w + j] * x[r * w + j] }
        let inv = 1 / (ss / T(w) + T(eps)).squareRoot()
        var dot: T = 0
        for j in 0..<w {
            dot += g[r * w + j] * weight[j] * x[r * w + j]
            dw[j] += g[r * w + j] * x[r * w + j] * inv
        }
        let c = dot * inv * inv * inv / T(w)
        for j in 0..<w { dx[r * w + j] = g[r * w + j] * weight[j] * inv - x[r * w + j] * c }
    }
    return (dx, dw)
}
