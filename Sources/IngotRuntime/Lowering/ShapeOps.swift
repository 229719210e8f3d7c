// ShapeOps: ops that move elements without arithmetic, for any element size: `reshape` (a
// copy), `transpose`, `slice`, `split` (consecutive slices) and `concat`.

import IngotCore
import IngotIR

extension Ops.Reshape: KernelLowering {
    static func kernel(for node: PlannedNode, in graph: Graph) throws -> KernelCall {
        guard case .reshape = node.op else { throw otherOp(node.op) }
        let bytes = node.outputs[0].byteCount
        return { b, _ in try Executor.copyBytes(b.outputs[0], from: b.inputs[0], count: bytes) }
    }
}

extension Ops.Transpose: KernelLowering {
    static func kernel(for node: PlannedNode, in graph: Graph) throws -> KernelCall {
        guard case .transpose(let perm) = node.op else { throw otherOp(node.op) }
        // x [d0, …, dn] → [d_perm[0], …, d_perm[n]]
        let shape = node.inputs[0].shape, elementSize = node.outputs[0].dtype.byteSize
        return { b, _ in transpose(x: b.inputs[0], shape: shape, perm: perm, out: b.outputs[0], elementSize: elementSize) }
    }

    static func transpose(x: UnsafeMutableRawPointer, shape: [Int], perm: [Int], out: UnsafeMutableRawPointer, elementSize: Int) {
        let rank = shape.count
        var inStrides = [Int](repeating: 1, count: rank)
        for d in stride(from: rank - 2, through: 0, by: -1) { inStrides[d] = inStrides[d + 1] * shape[d + 1] }
        let outShape = perm.map { shape[$0] }
        let count = shape.reduce(1, *)
        var index = [Int](repeating: 0, count: rank)
        for i in 0..<count {
            var src = 0
            for d in 0..<rank { src += index[d] * inStrides[perm[d]] }
            (out + i * elementSize).copyMemory(from: x + src * elementSize, byteCount: elementSize)
            advance(&index, within: outShape)
        }
    }
}

extension Ops.Slice: KernelLowering {
    static func kernel(for node: PlannedNode, in graph: Graph) throws -> KernelCall {
        guard case .slice(let axis, let start, _) = node.op else { throw otherOp(node.op) }
        let out = node.outputs[0], shape = node.inputs[0].shape
        let a = axis < 0 ? axis + out.shape.count : axis
        let (outShape, elementSize) = (out.shape, out.dtype.byteSize)
        return { b, _ in
            slice(x: b.inputs[0], shape: shape, axis: a, start: start, outShape: outShape, out: b.outputs[0], elementSize: elementSize)
        }
    }

    /// x [outer…, shape[axis], inner…] → [outer…, outShape[axis], inner…] from index `start` on the axis.
    static func slice(x: UnsafeMutableRawPointer, shape: [Int], axis: Int, start: Int, outShape: [Int],
                      out: UnsafeMutableRawPointer, elementSize: Int) {
        let outer = shape[..<axis].reduce(1, *)
        let inner = shape[(axis + 1)...].reduce(1, *) * elementSize
        let take = outShape[axis] * inner
        for o in 0..<outer {
            (out + o * take).copyMemory(from: x + o * shape[axis] * inner + start * inner, byteCount: take)
        }
    }
}

extension Ops.Split: KernelLowering {
    static func kernel(for node: PlannedNode, in graph: Graph) throws -> KernelCall {
        guard case .split(let axis, let sizes) = node.op else { throw otherOp(node.op) }
        let shape = node.inputs[0].shape
        let a = axis < 0 ? axis + node.outputs[0].shape.count : axis
        // Output i starts at the sum of the sizes before it.
        var starts: [Int] = [], start = 0
        for size in sizes { starts.append(start); start += size }
        let pieces = zip(node.outputs, starts).map { (shape: $0.shape, elementSize: $0.dtype.byteSize, start: $1) }
        return { b, _ in
            for (i, piece) in pieces.enumerated() {
                Ops.Slice.slice(x: b.inputs[0], shape: shape, axis: a, start: piece.start, outShape: piece.shape, out: b.outputs[i],
                                elementSize: piece.elementSize)
            }
        }
    }
}

extension Ops.Concat: KernelLowering {
    static func kernel(for node: PlannedNode, in graph: Graph) throws -> KernelCall {
        guard case .concat(let axis) = node.op else { throw otherOp(node.op) }
        let out = node.outputs[0]
        let a = axis < 0 ? axis + out.shape.count : axis
        let (shapes, elementSize) = (node.inputs.map(\.shape), out.dtype.byteSize)
        return { b, _ in concat(inputs: b.inputs, shapes: shapes, axis: a, out: b.outputs[0], elementSize: elementSize) }
    }

    static func concat(inputs: [UnsafeMutableRawPointer], shapes: [[Int]], axis: Int, out: UnsafeMutableRawPointer, elementSize: Int) {
        let outer = shapes[0][..<axis].reduce(1, *)
        let inner = shapes[0][(axis + 1)...].reduce(1, *) * elementSize
        var dst = out
        for o in 0..<outer {
            for (p, s) in zip(inputs, shapes) {
                let chunk = s[axis] * inner
                dst.copyMemory(from: p + o * chunk, byteCount: chunk)
                dst += chunk
            }
        }
    }
}
