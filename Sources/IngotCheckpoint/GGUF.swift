// GGUF reader (llama.cpp's format, versions 2 and 3): header, every metadata value type
// including nested arrays, tensor infos and alignment, over a memory map. Every field is
// checked and errors name it with the value seen and the allowed range
// (Formats/gguf-reader.md). Dequantization is delegated to GGMLDequantize; nothing is written.

import IngotCore

public indirect enum GGUFValue: Sendable, Equatable {
    case uint8(UInt8), int8(Int8), uint16(UInt16), int16(Int16), uint32(UInt32), int32(Int32)
    case float32(Float), bool(Bool), string(String), uint64(UInt64), int64(Int64), float64(Double)
    /// Element type code and elements.
    case array(UInt32, [GGUFValue])

    public var int: Int? {
        switch self {
        case .uint8(let v): return Int(v)
        case .int8(let v): return Int(v)
        case .uint16(let v): return Int(v)
        case .int16(let v): return Int(v)
        case .uint32(let v): return Int(v)
        case .int32(let v): return Int(v)
        case .uint64(let v): return Int(exactly: v)
        case .int64(let v): return Int(exactly: v)
        case .float32, .bool, .string, .float64, .array: return nil
        }
    }

    public var float: Double? {
        switch self {
        case .float32(let v): return Double(v)
        case .float64(let v): return v
        case .uint8, .int8, .uint16, .int16, .uint32, .int32, .uint64, .int64: return int.map(Double.init)
        case .bool, .string, .array: return nil
        }
    }

    public var string: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    public var bool: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    public var array: [GGUFValue]? {
        if case .array(_, let items) = self { return items }
        return nil
    }

    public var stringArray: [String]? {
        guard let items = array else { return nil }
        var out: [String] = []
        out.reserveCapacity(items.count)
        for i in items {
            guard let s = i.string else { return nil }
            out.append(s)
        }
        return out
    }

    public var intArray: [Int]? {
        guard let items = array else { return nil }
        var out: [Int] = []
        out.reserveCapacity(items.count)
        for i in items {
            guard let v = i.int else { return nil }
            out.append(v)
        }
        return out
    }

    /// Short text for listings: scalars in full, strings truncated, arrays by count.
    public var summary: String {
        switch self {
        case .string(let s): return s.count > 60 ? "\"" + s.prefix(57) + "…\"" : "\"" + s + "\""
        case .array(_, let items): return "[\(items.count) items]"
        case .bool(let b): return String(b)
        case .float32(let f): return f.description
        case .float64(let f): return f.description
        case .uint8, .int8, .uint16, .int16, .uint32, .int32, .uint64, .int64: return String(int ?? 0)
        }
    }
}

public struct GGUFMetadataEntry: Sendable {
    public var key: String
    public var value: GGUFValue
}

public struct GGUFTensorInfo: Sendable, Equatable {
    public var index: Int
    public var name: String
    public var type: GGMLType
    /// ggml order: ne[0] is the innermost (fastest-varying) dimension.
    public var ne: [Int]
    /// Row-major, outermost first (ne reversed): a [out, in] weight has ne [in, out].
    public var shape: [Int] { ne.reversed() }
    public var elementCount: Int
    public var byteCount: Int
    /// Absolute offset in the file.
    public var offset: Int
}

public final class GGUFFile: @unchecked Sendable {
    public static let maxTensors = 1 << 20
    public static let maxKeyValues = 1 << 20
    public static let maxStringBytes = 1 << 24
    public static let maxArrayDepth = 8
    /// Elements in one metadata array (the largest real vocabularies and merge lists hold < 1M).
    public static let maxArrayCount = 1 << 22

    /// Bytes the smallest value of a GGUF value type takes in the file (1 for an unknown type:
    /// reading its first element then names the type).
    static func smallestEncoding(_ type: UInt32) -> Int {
        switch type {
        case 0, 1, 7: return 1          // u8, i8, bool
        case 2, 3: return 2             // u16, i16
        case 4, 5, 6: return 4          // u32, i32, f32
        case 8, 10, 11, 12: return 8    // string (u64 length), u64, i64, f64
        case 9: return 12               // array (u32 element type, u64 count)
        default: return 1
        }
    }

    public let path: String
    public let file: MappedFile
    public let version: UInt32
    public let alignment: Int
    public let metadata: [GGUFMetadataEntry]
    public let tensors: [GGUFTensorInfo]
    public let dataOffset: Int
    private let metadataIndex: [String: Int]
    private let tensorIndex: [String: Int]

