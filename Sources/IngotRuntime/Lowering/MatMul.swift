// MatMul: `matmul`, a plain product of two float operands, one matrix of weights or a batch
// of per-head matrices (q·kᵀ). Fused weight layers are in Linear.swift and the int8 files.

import IngotCore
import IngotIR
import IngotKernels

extension Ops.MatMul: KernelLowering {
    static func kernel(for node: PlannedNode, in graph: Graph) throws -> KernelCall {
        guard case .matmul(let transposeB) = node.op else { throw otherOp(node.op) }
        let a = node.inputs[0], out = node.outputs[0]
        let k = a.shape.last!
        let n = out.shape.last!
        if node.inputs[1].shape.count > 2 {
            // a [batch…, m, k], b [batch…, k, n] (or [batch…, n, k]) → [batch…, m, n]
            let rank = out.shape.count
            let (batch, m) = (out.shape[..<(rank - 2)].reduce(1, *), out.shape[rank - 2])
            return { b, _ in
                Kernels.batchedMatmul(b.f32(0), b.f32(1), b.out(), batch: batch, m: m, n: n, k: k, transposeB: transposeB, pool: Threads.pool)
            }
        }
        // a [m…, k], b [k, n] (or [n, k]) → [m…, n]
        let m = a.elementCount / max(k, 1)
        return { b, _ in
            Kernels.matmul(b.f32(0), b.f32(1), b.out(), m: m, n: n, k: k, transposeB: transposeB, pool: Threads.pool)
        }
    }
}
