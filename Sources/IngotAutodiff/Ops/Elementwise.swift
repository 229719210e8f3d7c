// Gradients of the elementwise ops: broadcasting binary arithmetic, GELU, SiLU, tanh and SwiGLU,
// with the activations' derivatives (shared with linear's epilogue). The activations' forward
// runs through the reference kernels; binary arithmetic is one expression per element here.

import IngotCore
import IngotIR
import IngotKernels
import RealModule

extension Ops.Binary: DifferentiableOp {
    static func forward<T: TrainingScalar>(_ node: Node, at index: Int, on tape: Tape<T>) throws {
        guard case .binary(let kind) = node.op else { throw mismatch(node) }
        let ins = node.inputs
        let (sa, sb) = (tape.s(ins[0]), tape.s(ins[1]))
        let shape = try Shape.broadcast(sa, sb)
        let (oa, ob) = (broadcastOffsets(sa, to: shape), broadcastOffsets(sb, to: shape))
        let (a, b) = (tape.f(ins[0]), tape.f(ins[1]))
        var y = [T](repeating: 0, count: shape.reduce(1, *))
        for i in y.indices {
            let x = a[oa?[i] ?? i], z = b[ob?[i] ?? i]
            switch kind {
            case .add: y[i] = x + z
            case .sub: y[i] = x - z
            case .mul: y[i] = x * z
            case .div: y[i] = x / z
            }
        }
        tape.set(node.outputs[0], shape, y)
    }

    static func backward<T: TrainingScalar>(_ node: Node, at index: Int, outputGradients gs: [[T]], on tape: Tape<T>) throws {
        guard case .binary(let kind) = node.op else { throw mismatch(node) }
        let ins = node.inputs, g = gs[0]
        let (sa, sb) = (tape.s(ins[0]), tape.s(ins[1]))
        let shape = tape.s(node.outputs[0])
        let (oa, ob) = (broadcastOffsets(sa, to: shape), broadcastOffsets(sb, to: shape))
        let (a, b) = (tape.f(ins[0]), tape.f(ins[1]))
        var da = [T](repeating: 0, count: a.count), db = [T](repeating: 0, count: b.count)
        for i in g.indices {
            let ia = oa?[i] ?? i, ib = ob?[i] ?? i
            switch kind {
            case .add: da[ia] += g[i]; db[ib] += g[i]
            case .sub: da[ia] += g[i]; db[ib] -= g[i]
            case .mul: da[ia] += g[i] * b[ib]; db[ib] += g[i] * a[ia]
            case .div: da[ia] += g[i] / b[ib]; db[ib] -= g[i] * a[ia] / (b[ib] * b[ib])
            }
        }
        if tape.wants(node, 0) { tape.accumulate(ins[0], da) }
        if tape.wants(node, 1) { tape.accumulate(ins[1], db) }
    }
}

extension Ops.GELU: DifferentiableOp {
    static func forward<T: TrainingScalar>(_ node: Node, at index: Int, on tape: Tape<T>) throws {
        guard case .gelu(let approximation) = node.op else { throw mismatch(node) }
        let x = tape.f(node.inputs[0])
        tape.set(node.outputs[0], tape.s(node.inputs[0]), kernelOutput(x, count: x.count) { px, py in
            switch approximation {
            case .erf: ReferenceKernels.geluErf(px, py, count: x.count)
            case .tanh: ReferenceKernels.geluTanh(px, py, count: x.count)
            }
        })
    }

    static func backward<T: TrainingScalar>(_ node: Node, at index: Int, outputGradients gs: [[T]], on tape: Tape<T>) throws {
        guard case .gelu(let approximation) = node.op else { throw mismatch(node) }
        let x = tape.f(node.inputs[0]), g = gs[0]
        let activation: Activation
        switch approximation {
        case .erf: activation = .gelu
        case .tanh: activation = .geluTanh
        }
        tape.accumulate(node.inputs[0], x.indices.map { g[$0] * activationDerivative(x[$0], activation) })
    }
}

extension Ops.Tanh: DifferentiableOp {
    static func forward<T: TrainingScalar>(_ node: Node, at index: Int, on tape: Tape<T>) throws {
        let x = tape.f(node.inputs[0])
        tape.set(node.outputs[0], tape.s(node.inputs[0]), kernelOutput(x, count: x.count) { px, py in
            ReferenceKernels.tanhElementwise(px, py, count: x.count)
        })
    }