    public init(path: String) throws {
        self.path = path
        file = try MappedFile(path: path)
        var r = ByteReader(file.bytes, file: path)
        let magic = try r.u32("header.magic")
        guard magic == 0x4655_4747 else { // "GGUF"
            throw IngotError.badField(file: path, "header.magic", seen: "0x" + String(magic, radix: 16), expected: "0x46554747 (\"GGUF\")")
        }
        version = try r.u32("header.version")
        guard version == 2 || version == 3 else {
            // 1 and small higher numbers are real GGUF versions Ingot does not read; anything else is damage.
            let kind: IngotError.Kind = version == 1 || (4...255).contains(version) ? .unsupported : .format
            throw IngotError.badField(kind, file: path, "header.version", seen: String(version), expected: "2 or 3")
        }
        let tensorCount = try r.count64("header.tensor_count", max: GGUFFile.maxTensors)
        let kvCount = try r.count64("header.metadata_kv_count", max: GGUFFile.maxKeyValues)

        var metadata: [GGUFMetadataEntry] = []
        var metadataIndex: [String: Int] = [:]
        for i in 0..<kvCount {
            let key = try GGUFFile.readString(&r, "metadata[\(i)].key")
            guard !key.isEmpty else { throw IngotError(.format, file: path, location: "metadata[\(i)].key", "empty") }
            let type = try r.u32("metadata '\(key)'.type")
            let value = try GGUFFile.readValue(&r, type: type, field: "metadata '\(key)'", depth: 0)
            guard metadataIndex.updateValue(metadata.count, forKey: key) == nil else {
                throw IngotError(.format, file: path, location: "metadata '\(key)'", "key appears twice")
            }
            metadata.append(GGUFMetadataEntry(key: key, value: value))
        }
        self.metadata = metadata
        self.metadataIndex = metadataIndex

        var alignment = 32
        if let a = metadataIndex["general.alignment"].map({ metadata[$0].value }) {
            guard let n = a.int, n > 0, n <= 1 << 20, n & (n - 1) == 0 else {
                throw IngotError.badField(file: path, "metadata 'general.alignment'", seen: a.summary, expected: "a power of two in 1...1048576")
            }
            alignment = n
        }
        self.alignment = alignment

        struct RawInfo { var name: String; var type: GGMLType; var ne: [Int]; var count: Int; var bytes: Int; var relative: UInt64 }
        var raw: [RawInfo] = []
        var tensorIndex: [String: Int] = [:]
        for i in 0..<tensorCount {
            let name = try GGUFFile.readString(&r, "tensors[\(i)].name")
            let at = "tensor '\(name)'"
            let nDims = try r.u32(at + ".n_dims")
            guard (1...4).contains(nDims) else {
                throw IngotError.badField(file: path, at + ".n_dims", seen: String(nDims), expected: "1...4")
            }
            var ne: [Int] = []
            for d in 0..<Int(nDims) {
                let n = try r.u64("\(at).ne[\(d)]")
                guard n >= 1, n <= UInt64(Int32.max) else {
                    throw IngotError.badField(file: path, "\(at).ne[\(d)]", seen: String(n), expected: "1...\(Int32.max)")
                }
                ne.append(Int(n))
            }
            let typeRaw = try r.u32(at + ".type")
            guard let type = GGMLType(rawValue: typeRaw) else {
                throw IngotError.badField(.unsupported, file: path, at + ".type", seen: String(typeRaw), expected: "a known ggml type id")
            }
            let relative = try r.u64(at + ".offset")
            let traits = type.traits
            guard let count = Shape.checkedProduct(ne) else {
                throw IngotError.badField(file: path, at + ".ne", seen: "\(ne)", expected: "an element count that fits in memory")
            }
            guard ne[0] % traits.blockSize == 0 else {
                throw IngotError.badField(file: path, at + ".ne[0]", seen: String(ne[0]), expected: "a multiple of \(traits.blockSize), the \(traits.name) block size")
            }
            let (bytes, overflow) = (count / traits.blockSize).multipliedReportingOverflow(by: traits.typeSize)
            guard !overflow else {
                throw IngotError.badField(file: path, at + ".ne", seen: "\(ne)", expected: "a byte size that fits in memory")
            }
            guard relative % UInt64(alignment) == 0 else {
                throw IngotError.badField(file: path, at + ".offset", seen: String(relative), expected: "a multiple of the alignment \(alignment)")
            }
            guard tensorIndex.updateValue(raw.count, forKey: name) == nil else {
                throw IngotError(.format, file: path, location: at, "tensor name appears twice")
            }
            raw.append(RawInfo(name: name, type: type, ne: ne, count: count, bytes: bytes, relative: relative))
        }
        let dataOffset = (r.offset + alignment - 1) / alignment * alignment
        guard dataOffset <= file.count || raw.isEmpty else {
            throw IngotError(.format, file: path, location: "tensor data", "starts at \(dataOffset), past the end of the file (\(file.count) bytes)")
        }
        self.dataOffset = dataOffset
        let available = file.count - dataOffset
        var infos: [GGUFTensorInfo] = []
        for (i, t) in raw.enumerated() {
            guard t.relative <= UInt64(available), UInt64(t.bytes) <= UInt64(available) - t.relative else {
                throw IngotError.badField(file: path, "tensor '\(t.name)'.offset", seen: "\(t.relative)+\(t.bytes) bytes",
                                          expected: "a range inside the \(available) bytes of tensor data (truncated file?)")
            }
            infos.append(GGUFTensorInfo(index: i, name: t.name, type: t.type, ne: t.ne, elementCount: t.count,
                                        byteCount: t.bytes, offset: dataOffset + Int(t.relative)))
        }
        let byOffset = infos.sorted { $0.offset < $1.offset }
        for (a, b) in zip(byOffset, byOffset.dropFirst()) where a.offset + a.byteCount > b.offset {
            throw IngotError(.format, file: path, location: "tensor '\(b.name)'.offset",
                             "bytes \(b.offset - dataOffset)..<\(b.offset - dataOffset + b.byteCount) overlap tensor '\(a.name)'")
        }
        // Tensor data is packed: each tensor's bytes, padded to the alignment, end where the
        // next tensor starts (and the last one within the alignment of the file's end). A
        // tensor whose type was edited to a smaller one leaves a gap its shape × type misses.
        for (i, a) in byOffset.enumerated() {
            let nextStart = i + 1 < byOffset.count ? byOffset[i + 1].offset : file.count
            let gap = nextStart - (a.offset + a.byteCount)
            guard gap < alignment else {
                let next = i + 1 < byOffset.count ? "tensor '\(byOffset[i + 1].name)' at \(nextStart - dataOffset)" : "the end of the file"
                throw IngotError(.format, file: path, location: "tensor '\(a.name)'",
                                 "\(a.type.name) \(a.shape) needs \(a.byteCount) bytes, but \(gap + a.byteCount) lie between its offset and \(next); expected a gap under the \(alignment)-byte alignment (type or shape edited?)")
            }
        }
        tensors = infos
        self.tensorIndex = tensorIndex
    }

