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

    enum OpCode: UInt16 {
        case gather = 1, matmul, binary, gelu, silu, layerNorm, rmsNorm, rope, softmax, attention,
             reshape, transpose, slice, concat, meanPool, l2Normalize, cast,
             linear, linearInt8, swiglu, addLayerNorm, addRMSNorm, split, gatherInt8, linearSparse, linearInt8Packed
    }

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

    static func writeOp(_ op: Op, _ w: inout ByteWriter) {
        switch op {
        case .gather: w.u16(OpCode.gather.rawValue)
        case .matmul(let t): w.u16(OpCode.matmul.rawValue); w.u8(t ? 1 : 0)
        case .binary(let k): w.u16(OpCode.binary.rawValue); w.u8(k.rawValue)
        case .gelu(let a): w.u16(OpCode.gelu.rawValue); w.u8(a.rawValue)
        case .silu: w.u16(OpCode.silu.rawValue)
        case .layerNorm(let e): w.u16(OpCode.layerNorm.rawValue); w.f32(e)
        case .rmsNorm(let e): w.u16(OpCode.rmsNorm.rawValue); w.f32(e)
        case .rope(let theta, let heads, let headDim, let style):
            w.u16(OpCode.rope.rawValue); w.f32(theta); w.u32(UInt32(heads)); w.u32(UInt32(headDim)); w.u8(style.rawValue)
        case .softmax(let axis): w.u16(OpCode.softmax.rawValue); w.i32(Int32(axis))
        case .attention(let a):
            w.u16(OpCode.attention.rawValue)
            w.u32(UInt32(a.heads)); w.u32(UInt32(a.kvHeads)); w.u32(UInt32(a.headDim))
            w.u8((a.causal ? 1 : 0) | (a.kvCache ? 2 : 0))
            w.f32(a.scale)
        case .reshape(let s): w.u16(OpCode.reshape.rawValue); writeShape(s, &w)
        case .transpose(let p): w.u16(OpCode.transpose.rawValue); w.u8(UInt8(p.count)); for x in p { w.u8(UInt8(x)) }
        case .slice(let axis, let start, let end):
            w.u16(OpCode.slice.rawValue); w.i32(Int32(axis)); w.u64(UInt64(start)); w.u64(UInt64(end))
        case .concat(let axis): w.u16(OpCode.concat.rawValue); w.i32(Int32(axis))
        case .meanPool: w.u16(OpCode.meanPool.rawValue)
        case .l2Normalize(let axis, let e): w.u16(OpCode.l2Normalize.rawValue); w.i32(Int32(axis)); w.f32(e)
        case .cast(let d): w.u16(OpCode.cast.rawValue); w.u8(d.rawValue)
        case .linear(let a): w.u16(OpCode.linear.rawValue); w.u8(a.rawValue)
        case .linearInt8(let a):
            w.u16(OpCode.linearInt8.rawValue); w.u32(UInt32(a.group)); w.u8(a.activation.rawValue); w.u8(a.mode.rawValue)
            w.f32(a.inputScale); w.u8(a.smoothed ? 1 : 0)
        case .swiglu: w.u16(OpCode.swiglu.rawValue)
        case .gatherInt8(let g): w.u16(OpCode.gatherInt8.rawValue); w.u32(UInt32(g))
        case .addLayerNorm(let e): w.u16(OpCode.addLayerNorm.rawValue); w.f32(e)
        case .addRMSNorm(let e): w.u16(OpCode.addRMSNorm.rawValue); w.f32(e)
        case .split(let axis, let sizes):
            w.u16(OpCode.split.rawValue); w.i32(Int32(axis)); w.u8(UInt8(sizes.count))
            for n in sizes { w.u64(UInt64(n)) }
        case .linearSparse(let a): w.u16(OpCode.linearSparse.rawValue); w.u8(a.rawValue)
        case .linearInt8Packed(let a):
            w.u16(OpCode.linearInt8Packed.rawValue); w.u8(a.activation.rawValue); w.u8(UInt8(clamping: a.inputBits)); w.u8(a.smoothed ? 1 : 0)
        }
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
        let valueCount = try r.count32("graph.value_count", max: maxValues)
        g.values.reserveCapacity(valueCount)
        for i in 0..<valueCount {
            let name = try r.string("graph.values[\(i)].name", max: maxNameLength)
            let dtype = try readDType(&r, "graph.values[\(i)].dtype")
            let shape = try readShape(&r, "graph.values[\(i)].shape")
            g.values.append(Value(name: name, type: TensorType(dtype, shape)))
        }
        func ids(_ field: String) throws -> [ValueID] {
            let count = try r.count32(field + ".count", max: valueCount)
            return try (0..<count).map { try readID(&r, "\(field)[\($0)]", valueCount: valueCount) }
        }
        g.inputs = try ids("graph.inputs")
        g.outputs = try ids("graph.outputs")
        g.constants = try ids("graph.constants").map { Constant(value: $0, source: nil) }
        let nodeCount = try r.count32("graph.node_count", max: maxNodes)
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

    static func readEnum<E: RawRepresentable>(_ r: inout ByteReader, _ field: String, _ type: E.Type) throws -> E where E.RawValue == UInt8 {
        let raw = try r.u8(field)
        guard let e = E(rawValue: raw) else {
            throw IngotError.badField(file: r.file, field, seen: String(raw), expected: "a known \(E.self) code")
        }
        return e
    }

    static func readSmallCount(_ r: inout ByteReader, _ field: String) throws -> Int {
        let v = try r.u32(field)
        guard v > 0, v <= 1 << 20 else {
            throw IngotError.badField(file: r.file, field, seen: String(v), expected: "1...\(1 << 20)")
        }
        return Int(v)
    }

    static func readOp(_ r: inout ByteReader, _ field: String) throws -> Op {
        let raw = try r.u16(field + ".op")
        guard let code = OpCode(rawValue: raw) else {
            throw IngotError.badField(file: r.file, field + ".op", seen: String(raw), expected: "an op code 1...\(OpCode.gatherInt8.rawValue)")
        }
        switch code {
        case .gather: return .gather
        case .matmul:
            let t = try r.u8(field + ".transpose_b")
            guard t <= 1 else { throw IngotError.badField(file: r.file, field + ".transpose_b", seen: String(t), expected: "0 or 1") }
            return .matmul(transposeB: t == 1)
        case .binary: return .binary(try readEnum(&r, field + ".kind", BinaryKind.self))
        case .gelu: return .gelu(try readEnum(&r, field + ".approximation", GELUApproximation.self))
        case .silu: return .silu
        case .layerNorm: return .layerNorm(epsilon: try r.f32(field + ".epsilon"))
        case .rmsNorm: return .rmsNorm(epsilon: try r.f32(field + ".epsilon"))
        case .rope:
            let theta = try r.f32(field + ".theta")
            let heads = try readSmallCount(&r, field + ".heads")
            let headDim = try readSmallCount(&r, field + ".head_dim")
            let style = try readEnum(&r, field + ".style", RopeStyle.self)
            return .rope(theta: theta, heads: heads, headDim: headDim, style: style)
        case .softmax: return .softmax(axis: Int(try r.i32(field + ".axis")))
        case .attention:
            let heads = try readSmallCount(&r, field + ".heads")
            let kvHeads = try readSmallCount(&r, field + ".kv_heads")
            let headDim = try readSmallCount(&r, field + ".head_dim")
            let flags = try r.u8(field + ".flags")
            guard flags <= 3 else { throw IngotError.badField(file: r.file, field + ".flags", seen: String(flags), expected: "bits 0 (causal) and 1 (kv_cache) only") }
            let scale = try r.f32(field + ".scale")
            return .attention(AttentionAttributes(heads: heads, kvHeads: kvHeads, headDim: headDim,
                                                  causal: flags & 1 != 0, scale: scale, kvCache: flags & 2 != 0))
        case .reshape: return .reshape(try readShape(&r, field + ".shape"))
        case .transpose:
            let n = Int(try r.u8(field + ".rank"))
            guard n <= maxRank else { throw IngotError.badField(file: r.file, field + ".rank", seen: String(n), expected: "at most \(maxRank)") }
            return .transpose(permutation: try (0..<n).map { Int(try r.u8("\(field).permutation[\($0)]")) })
        case .slice:
            let axis = Int(try r.i32(field + ".axis"))
            let start = try r.u64(field + ".start")
            let end = try r.u64(field + ".end")
            guard start < end, end <= UInt64(Int32.max) else {
                throw IngotError.badField(file: r.file, field + ".start/end", seen: "\(start)..<\(end)", expected: "start < end ≤ \(Int32.max)")
            }
            return .slice(axis: axis, start: Int(start), end: Int(end))
        case .concat: return .concat(axis: Int(try r.i32(field + ".axis")))
        case .meanPool: return .meanPool
        case .l2Normalize:
            let axis = Int(try r.i32(field + ".axis"))
            return .l2Normalize(axis: axis, epsilon: try r.f32(field + ".epsilon"))
        case .cast: return .cast(try readDType(&r, field + ".to"))
        case .linear: return .linear(activation: try readEnum(&r, field + ".activation", Activation.self))
        case .linearInt8:
            let group = try readSmallCount(&r, field + ".group")
            let activation = try readEnum(&r, field + ".activation", Activation.self)
            let mode = try readEnum(&r, field + ".mode", Int8ActivationMode.self)
            let scale = try r.f32(field + ".input_scale")
            let smoothed = try r.u8(field + ".smoothed")
            guard smoothed <= 1 else { throw IngotError.badField(file: r.file, field + ".smoothed", seen: String(smoothed), expected: "0 or 1") }
            return .linearInt8(Int8LinearAttributes(group: group, activation: activation, mode: mode, inputScale: scale, smoothed: smoothed == 1))
        case .swiglu: return .swiglu
        case .gatherInt8: return .gatherInt8(group: try readSmallCount(&r, field + ".group"))
        case .addLayerNorm: return .addLayerNorm(epsilon: try r.f32(field + ".epsilon"))
        case .addRMSNorm: return .addRMSNorm(epsilon: try r.f32(field + ".epsilon"))
        case .split:
            let axis = Int(try r.i32(field + ".axis"))
            let count = Int(try r.u8(field + ".count"))
            guard count >= 1 else { throw IngotError.badField(file: r.file, field + ".count", seen: "0", expected: "1...255") }
            let sizes = try (0..<count).map { i -> Int in
                let n = try r.u64("\(field).sizes[\(i)]")
                guard n >= 1, n <= UInt64(Int32.max) else {
                    throw IngotError.badField(file: r.file, "\(field).sizes[\(i)]", seen: String(n), expected: "1...\(Int32.max)")
                }
                return Int(n)
            }
            return .split(axis: axis, sizes: sizes)
        case .linearSparse: return .linearSparse(activation: try readEnum(&r, field + ".activation", Activation.self))
        case .linearInt8Packed:
            let activation = try readEnum(&r, field + ".activation", Activation.self)
            let bits = try r.u8(field + ".input_bits")
            guard PackedInt8Layout.inputBitsAllowed.contains(Int(bits)) else {
                throw IngotError.badField(file: r.file, field + ".input_bits", seen: String(bits), expected: "7 or 8")
            }
            let smoothed = try r.u8(field + ".smoothed")
            guard smoothed <= 1 else { throw IngotError.badField(file: r.file, field + ".smoothed", seen: String(smoothed), expected: "0 or 1") }
            return .linearInt8Packed(PackedLinearAttributes(activation: activation, inputBits: Int(bits), smoothed: smoothed == 1))
        }
    }
}
