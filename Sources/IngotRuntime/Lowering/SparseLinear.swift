// SparseLinear: `linear_sparse`, a linear layer with CSR weights. Its CSR arrays are checked
// when the model loads so the kernel reads inside them without bounds checks; the kernel
// itself is Kernels.linearSparse.

import IngotCore
import IngotIR
import IngotKernels

extension Ops.LinearSparse: KernelLowering {
    /// Row offsets start at 0, never decrease and end at the nonzero count; columns lie in 0..<K.
    /// A hostile artifact cannot make the kernel read outside its arrays.
    static func checkWeights(of node: Node, in graph: Graph, constants: [ValueID: TensorBuffer], file: String) throws {
        let name = graph[node.outputs[0]].name
        guard let k = graph.type(of: node.inputs[0]).shape.dims.last?.fixedValue,
              let values = constants[node.inputs[1]], let columns = constants[node.inputs[2]], let offsets = constants[node.inputs[3]] else {
            throw IngotError(.format, file: file, location: "linear_sparse '\(name)'", "needs a fixed input dimension and constant CSR arrays")
        }
        let nnz = values.byteCount / 4
        let rowOffsets = offsets.toArray(of: Int32.self)
        guard rowOffsets.first == 0, rowOffsets.last.map({ Int($0) == nnz }) ?? false else {
            throw IngotError(.format, file: file, location: "tensor '\(graph[node.inputs[3]].name)'",
                             "row offsets run \(rowOffsets.first ?? -1)...\(rowOffsets.last ?? -1), expected 0...\(nnz) (the nonzero count)")
        }
        if let r = rowOffsets.indices.dropLast().first(where: { rowOffsets[$0] > rowOffsets[$0 + 1] }) {
            throw IngotError(.format, file: file, location: "tensor '\(graph[node.inputs[3]].name)'",
                             "row offset \(r + 1) is \(rowOffsets[r + 1]), below row \(r)'s \(rowOffsets[r])")
        }
        if let bad = columns.toArray(of: Int16.self).firstIndex(where: { $0 < 0 || Int($0) >= k }) {
            throw IngotError(.format, file: file, location: "tensor '\(graph[node.inputs[2]].name)'",
                             "column[\(bad)] = \(columns.toArray(of: Int16.self)[bad]), expected 0..<\(k)")
        }
    }

    /// The kernel's per-call float workspace (Kernels.sparseScratchFloats).
    static func scratchBytes(_ op: Op, inputShapes: [[Int]]) -> Int {
        guard let x = inputShapes.first, let k = x.last, k > 0 else { return 0 }
        return 4 * Kernels.sparseScratchFloats(m: x.reduce(1, *) / k, n: inputShapes[3][0] - 1, k: k)
    }

    static func kernel(for node: PlannedNode, in graph: Graph) throws -> KernelCall {
        guard case .linearSparse(let activation) = node.op else { throw otherOp(node.op) }
        // x [m…, k], values [nnz], columns [nnz] i16, row_offsets [n+1] i32[, bias [n]] → [m…, n]
        let k = node.inputs[0].shape.last!, n = node.outputs[0].shape.last!, m = node.inputs[0].elementCount / max(k, 1)
        let hasBias = node.inputs.count == 5
        let act = EpilogueActivation(activation)
        return { b, _ in
            Kernels.linearSparse(b.f32(0), values: b.f32(1), columns: b.i16(2), rowOffsets: b.i32(3),
                                 bias: hasBias ? UnsafePointer(b.f32(4)) : nil, b.out(), m: m, n: n, k: k,
                                 activation: act, scratch: b.scratch?.assumingMemoryBound(to: Float.self), pool: Threads.pool)
        }
    }
}