    static func readString(_ r: inout ByteReader, _ field: String) throws -> String {
        let n = try r.count64(field + ".length", max: min(maxStringBytes, r.remaining))
        return try r.utf8(n, field)
    }

    static func readValue(_ r: inout ByteReader, type: UInt32, field: String, depth: Int) throws -> GGUFValue {
        switch type {
        case 0: return .uint8(try r.u8(field))
        case 1: return .int8(try r.i8(field))
        case 2: return .uint16(try r.u16(field))
        case 3: return .int16(try r.i16(field))
        case 4: return .uint32(try r.u32(field))
        case 5: return .int32(try r.i32(field))
        case 6: return .float32(try r.f32(field))
        case 7:
            let b = try r.u8(field)
            guard b <= 1 else { throw IngotError.badField(file: r.file, field, seen: String(b), expected: "0 or 1 (bool)") }
            return .bool(b == 1)
        case 8: return .string(try readString(&r, field))
        case 9:
            guard depth < maxArrayDepth else {
                throw IngotError(.format, file: r.file, location: field, "arrays nested deeper than \(maxArrayDepth)")
            }
            let elementType = try r.u32(field + ".element_type")
            // Each element takes at least its type's smallest encoding, so the count is bounded
            // by the bytes left before anything is allocated; and by maxArrayCount, since every
            // element is held as a value of its own (a count the file's bytes allow would still
            // cost tens of bytes of memory per byte of file).
            let count = try r.count64(field + ".count", max: min(maxArrayCount, r.remaining / GGUFFile.smallestEncoding(elementType)))
            var items: [GGUFValue] = []
            items.reserveCapacity(count)
            for i in 0..<count {
                items.append(try readValue(&r, type: elementType, field: "\(field)[\(i)]", depth: depth + 1))
            }
            return .array(elementType, items)
        case 10: return .uint64(try r.u64(field))
        case 11: return .int64(try r.i64(field))
        case 12: return .float64(try r.f64(field))
        default:
            throw IngotError.badField(file: r.file, field + ".type", seen: String(type), expected: "a GGUF value type 0...12")
        }
    }

    public subscript(key: String) -> GGUFValue? { metadataIndex[key].map { metadata[$0].value } }

    public func tensor(named name: String) -> GGUFTensorInfo? { tensorIndex[name].map { tensors[$0] } }

    public func rawBytes(_ t: GGUFTensorInfo) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: file.bytes[t.offset..<(t.offset + t.byteCount)])
    }

    public func dequantize(_ t: GGUFTensorInfo, into dst: UnsafeMutableBufferPointer<Float>) throws {
        guard t.type.traits.dequantizable else {
            throw IngotError(.unsupported, file: path, location: "tensor '\(t.name)'", "type \(t.type.name) cannot be dequantized by Ingot")
        }
        guard dst.count == t.elementCount, let base = dst.baseAddress else {
            throw IngotError(.internal, location: "tensor '\(t.name)'", "destination holds \(dst.count) floats, expected \(t.elementCount)")
        }
        GGMLDequantize.run(t.type, src: rawBytes(t), dst: base, count: t.elementCount)
    }

    /// The tensor as float32, row-major, in a new 64-byte aligned buffer.
    public func dequantize(_ t: GGUFTensorInfo) throws -> TensorBuffer {
        guard t.type.traits.dequantizable else {
            throw IngotError(.unsupported, file: path, location: "tensor '\(t.name)'", "type \(t.type.name) cannot be dequantized by Ingot")
        }
        let out = TensorBuffer(zeroedByteCount: t.elementCount * 4)
        try dequantize(t, into: out.mutableRaw.bindMemory(to: Float.self))
        return out
    }
}
