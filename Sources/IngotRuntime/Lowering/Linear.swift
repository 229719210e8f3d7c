// Linear: `linear`, the fused float layer act(x·wᵀ + bias) on sgemm. The int8 layers are in
// Int8Linear.swift, the CSR one in SparseLinear.swift.

import IngotCore
import IngotIR
import IngotKernels

extension Ops.Linear: KernelLowering {
    static func kernel(for node: PlannedNode, in graph: Graph) throws -> KernelCall {
        guard case .linear(let activation) = node.op else { throw otherOp(node.op) }
        // x [m…, k], w [n, k][, bias [n]] → [m…, n]
        let k = node.inputs[0].shape.last!, n = node.outputs[0].shape.last!
        let m = node.inputs[0].elementCount / max(k, 1)
        let hasBias = node.inputs.count == 3
        let act = EpilogueActivation(activation)
        return { b, _ in
            Kernels.linear(b.f32(0), b.f32(1), bias: hasBias ? UnsafePointer(b.f32(2)) : nil, b.out(),
                           m: m, n: n, k: k, activation: act, pool: Threads.pool)
        }
    }
}
