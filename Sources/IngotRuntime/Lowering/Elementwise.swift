// Elementwise: `add`/`sub`/`mul`/`div` with numpy broadcasting, `gelu`, `silu`, `tanh`, `swiglu` and
// `cast`. Broadcasting arithmetic and cast are here; the activations are IngotKernels calls.

import IngotCore
import IngotIR
import IngotKernels

extension Ops.Binary: KernelLowering {
    static func kernel(for node: PlannedNode, in graph: Graph) throws -> KernelCall {
        guard case .binary(let kind) = node.op else { throw otherOp(node.op) }
        // a, b broadcast to out
        let (aShape, bShape, outShape) = (node.inputs[0].shape, node.inputs[1].shape, node.outputs[0].shape)
        return { b, _ in
            binary(kind, a: b.f32(0), aShape: aShape, b: b.f32(1), bShape: bShape, out: b.out(), outShape: outShape)
        }
    }

    static func apply(_ kind: BinaryKind, _ x: Float, _ y: Float) -> Float {
        switch kind {
        case .add: return x + y
        case .sub: return x - y
        case .mul: return x * y
        case .div: return x / y
        }
    }

    static func binary(_ kind: BinaryKind, a: UnsafePointer<Float>, aShape: [Int], b: UnsafePointer<Float>, bShape: [Int],
                       out: UnsafeMutablePointer<Float>, outShape: [Int]) {
        let count = outShape.reduce(1, *)
        let aCount = aShape.reduce(1, *), bCount = bShape.reduce(1, *)
        if aCount == count && bCount == count {
            switch kind {
            case .add: for i in 0..<count { out[i] = a[i] + b[i] }
            case .sub: for i in 0..<count { out[i] = a[i] - b[i] }
            case .mul: for i in 0..<count { out[i] = a[i] * b[i] }
            case .div: for i in 0..<count { out[i] = a[i] / b[i] }
            }
            return
        }
        if aCount == count, bCount > 0, isTrailing(bShape, of: outShape) {
            // b repeats along the leading dimensions (a bias row).
            var i = 0
            while i < count {
                for j in 0..<bCount { out[i + j] = apply(kind, a[i + j], b[j]) }
                i += bCount
            }
            return
        }
        // General broadcasting by strides.
        let rank = outShape.count
        let sa = broadcastStrides(aShape, rank: rank), sb = broadcastStrides(bShape, rank: rank)
        var index = [Int](repeating: 0, count: rank)
        for i in 0..<count {
            var ia = 0, ib = 0
            for d in 0..<rank { ia += index[d] * sa[d]; ib += index[d] * sb[d] }
            out[i] = apply(kind, a[ia], b[ib])
            advance(&index, within: outShape)
        }
    }

    /// True when `s` (after dropping leading 1s) equals the trailing dimensions of `full`.
    static func isTrailing(_ s: [Int], of full: [Int]) -> Bool {
        let trimmed = Array(s.drop { $0 == 1 })
        guard trimmed.count <= full.count else { return false }
        return Array(full.suffix(trimmed.count)) == trimmed
    }
}

extension Ops.GELU: KernelLowering {
    static func kernel(for node: PlannedNode, in graph: Graph) throws -> KernelCall {
        guard case .gelu(let approximation) = node.op else { throw otherOp(node.op) }
        let count = node.outputs[0].elementCount
        switch approximation {
        case .erf: return { b, _ in Kernels.geluErf(b.f32(0), b.out(), count: count, pool: Threads.pool) }
        case .tanh: return { b, _ in Kernels.geluTanh(b.f32(0), b.out(), count: count, pool: Threads.pool) }
        }
    }
}

extension Ops.SiLU: KernelLowering {
    static func kernel(for node: PlannedNode, in graph: Graph) throws -> KernelCall {
        guard case .silu = node.op else { throw otherOp(node.op) }
        let count = node.outputs[0].elementCount
        return { b, _ in Kernels.silu(b.f32(0), b.out(), count: count, pool: Threads.pool) }
    }
}

extension Ops.Tanh: KernelLowering {
    static func kernel(for node: PlannedNode, in graph: Graph) throws -> KernelCall {
        guard case .tanh = node.op else { throw otherOp(node.op) }
        let count = node.outputs[0].elementCount
        return { b, _ in Kernels.tanhElementwise(b.f32(0), b.out(), count: count) }
    }
}

extension Ops.SwiGLU: KernelLowering {
    static func kernel(for node: PlannedNode, in graph: Graph) throws -> KernelCall {
        guard case .swiglu = node.op else { throw otherOp(node.op) }
        // x [rows…, 2·half] → [rows…, half]
        let half = node.outputs[0].shape.last!, rows = node.outputs[0].elementCount / max(half, 1)
        return { b, _ in Kernels.swiglu(b.f32(0), b.out(), rows: rows, half: half, pool: Threads.pool) }
    }
}

extension Ops.Cast: KernelLowering {
    static func kernel(for node: PlannedNode, in graph: Graph) throws -> KernelCall {
        guard case .cast(let to) = node.op else { throw otherOp(node.op) }
        let from = node.inputs[0].dtype, count = node.outputs[0].elementCount
        return { b, _ in try cast(x: b.inputs[0], from: from, out: b.outputs[0], to: to, count: count) }
    }

    static func cast(x: UnsafeMutableRawPointer, from: DType, out: UnsafeMutableRawPointer, to: DType, count: Int) throws {
        switch (from, to) {
        case (.i32, .f32):
            for i in 0..<count { out.assumingMemoryBound(to: Float.self)[i] = Float(x.assumingMemoryBound(to: Int32.self)[i]) }
        case (.f32, .i32):
            for i in 0..<count {
                let f = x.assumingMemoryBound(to: Float.self)[i]
                out.assumingMemoryBound(to: Int32.self)[i] = f.isNaN ? 0 : Int32(max(min(f.rounded(.toNearestOrEven), 2147483520), -2147483648))
            }
        case (.f32, .f32), (.i32, .i32):
            try Executor.copyBytes(out, from: x, count: count * 4)
        default:
            throw IngotError(.unsupported, location: "cast", "from \(from) to \(to) is not supported by the runtime")
        }
    }
}
