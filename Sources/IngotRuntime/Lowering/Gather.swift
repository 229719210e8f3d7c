// Gather family: `gather` (rows of a float table by id, or of a block-quantized table, decoded)
// and `gather_int8` (rows of an int8 table, dequantized by their group scales). Ids are checked against the table here, the one
// place the runtime reads caller data as indices. No embedding arithmetic beyond dequantizing.

import IngotCore
import IngotIR
import IngotKernels

extension Ops.Gather: KernelLowering {
    static func kernel(for node: PlannedNode, in graph: Graph) throws -> KernelCall {
        guard case .gather = node.op else { throw otherOp(node.op) }
        // table [vocab, width], ids [count] → [count, width]
        let (vocab, width) = (node.inputs[0].shape[0], node.inputs[0].shape[1])
        let count = node.inputs[1].elementCount
        let tableName = graph[node.node.inputs[0]].name
        let dtype = node.inputs[0].dtype
        if dtype.isBlockQuantized {
            return { b, _ in
                try gatherBlocks(table: UnsafeRawPointer(b.inputs[0]), dtype: dtype, rows: vocab, width: width, ids: b.i32(1), count: count,
                                 out: b.out(), tableName: tableName)
            }
        }
        return { b, _ in
            try gather(table: b.f32(0), rows: vocab, width: width, ids: b.i32(1), count: count, out: b.out(), tableName: tableName)
        }
    }

    static func gather(table: UnsafePointer<Float>, rows: Int, width: Int, ids: UnsafePointer<Int32>, count: Int,
                       out: UnsafeMutablePointer<Float>, tableName: String) throws {
        for i in 0..<count {
            let id = Int(ids[i])
            guard id >= 0, id < rows else {
                throw IngotError(.shape, location: "gather from '\(tableName)'", "id \(id) at position \(i) is outside 0..<\(rows)")
            }
            (out + i * width).update(from: table + id * width, count: width)
        }
    }
}

extension Ops.Gather {
    /// Rows of a block-quantized table [rows, width], decoded (width a multiple of the block, checked by the type rule).
    static func gatherBlocks(table: UnsafeRawPointer, dtype: DType, rows: Int, width: Int, ids: UnsafePointer<Int32>, count: Int,
                             out: UnsafeMutablePointer<Float>, tableName: String) throws {
        for i in 0..<count {
            let id = Int(ids[i])
            guard id >= 0, id < rows else {
                throw IngotError(.shape, location: "gather from '\(tableName)'", "id \(id) at position \(i) is outside 0..<\(rows)")
            }
            BlockQuantKernels.dequantizeRows(table, dtype: dtype, k: width, rows: id..<id + 1, out + i * width)
        }
    }
}

extension Ops.GatherInt8: KernelLowering {
    static func kernel(for node: PlannedNode, in graph: Graph) throws -> KernelCall {
        guard case .gatherInt8(let group) = node.op else { throw otherOp(node.op) }
        // table [vocab, width] i8, scales [vocab, width/group], ids [count] → [count, width]
        let (vocab, width) = (node.inputs[0].shape[0], node.inputs[0].shape[1])
        let count = node.inputs[2].elementCount
        let tableName = graph[node.node.inputs[0]].name
        return { b, _ in
            try gatherInt8(table: b.i8(0), scales: b.f32(1), rows: vocab, width: width, group: group, ids: b.i32(2), count: count,
                           out: b.out(), tableName: tableName)
        }
    }

    /// Rows of an int8 table [rows, width] with scales [rows, width/group], dequantized.
    static func gatherInt8(table: UnsafePointer<Int8>, scales: UnsafePointer<Float>, rows: Int, width: Int, group: Int,
                           ids: UnsafePointer<Int32>, count: Int, out: UnsafeMutablePointer<Float>, tableName: String) throws {
        let groups = width / group
        for i in 0..<count {
            let id = Int(ids[i])
            guard id >= 0, id < rows else {
                throw IngotError(.shape, location: "gather from '\(tableName)'", "id \(id) at position \(i) is outside 0..<\(rows)")
            }
            let src = table + id * width, s = scales + id * groups, o = out + i * width
            for g in 0..<groups {
                let scale = s[g]
                for j in g * group..<(g + 1) * group { o[j] = Float(src[j]) * scale }
            }
        }
    }
}
