// Norms: normalizations over the last axis: `layer_norm`, `rms_norm`, their fused residual
// forms `add_layer_norm` / `add_rms_norm` (outputs: the norm and the sum), and `l2_normalize`.
// The arithmetic is in IngotKernels.

import IngotCore
import IngotIR
import IngotKernels

extension Ops.LayerNorm: KernelLowering {
    static func kernel(for node: PlannedNode, in graph: Graph) throws -> KernelCall {
        guard case .layerNorm(let eps) = node.op else { throw otherOp(node.op) }
        // x [rows…, h], gamma [h], beta [h] → [rows…, h]
        let h = node.outputs[0].shape.last!, rows = node.outputs[0].elementCount / h
        return { b, _ in
            Kernels.layerNorm(b.f32(0), gamma: b.f32(1), beta: b.f32(2), b.out(), rows: rows, cols: h, eps: eps, pool: Threads.pool)
        }
    }
}

extension Ops.RMSNorm: KernelLowering {
    static func kernel(for node: PlannedNode, in graph: Graph) throws -> KernelCall {
        guard case .rmsNorm(let eps) = node.op else { throw otherOp(node.op) }
        // x [rows…, h], weight [h] → [rows…, h]
        let h = node.outputs[0].shape.last!, rows = node.outputs[0].elementCount / h
        return { b, _ in
            Kernels.rmsNorm(b.f32(0), weight: b.f32(1), b.out(), rows: rows, cols: h, eps: eps, pool: Threads.pool)
        }
    }
}

extension Ops.AddLayerNorm: KernelLowering {
    static func kernel(for node: PlannedNode, in graph: Graph) throws -> KernelCall {
        guard case .addLayerNorm(let eps) = node.op else { throw otherOp(node.op) }
        // a, b [rows…, h], gamma [h], beta [h] → (layer_norm(a + b), a + b) [rows…, h]
        let h = node.outputs[0].shape.last!, rows = node.outputs[0].elementCount / h
        return { b, _ in
            Kernels.addLayerNorm(b.f32(0), b.f32(1), gamma: b.f32(2), beta: b.f32(3), out: b.out(0), sum: b.out(1),
                                 rows: rows, cols: h, eps: eps, pool: Threads.pool)
        }
    }
}

extension Ops.AddRMSNorm: KernelLowering {
    static func kernel(for node: PlannedNode, in graph: Graph) throws -> KernelCall {
        guard case .addRMSNorm(let eps) = node.op else { throw otherOp(node.op) }
        // a, b [rows…, h], weight [h] → (rms_norm(a + b), a + b) [rows…, h]
        let h = node.outputs[0].shape.last!, rows = node.outputs[0].elementCount / h
        return { b, _ in
            Kernels.addRMSNorm(b.f32(0), b.f32(1), weight: b.f32(2), out: b.out(0), sum: b.out(1),
                               rows: rows, cols: h, eps: eps, pool: Threads.pool)
        }
    }
}

extension Ops.L2Normalize: KernelLowering {
    static func kernel(for node: PlannedNode, in graph: Graph) throws -> KernelCall {
        guard case .l2Normalize(let axis, let eps) = node.op else { throw otherOp(node.op) }
        // x [rows…, h] → [rows…, h], each row divided by its norm
        let out = node.outputs[0]
        guard axis == -1 || axis == out.shape.count - 1 else {
            throw IngotError(.unsupported, location: "l2_normalize", "axis \(axis): only the last axis is supported")
        }
        let h = out.shape.last!, rows = out.elementCount / h
        return { b, _ in
            Kernels.l2Normalize(b.f32(0), b.out(), rows: rows, cols: h, eps: eps)
        }
    }
}
