// Pooling: `mean_pool`, the masked mean over positions that turns token states into one
// sentence embedding, and `pool` (first position, masked maximum, last real token). The
// arithmetic is Kernels.meanPool / poolFirst / poolMax / poolLast.

import IngotCore
import IngotIR
import IngotKernels

extension Ops.MeanPool: KernelLowering {
    static func kernel(for node: PlannedNode, in graph: Graph) throws -> KernelCall {
        guard case .meanPool = node.op else { throw otherOp(node.op) }
        // x [batch, seq, hidden], mask [batch, seq] i32 → [batch, hidden]
        let (batch, seq, hidden) = (node.inputs[0].shape[0], node.inputs[0].shape[1], node.inputs[0].shape[2])
        return { b, _ in Kernels.meanPool(b.f32(0), mask: b.i32(1), b.out(), batch: batch, seq: seq, hidden: hidden) }
    }
}

extension Ops.Pool: KernelLowering {
    static func kernel(for node: PlannedNode, in graph: Graph) throws -> KernelCall {
        guard case .pool(let mode) = node.op else { throw otherOp(node.op) }
        // x [batch, seq, hidden], mask [batch, seq] i32 → [batch, hidden]
        let (batch, seq, hidden) = (node.inputs[0].shape[0], node.inputs[0].shape[1], node.inputs[0].shape[2])
        switch mode {
        case .cls:
            return { b, _ in Kernels.poolFirst(b.f32(0), b.out(), batch: batch, seq: seq, hidden: hidden) }
        case .max:
            return { b, _ in Kernels.poolMax(b.f32(0), mask: b.i32(1), b.out(), batch: batch, seq: seq, hidden: hidden) }
        case .lastToken:
            return { b, _ in Kernels.poolLast(b.f32(0), mask: b.i32(1), b.out(), batch: batch, seq: seq, hidden: hidden) }
        }
    }
}
