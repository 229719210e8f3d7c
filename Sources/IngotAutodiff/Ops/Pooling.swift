// Gradients of the sentence-embedding head: mean_pool over the real tokens of a mask, pool
// (first position, masked maximum, last real token) and l2_normalize over the last axis. The forward runs the reference kernels.

import IngotCore
import IngotIR
import IngotKernels

extension Ops.MeanPool: DifferentiableOp {
    /// x [B, S, H], mask [B, S] (0 = padding) → [B, H]; zeros for a row with no real token.
    static func forward<T: TrainingScalar>(_ node: Node, at index: Int, on tape: Tape<T>) throws {
        let ins = node.inputs
        let shape = tape.s(ins[0]), (b, sq, h) = (shape[0], shape[1], shape[2])
        let mask = tape.i32(ins[1])
        tape.set(node.outputs[0], [b, h], kernelOutput(tape.f(ins[0]), count: b * h) { px, py in
            mask.withUnsafeBufferPointer { pm in
                ReferenceKernels.meanPool(px, mask: pm.baseAddress!, py, batch: b, seq: sq, hidden: h)
            }
        })
    }

    static func backward<T: TrainingScalar>(_ node: Node, at index: Int, outputGradients gs: [[T]], on tape: Tape<T>) throws {
        let ins = node.inputs, g = gs[0]
        let shape = tape.s(ins[0]), (b, sq, h) = (shape[0], shape[1], shape[2])
        let mask = tape.i32(ins[1])
        var dx = [T](repeating: 0, count: b * sq * h)
        for bi in 0..<b {
            let count = T((0..<sq).filter { mask[bi * sq + $0] != 0 }.count)
            let inv = 1 / max(count, T(1e-9))
            for t in 0..<sq where mask[bi * sq + t] != 0 {
                for d in 0..<h { dx[(bi * sq + t) * h + d] = g[bi * h + d] * inv }
            }
        }
        tape.accumulate(ins[0], dx)
    }
}

extension Ops.Pool: DifferentiableOp {
    static func selection(_ mode: PoolMode) -> PoolSelection {
        switch mode {
        case .cls: return .first
        case .max: return .max
        case .lastToken: return .last
        }
    }

    /// x [B, S, H], mask [B, S] (0 = padding) → [B, H]; zeros for a row with no real token (max, last_token).
    static func forward<T: TrainingScalar>(_ node: Node, at index: Int, on tape: Tape<T>) throws {
        guard case .pool(let mode) = node.op else { throw mismatch(node) }
        let ins = node.inputs
        let shape = tape.s(ins[0]), (b, sq, h) = (shape[0], shape[1], shape[2])
        let mask = tape.i32(ins[1])
        tape.set(node.outputs[0], [b, h], kernelOutput(tape.f(ins[0]), count: b * h) { px, py in
            mask.withUnsafeBufferPointer { pm in
                ReferenceKernels.pool(px, mask: pm.baseAddress!, py, batch: b, seq: sq, hidden: h, selection: selection(mode))
            }
        })
    }

    /// The gradient goes to the position each output element was taken from (for max, the first
    /// real position holding the maximum).
    static func backward<T: TrainingScalar>(_ node: Node, at index: Int, outputGradients gs: [[T]], on tape: Tape<T>) throws {
        guard case .pool(let mode) = node.op else { throw mismatch(node) }
        let ins = node.inputs, g = gs[0]
        let shape = tape.s(ins[0]), (b, sq, h) = (shape[0], shape[1], shape[2])
        let mask = tape.i32(ins[1]), x = tape.f(ins[0])
        var dx = [T](repeating: 0, count: b * sq * h)
        for bi in 0..<b {
            let real = (0..<sq).filter { mask[bi * sq + $0] != 0 }
            for d in 0..<h {
                let source: Int?
                switch mode {
                case .cls: source = 0
                case .max: source = real.max { x[(bi * sq + $0) * h + d] < x[(bi * sq + $1) * h + d] }
                case .lastToken: source = real.last
                }
                if let s = source { dx[(bi * sq + s) * h + d] += g[bi * h + d] }
            }
        }
        tape.accumulate(ins[0], dx)
    }
}

extension Ops.L2Normalize: DifferentiableOp {
    /// x [..., W] → rows divided by max(‖row‖₂, ε); the last axis only.
    static func forward<T: TrainingScalar>(_ node: Node, at index: Int, on tape: Tape<T>) throws {
        guard case .l2Normalize(let axis, let eps) = node.op else { throw mismatch(node) }
        let shape = tape.s(node.inputs[0])
        guard axis == -1 || axis == shape.count - 1 else {
            throw IngotError(.unsupported, location: "l2_normalize", "training supports the last axis only, got axis \(axis)")
        }
        let w = shape.last!, x = tape.f(node.inputs[0])
        tape.set(node.outputs[0], shape, kernelOutput(x, count: x.count) { px, py in
            ReferenceKernels.l2Normalize(px, py, rows: x.count / w, cols: w, eps: eps)
        })
    }

    static func backward<T: TrainingScalar>(_ node: Node, at index: Int, outputGradients gs: [[T]], on tape: Tape<T>) throws {
        guard case .l2Normalize(_, let eps) = node.op else { throw mismatch(node) }
        let x = tape.f(node.inputs[0]), y = tape.f(node.outputs[0]), w = tape.s(node.inputs[0]).last!, g = gs[0]
        var dx = [T](repeating: 0, count: x.count)
        for r in 0..<x.count / w {
            var ss: T = 0, dot: T = 0
            for j in 0..<w { ss += x[r * w + j] * x[r * w + j]; dot += y[r * w + j] * g[r * w + j] }
            let norm = ss.squareRoot()
            if norm > T(eps) {
                for j in 0..<w { dx[r * w + j] = (g[r * w + j] - y[r * w + j] * dot) / norm }
            } else {
                for j in 0..<w { dx[r * w + j] = g[r * w + j] / T(eps) }
            }
        }
        tape.accumulate(node.inputs[0], dx)
    }
}