    /// d tanh(x) / dx = 1 − tanh(x)².
    static func backward<T: TrainingScalar>(_ node: Node, at index: Int, outputGradients gs: [[T]], on tape: Tape<T>) throws {
        let y = tape.f(node.outputs[0]), g = gs[0]
        tape.accumulate(node.inputs[0], y.indices.map { g[$0] * (1 - y[$0] * y[$0]) })
    }
}

extension Ops.SiLU: DifferentiableOp {
    static func forward<T: TrainingScalar>(_ node: Node, at index: Int, on tape: Tape<T>) throws {
        let x = tape.f(node.inputs[0])
        tape.set(node.outputs[0], tape.s(node.inputs[0]), kernelOutput(x, count: x.count) { px, py in
            ReferenceKernels.silu(px, py, count: x.count)
        })
    }

    static func backward<T: TrainingScalar>(_ node: Node, at index: Int, outputGradients gs: [[T]], on tape: Tape<T>) throws {
        let x = tape.f(node.inputs[0]), g = gs[0]
        tape.accumulate(node.inputs[0], x.indices.map { g[$0] * activationDerivative(x[$0], .silu) })
    }
}

extension Ops.SwiGLU: DifferentiableOp {
    /// x [..., 2·half] = [gate | up] → y [..., half] = silu(gate) · up.
    static func forward<T: TrainingScalar>(_ node: Node, at index: Int, on tape: Tape<T>) throws {
        let shape = tape.s(node.inputs[0]), half = shape.last! / 2, x = tape.f(node.inputs[0])
        let rows = half == 0 ? 0 : x.count / (2 * half)
        var os = shape
        os[os.count - 1] = half
        tape.set(node.outputs[0], os, kernelOutput(x, count: rows * half) { px, py in
            ReferenceKernels.swiglu(px, py, rows: rows, half: half)
        })
    }

    static func backward<T: TrainingScalar>(_ node: Node, at index: Int, outputGradients gs: [[T]], on tape: Tape<T>) throws {
        let x = tape.f(node.inputs[0]), half = tape.s(node.inputs[0]).last! / 2, g = gs[0]
        var dx = [T](repeating: 0, count: x.count)
        for r in 0..<(half == 0 ? 0 : x.count / (2 * half)) {
            for i in 0..<half {
                let gate = x[r * 2 * half + i], up = x[r * 2 * half + half + i], d = g[r * half + i]
                dx[r * 2 * half + i] = d * up * activationDerivative(gate, .silu)
                dx[r * 2 * half + half + i] = d * gate / (1 + T.exp(-gate))
            }
        }
        tape.accumulate(node.inputs[0], dx)
    }
}

/// d act(x) / dx.
@inline(__always)
func activationDerivative<T: TrainingScalar>(_ x: T, _ a: Activation) -> T {
    switch a {
    case .none: return 1
    case .gelu:
        // Φ(x) + x·φ(x)
        let cdf = (1 + T.erf(x / T.sqrt(2))) / 2
        return cdf + x * T.exp(-x * x / 2) / T.sqrt(2 * T.pi)
    case .geluTanh:
        let c = T.sqrt(2 / T.pi)
        let t = T.tanh(c * (x + T(0.044715) * x * x * x))
        return (1 + t) / 2 + x * (1 - t * t) * c * (1 + 3 * T(0.044715) * x * x) / 2
    case .silu:
        let sig = 1 / (1 + T.exp(-x))
        return sig * (1 + x * (1 - sig))
    }
}

// MARK: Broadcasting

/// For each element of `shape`, the offset of the element of `from` it reads; nil when the shapes are equal.
func broadcastOffsets(_ from: [Int], to shape: [Int]) -> [Int]? {
    guard from != shape else { return nil }
    let count = shape.reduce(1, *), fromCount = from.reduce(1, *)
    // Trailing broadcast (a bias [H] over [..., H]): offsets repeat.
    if fromCount > 0, shape.count >= from.count, Array(shape.suffix(from.count)) == from {
        return (0..<count).map { $0 % fromCount }
    }
    let rank = shape.count
    let strides = broadcastStrides(from, rank: rank)
    var offsets = [Int](repeating: 0, count: count)
    var index = [Int](repeating: 0, count: rank)
    for i in 0..<count {
        var o = 0
        for d in 0..<rank { o += index[d] * strides[d] }
        offsets[i] = o
        var d = rank - 1
        while d >= 0 {
            index[d] += 1
            if index[d] < shape[d] { break }
            index[d] = 0
            d -= 1
        }
    }
    return offsets
}
