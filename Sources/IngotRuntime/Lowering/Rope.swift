// Rope: `rope`, rotary position embedding of q or k rows at the positions given as an input
// (interleaved or half-rotation pairs). The rotation is Kernels.rope.

import IngotCore
import IngotIR
import IngotKernels

extension Ops.Rope: KernelLowering {
    static func kernel(for node: PlannedNode, in graph: Graph) throws -> KernelCall {
        guard case .rope(let theta, let heads, let headDim, let style) = node.op else { throw otherOp(node.op) }
        // x [tokens…, heads·headDim], positions [tokens…] i32 → [tokens…, heads·headDim]
        let tokens = node.outputs[0].elementCount / (heads * headDim)
        let interleaved = style == .interleaved
        return { b, _ in
            Kernels.rope(b.f32(0), positions: b.i32(1), b.out(), tokens: tokens, heads: heads,
                         headDim: headDim, theta: theta, interleaved: interleaved)
        }
    }
}
