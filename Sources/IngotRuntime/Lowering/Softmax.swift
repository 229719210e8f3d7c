// Softmax: `softmax` on any axis, computed here in plain Swift (exp via Glibc). Attention's
// softmax is inside Kernels.attention and does not come through here.

import IngotCore
import IngotIR

#if canImport(Glibc)
import Glibc
#endif

extension Ops.Softmax: KernelLowering {
    static func kernel(for node: PlannedNode, in graph: Graph) throws -> KernelCall {
        guard case .softmax(let axis) = node.op else { throw otherOp(node.op) }
        let shape = node.outputs[0].shape
        let a = axis < 0 ? axis + shape.count : axis
        return { b, _ in softmax(x: b.f32(0), out: b.out(), shape: shape, axis: a) }
    }

    /// x [outer…, n, inner…] → same shape, normalized along the n axis.
    static func softmax(x: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, shape: [Int], axis: Int) {
        let n = shape[axis]
        let inner = shape[(axis + 1)...].reduce(1, *)
        let outer = shape[..<axis].reduce(1, *)
        for o in 0..<outer {
            for i in 0..<inner {
                let base = o * n * inner + i
                var m = -Float.infinity
                for j in 0..<n { m = max(m, x[base + j * inner]) }
                var sum: Float = 0
                for j in 0..<n { let e = expf(x[base + j * inner] - m); out[base + j * inner] = e; sum += e }
                for j in 0..<n { out[base + j * inner] /= sum }
            }
        }
    }
}
