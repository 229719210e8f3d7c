// Row lookups by index in the IR: `gather` (float table) and `gather_int8` (int8 table with a
// scale per row and group, rows dequantized): attributes, textual and binary forms, type
// rules. The lookups are in IngotRuntime.

import IngotCore

extension Ops {
    /// gather(table[V, H], ids[d0, …, dn] int) → [d0, …, dn, H] in the table's dtype (f32 for a block-quantized table).
    public enum Gather: OpDefinition {
        public typealias Attributes = Void
        public static let code = OpCode.gather
        public static let names = ["gather"]
        public static let arity = 2...2
        public static let samples: [Op] = [.gather]

        public static func op(_: Void) -> Op { .gather }
        public static func attributes(of op: Op) -> Void? {
            if case .gather = op { return () }
            return nil
        }

        public static func outputTypes(_: Void, _ t: [TensorType]) throws -> [TensorType] {
            let (table, ids) = (t[0], t[1])
            try requireRank(table, 2, "table")
            try requireIndex(ids, "indices")
            if table.dtype.isBlockQuantized {
                // Rows of a block-quantized table come out decoded to f32.
                guard let h = table.shape[1].fixedValue, h % table.dtype.blockSize == 0 else {
                    throw InferenceError("a \(table.dtype) table needs a row width that is a multiple of \(table.dtype.blockSize), got \(table.shape[1])")
                }
                return [TensorType(.f32, Shape(ids.shape.dims + [table.shape[1]]))]
            }
            return [TensorType(table.dtype, Shape(ids.shape.dims + [table.shape[1]]))]
        }
    }

    /// gather_int8(table[V, H] i8, scales[V, H/group] f32, ids[d…] int) → [d…, H] f32.
    public enum GatherInt8: OpDefinition {
        /// The group: consecutive row elements sharing one scale.
        public typealias Attributes = Int
        public static let code = OpCode.gatherInt8
        public static let names = ["gather_int8"]
        public static let arity = 3...3
        public static let samples: [Op] = [.gatherInt8(group: 4)]

        public static func op(_ group: Int) -> Op { .gatherInt8(group: group) }
        public static func attributes(of op: Op) -> Int? {
            if case .gatherInt8(let group) = op { return group }
            return nil
        }
        public static func printedAttributes(_ group: Int) -> [(String, String)] { [("group", String(group))] }
        public static func parseAttributes(name: String, _ text: inout AttributeText) throws -> Int { try text.int("group") }
        public static func encodeAttributes(_ group: Int, _ w: inout ByteWriter) { w.u32(UInt32(group)) }
        public static func decodeAttributes(_ r: inout ByteReader, _ field: String) throws -> Int { try r.smallCount(field + ".group") }

        public static func outputTypes(_ group: Int, _ t: [TensorType]) throws -> [TensorType] {
            let (table, scales, ids) = (t[0], t[1], t[2])
            guard table.dtype == .i8 else { throw InferenceError("table must be i8, got \(table.dtype)") }
            try requireRank(table, 2, "table")
            guard let h = table.shape[1].fixedValue, group > 0, h % group == 0 else {
                throw InferenceError("group \(group) must be positive and divide the row width \(table.shape[1])")
            }
            guard scales.dtype == .f32 else { throw InferenceError("scales must be f32, got \(scales.dtype)") }
            try requireRank(scales, 2, "scales")
            try requireDim(scales.shape[0], equals: table.shape[0], "scales rows")
            try requireDim(scales.shape[1], equals: .fixed(h / group), "scales groups")
            try requireIndex(ids, "indices")
            return [TensorType(.f32, Shape(ids.shape.dims + [table.shape[1]]))]
        }
    }
}
