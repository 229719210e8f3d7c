// GraphCodec: the binary encoding of a graph, the payload of an artifact's GRPH section
// (layout in Formats/ingot-v1.md, "Graph section"). Decoding checks every count, index and
// enum value and reports the field; it does not run the verifier (callers do).

import IngotCore

public enum GraphCodec {
    public static let version: UInt16 = 1
    static let maxValues = 1 << 22
    static let maxNodes = 1 << 22
    static let maxRank = 8
    static let maxNameLength = 4096

    // MARK: Encoding

    public static func encode(_ graph: Graph) -> [UInt8] {
        var w = ByteWriter()
        w.u16(version)
        w.u16(0)
        w.string(graph.name)
        w.u32(UInt32(graph.values.count))
        for v in graph.values {
            w.string(v.name)
            w.u8(v.type.dtype.rawValue)
            writeShape(v.type.shape, &w)
        }
        for list in [graph.inputs, graph.outputs, graph.constants.map(\.value)] {
            w.u32(UInt32(list.count))
            for id in list { w.u32(UInt32(id.index)) }
        }
        w.u32(UInt32(graph.nodes.count))
        for node in graph.nodes {
            writeOp(node.op, &w)
            w.u8(UInt8(node.inputs.count))
            for id in node.inputs { w.u32(UInt32(id.index)) }
            w.u8(UInt8(node.outputs.count))
            for id in node.outputs { w.u32(UInt32(id.index)) }
        }
        return w.bytes
    }

    static func writeShape(_ s: Shape, _ w: inout ByteWriter) {
        w.u8(UInt8(s.rank))
        for d in s.dims {
            switch d {
            case .fixed(let n): w.u8(0); w.u64(UInt64(n))
            case .symbol(let name): w.u8(1); w.string(name)
            }
        }
    }

    /// u16 op code, then the attributes as the op's definition writes them.
    static func writeOp(_ op: Op, _ w: inout ByteWriter) {
        let definition = op.definition
        w.u16(definition.code.rawValue)
        definition.encode(op, &w)
    }

    // MARK: Decoding

    public static func decode(_ bytes: UnsafeRawBufferPointer, file: String? = nil) throws -> Graph {
        var r = ByteReader(bytes, file: file)
        let v = try r.u16("graph.version")
        guard v == version else {
            throw IngotError.badField(file: file, "graph.version", seen: String(v), expected: String(version))
        }
        _ = try r.u16("graph.reserved")
        var g = Graph(name: try r.string("graph.name", max: maxNameLength))
        // Every count is bounded by the bytes left after it before anything is reserved for it: a value
        // takes at least 6 bytes (name length, dtype, rank), an index 4, a node 4 (op code and
        // the two operand counts).
        let valueCount = try r.count32("graph.value_count", max: min(maxValues, (r.remaining - 4) / 6))
        g.values.reserveCapacity(valueCount)
        for i in 0..<valueCount {
            let name = try r.string("graph.values[\(i)].name", max: maxNameLength)
            let dtype = try readDType(&r, "graph.values[\(i)].dtype")
            let shape = try readShape(&r, "graph.values[\(i)].shape")
            g.values.append(Value(name: name, type: TensorType(dtype, shape)))
        }
        func ids(_ field: String) throws -> [ValueID] {
            let count = try r.count32(field + ".count", max: min(valueCount, (r.remaining - 4) / 4))
            return try (0..<count).map { try readID(&r, "\(field)[\($0)]", valueCount: valueCount) }
        }
        g.inputs = try ids("graph.inputs")
        g.outputs = try ids("graph.outputs")
        g.constants = try ids("graph.constants").map { Constant(value: $0, source: nil) }
        let nodeCount = try r.count32("graph.node_count", max: min(maxNodes, (r.remaining - 4) / 4))
        g.nodes.reserveCapacity(nodeCount)
        for i in 0..<nodeCount {
            let field = "graph.nodes[\(i)]"
            let op = try readOp(&r, field)
            let inputCount = Int(try r.u8(field + ".input_count"))
            let inputs = try (0..<inputCount).map { try readID(&r, "\(field).inputs[\($0)]", valueCount: valueCount) }
            let outputCount = Int(try r.u8(field + ".output_count"))
            let outputs = try (0..<outputCount).map { try readID(&r, "\(field).outputs[\($0)]", valueCount: valueCount) }
            g.nodes.append(Node(op: op, inputs: inputs, outputs: outputs))
        }
        guard r.remaining == 0 else {
            throw IngotError(.format, file: file, location: "graph", "\(r.remaining) unexpected bytes after the last node")
        }
        return g
    }

    static func readID(_ r: inout ByteReader, _ field: String, valueCount: Int) throws -> ValueID {
        let raw = try r.u32(field)
        guard raw < UInt32(valueCount) else {
            throw IngotError.badField(file: r.file, field, seen: String(raw), expected: "a value index below \(valueCount)")
        }
        return ValueID(Int(raw))
    }

    static func readDType(_ r: inout ByteReader, _ field: String) throws -> DType {
        let raw = try r.u8(field)
        guard let d = DType(rawValue: raw) else {
            throw IngotError.badField(file: r.file, field, seen: String(raw), expected: "a dtype code 0...\(DType.allCases.count - 1)")
        }
        return d
    }

    static func readShape(_ r: inout ByteReader, _ field: String) throws -> Shape {
        let rank = Int(try r.u8(field + ".rank"))
        guard rank <= maxRank else {
            throw IngotError.badField(file: r.file, field + ".rank", seen: String(rank), expected: "at most \(maxRank)")
        }
        var dims: [Dim] = []
        for d in 0..<rank {
            let tag = try r.u8("\(field).dims[\(d)].tag")
            switch tag {
            case 0:
                let n = try r.u64("\(field).dims[\(d)]")
                guard n <= UInt64(Int32.max) else {
                    throw IngotError.badField(file: r.file, "\(field).dims[\(d)]", seen: String(n), expected: "at most \(Int32.max)")
                }
                dims.append(.fixed(Int(n)))
            case 1:
                dims.append(.symbol(try r.string("\(field).dims[\(d)].symbol", max: 256)))
            default:
                throw IngotError.badField(file: r.file, "\(field).dims[\(d)].tag", seen: String(tag), expected: "0 (fixed) or 1 (symbol)")
            }
        }
        return Shape(dims)
    }

    /// u16 op code, then the attributes as the op's definition reads them.
    static func readOp(_ r: inout ByteReader, _ field: String) throws -> Op {
        let raw = try r.u16(field + ".op")
        guard let definition = Ops.definition(code: raw) else {
            throw IngotError.badField(file: r.file, field + ".op", seen: String(raw), expected: "an op code 1...\(OpCode.highest)")
        }
        return try definition.decodeOp(&r, field)
    }
}
