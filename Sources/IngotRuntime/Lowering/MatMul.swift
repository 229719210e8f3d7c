// MatMul: `matmul`, a plain product of two float operands, one matrix of weights or a batch
// of per-head matrices (q·kᵀ), or float rows times block-quantized weights (BlockQuantKernels).
// Fused weight layers are in Linear.swift and the int8 files.

import IngotCore
import IngotIR
import IngotKernels

extension Ops.MatMul: KernelLowering {
    /// Decoded weight tiles when b is block-quantized and a has many rows.
    static func scratchBytes(_ op: Op, inputShapes: [[Int]], dtypes: [DType]) -> Int {
        blockWeightScratch(inputShapes: inputShapes, dtypes: dtypes)
    }

    static func kernel(for node: PlannedNode, in graph: Graph) throws -> KernelCall {
        guard case .matmul(let transposeB) = node.op else { throw otherOp(node.op) }
        let a = node.inputs[0], out = node.outputs[0]
        let k = a.shape.last!
        let n = out.shape.last!
        if node.inputs[1].dtype.isBlockQuantized {
            // a [m…, k] f32, b [n, k] block-quantized → [m…, n]
            return try blockLinear(node, bias: nil, activation: .none)
        }
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

/// Scratch of a float × block-quantized product: x is input 0, the weight input 1.
func blockWeightScratch(inputShapes: [[Int]], dtypes: [DType]) -> Int {
    guard dtypes.count > 1, dtypes[1].isBlockQuantized, let x = inputShapes.first, let k = x.last, k > 0 else { return 0 }
    return BlockQuantKernels.scratchBytes(m: x.reduce(1, *) / k, k: k, pool: Threads.pool)
}

/// The kernel call of x [m…, k] f32 · W [n, k]ᵀ (block-quantized, input 1) with an optional bias (input 2).
func blockLinear(_ node: PlannedNode, bias hasBias: Bool?, activation: EpilogueActivation) throws -> KernelCall {
    let k = node.inputs[0].shape.last!, n = node.outputs[0].shape.last!, m = node.inputs[0].elementCount / max(k, 1)
    let dtype = node.inputs[1].dtype
    guard k % dtype.blockSize == 0 else {
        throw IngotError(.shape, location: "\(node.op.name) with \(dtype) weights", "input dimension \(k), expected a multiple of \(dtype.blockSize)")
    }
    let withBias = hasBias ?? false
    return { b, _ in
        BlockQuantKernels.linear(b.f32(0), UnsafeRawPointer(b.inputs[1]), dtype: dtype, bias: withBias ? UnsafePointer(b.f32(2)) : nil,
                                 b.out(), m: m, n: n, k: k, activation: activation, scratch: b.scratch, pool: Threads.pool)
    }
}
