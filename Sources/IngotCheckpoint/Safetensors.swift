// Safetensors reader: memory-mapped, zero-copy access to the tensors of a .safetensors
// file, and to sharded checkpoints through model.safetensors.index.json. Every header
// field is validated (Formats/safetensors-reader.md). It converts to float32 on request;
// it never writes and knows nothing of model architectures.

import IngotCore

public struct SafetensorsTensorInfo: Sendable, Equatable {
    public var name: String
    public var dtype: DType
    /// Row-major, outermost first.
    public var shape: [Int]
    /// Absolute byte range in the shard file.
    public var byteRange: Range<Int>
    public var shardPath: String

    public var byteCount: Int { byteRange.count }
    public var elementCount: Int { shape.reduce(1, *) }
}

public final class SafetensorsFile: @unchecked Sendable {
    public static let maxHeaderBytes = 100 << 20
    public static let maxTensors = 1 << 20
    public static let maxRank = 8

    public let path: String
    public let file: MappedFile
    public let tensors: [SafetensorsTensorInfo]
    public let metadata: [(String, String)]
    private let index: [String: Int]

    public init(path: String) throws {
        self.path = path
        file = try MappedFile(path: path)
        var r = ByteReader(file.bytes, file: path)
        let headerLength = try r.u64("header_length")
        let limit = min(SafetensorsFile.maxHeaderBytes, max(file.count - 8, 0))
        guard headerLength >= 2, headerLength <= UInt64(limit) else {
            throw IngotError.badField(file: path, "header_length", seen: String(headerLength),
                                      expected: "2...\(limit) (file size \(file.count) − 8, at most \(SafetensorsFile.maxHeaderBytes))")
        }
        let headerBytes = try r.bytes(Int(headerLength), "header")
        let header = try JSONValue.parse(headerBytes, file: path)
        guard let fields = header.object else {
            throw IngotError(.format, file: path, location: "header", "not a JSON object")
        }
        let dataStart = 8 + Int(headerLength)
        let dataSize = file.count - dataStart
        guard fields.count <= SafetensorsFile.maxTensors + 1 else {
            throw IngotError.badField(file: path, "header", seen: "\(fields.count) entries", expected: "at most \(SafetensorsFile.maxTensors)")
        }
        var tensors: [SafetensorsTensorInfo] = []
        var metadata: [(String, String)] = []
        for (name, entry) in fields {
            if name == "__metadata__" {
                guard let m = entry.object else {
                    throw IngotError(.format, file: path, location: "__metadata__", "not an object of strings")
                }
                for (k, v) in m {
                    guard let s = v.string else {
                        throw IngotError(.format, file: path, location: "__metadata__.\(k)", "value \(v.serialized()), expected a string")
                    }
                    metadata.append((k, s))
                }
                continue
            }
            tensors.append(try SafetensorsFile.parseEntry(name, entry, path: path, dataStart: dataStart, dataSize: dataSize))
        }
        // Non-overlapping and contiguous: sorted by offset, each begins where the previous ended.
        let sorted = tensors.sorted { ($0.byteRange.lowerBound, $0.byteRange.upperBound) < ($1.byteRange.lowerBound, $1.byteRange.upperBound) }
        var expectedStart = dataStart
        for t in sorted {
            if t.byteRange.lowerBound < expectedStart {
                let other = sorted.first { $0.name != t.name && $0.byteRange.overlaps(t.byteRange) }?.name ?? "the previous tensor"
                throw IngotError(.format, file: path, location: "tensor '\(t.name)'.data_offsets",
                                 "bytes \(t.byteRange.lowerBound - dataStart)..<\(t.byteRange.upperBound - dataStart) overlap '\(other)'")
            }
            if t.byteRange.lowerBound > expectedStart {
                throw IngotError(.format, file: path, location: "tensor '\(t.name)'.data_offsets",
                                 "starts at \(t.byteRange.lowerBound - dataStart), expected \(expectedStart - dataStart): a gap of \(t.byteRange.lowerBound - expectedStart) unused bytes")
            }
            expectedStart = t.byteRange.upperBound
        }
        if expectedStart != file.count, !tensors.isEmpty {
            throw IngotError(.format, file: path, location: "data",
                             "\(file.count - expectedStart) bytes after the last tensor (data ends at \(expectedStart - dataStart), file holds \(dataSize))")
        }
        self.tensors = tensors
        self.metadata = metadata
        var index: [String: Int] = [:]
        for (i, t) in tensors.enumerated() { index[t.name] = i }
        self.index = index
    }

    static func dtype(named s: String) -> DType? {
        switch s {
        case "F32": return .f32
        case "F16": return .f16
        case "BF16": return .bf16
        case "F64": return .f64
        case "I8": return .i8
        case "U8": return .u8
        case "I16": return .i16
        case "I32": return .i32
        case "I64": return .i64
        case "BOOL": return .bool
        default: return nil
        }
    }

    static func parseEntry(_ name: String, _ entry: JSONValue, path: String, dataStart: Int, dataSize: Int) throws -> SafetensorsTensorInfo {
        let at = "tensor '\(name)'"
        guard entry.object != nil else { throw IngotError(.format, file: path, location: at, "not an object") }
        guard let dtypeName = entry["dtype"]?.string else {
            throw IngotError(.format, file: path, location: at + ".dtype", "missing or not a string")
        }
        guard let dtype = dtype(named: dtypeName) else {
            throw IngotError(.unsupported, file: path, location: at + ".dtype",
                             "value \"\(dtypeName)\", expected one of F32, F16, BF16, F64, I8, U8, I16, I32, I64, BOOL")
        }
        guard let shapeValues = entry["shape"]?.array, shapeValues.count <= maxRank else {
            throw IngotError(.format, file: path, location: at + ".shape", "value \(entry["shape"]?.serialized() ?? "missing"), expected an array of at most \(maxRank) sizes")
        }
        var shape: [Int] = []
        for (i, v) in shapeValues.enumerated() {
            guard let n = v.int, n >= 0, n <= Int(Int32.max) else {
                throw IngotError.badField(file: path, "\(at).shape[\(i)]", seen: v.serialized(), expected: "an integer in 0...\(Int32.max)")
            }
            shape.append(n)
        }
        guard let offsets = entry["data_offsets"]?.array, offsets.count == 2,
              let begin = offsets[0].int, let end = offsets[1].int else {
            throw IngotError(.format, file: path, location: at + ".data_offsets",
                             "value \(entry["data_offsets"]?.serialized() ?? "missing"), expected [begin, end] integers")
        }
        guard begin >= 0, begin <= end, end <= dataSize else {
            throw IngotError.badField(file: path, at + ".data_offsets", seen: "[\(begin), \(end)]",
                                      expected: "0 ≤ begin ≤ end ≤ \(dataSize) (the data size)")
        }
        guard let count = Shape.checkedProduct(shape) else {
            throw IngotError.badField(file: path, at + ".shape", seen: "\(shape)", expected: "an element count that fits in memory")
        }
        let (bytes, overflow) = count.multipliedReportingOverflow(by: dtype.byteSize)
        guard !overflow, end - begin == bytes else {
            throw IngotError.badField(file: path, at + ".data_offsets", seen: "[\(begin), \(end)]",
                                      expected: "end − begin = \(overflow ? "overflow" : String(bytes)) (shape \(Shape(fixed: shape)) × \(dtypeName))")
        }
        let extra = entry.object!.map(\.0).filter { !["dtype", "shape", "data_offsets"].contains($0) }
        guard extra.isEmpty else {
            throw IngotError(.format, file: path, location: at, "unknown field\(extra.count == 1 ? "" : "s") \(extra.joined(separator: ", "))")
        }
        return SafetensorsTensorInfo(name: name, dtype: dtype, shape: shape,
                                     byteRange: (dataStart + begin)..<(dataStart + end), shardPath: path)
    }

    public func tensor(named name: String) -> SafetensorsTensorInfo? { index[name].map { tensors[$0] } }

    public func bytes(_ name: String) throws -> UnsafeRawBufferPointer {
        guard let t = tensor(named: name) else {
            throw IngotError(.format, file: path, location: "tensor '\(name)'", "not in the file")
        }
        return UnsafeRawBufferPointer(rebasing: file.bytes[t.byteRange])
    }
}

public final class SafetensorsCheckpoint: @unchecked Sendable {
    public let shards: [SafetensorsFile]
    private let owner: [String: Int]
    public let tensorNames: [String]

    public var shardPaths: [String] { shards.map(\.path) }

    /// A .safetensors file, a folder with model.safetensors, or a folder with model.safetensors.index.json.
    public init(path: String) throws {
        if path.hasSuffix(".safetensors") {
            shards = [try SafetensorsFile(path: path)]
        } else if let index = try? MappedFile(path: path + "/model.safetensors.index.json") {
            shards = try SafetensorsCheckpoint.openShards(directory: path, index: index)
        } else if (try? MappedFile(path: path + "/model.safetensors")) != nil {
            shards = [try SafetensorsFile(path: path + "/model.safetensors")]
        } else {
            throw IngotError(.io, file: path, "no model.safetensors or model.safetensors.index.json here")
        }
        var owner: [String: Int] = [:]
        for (s, shard) in shards.enumerated() {
            for t in shard.tensors {
                if let prior = owner[t.name] {
                    throw IngotError(.format, file: shard.path, location: "tensor '\(t.name)'", "also in \(shards[prior].path)")
                }
                owner[t.name] = s
            }
        }
        self.owner = owner
        tensorNames = owner.keys.sorted()
    }

    static func openShards(directory: String, index: MappedFile) throws -> [SafetensorsFile] {
        let json = try JSONValue.parse(index.bytes, file: index.path)
        guard let map = json["weight_map"]?.object else {
            throw IngotError(.format, file: index.path, location: "weight_map", "missing or not an object")
        }
        var shardNames: [String] = []
        var expected: [(String, String)] = []
        for (tensor, v) in map {
            guard let shard = v.string else {
                throw IngotError(.format, file: index.path, location: "weight_map.\(tensor)", "value \(v.serialized()), expected a file name")
            }
            guard !shard.isEmpty, !shard.contains("/"), shard != "..", shard != "." else {
                throw IngotError(.format, file: index.path, location: "weight_map.\(tensor)",
                                 "value \"\(shard)\", expected a file name inside \(directory)")
            }
            if !shardNames.contains(shard) { shardNames.append(shard) }
            expected.append((tensor, shard))
        }
        shardNames.sort()
        let shards = try shardNames.map { try SafetensorsFile(path: directory + "/" + $0) }
        for (tensor, shard) in expected {
            let file = shards[shardNames.firstIndex(of: shard)!]
            guard file.tensor(named: tensor) != nil else {
                throw IngotError(.format, file: index.path, location: "weight_map.\(tensor)", "\(shard) has no tensor '\(tensor)'")
            }
        }
        return shards
    }

    public func tensor(named name: String) -> SafetensorsTensorInfo? {
        owner[name].flatMap { shards[$0].tensor(named: name) }
    }

    func shard(for name: String) throws -> SafetensorsFile {
        guard let s = owner[name] else {
            throw IngotError(.format, file: shards.first?.path, location: "tensor '\(name)'", "not in the checkpoint")
        }
        return shards[s]
    }

    public func bytes(_ name: String) throws -> UnsafeRawBufferPointer { try shard(for: name).bytes(name) }

    /// Drops the mapped pages of a tensor that has been consumed (see MappedFile.dropPages).
    public func dropPages(_ name: String) {
        guard let s = try? shard(for: name), let t = s.tensor(named: name) else { return }
        s.file.dropPages(t.byteRange)
    }

    /// The stored bytes, zero-copy (kept alive by the mapping).
    public func buffer(_ name: String) throws -> TensorBuffer {
        let s = try shard(for: name)
        return TensorBuffer(borrowing: try s.bytes(name), owner: s.file)
    }

    /// The tensor as float32: borrowed when stored as f32 and 4-byte aligned, else converted.
    public func floats(_ name: String) throws -> TensorBuffer {
        let s = try shard(for: name)
        let info = s.tensor(named: name)!
        let raw = try s.bytes(name)
        let n = info.elementCount
        if info.dtype == .f32 {
            if Int(bitPattern: raw.baseAddress) % 4 == 0 { return TensorBuffer(borrowing: raw, owner: s.file) }
            return TensorBuffer(copying: raw)
        }
        return float32Copy(raw, dtype: info.dtype, count: n)
    }
}

/// `count` little-endian elements of `dtype` converted to float32 (F16/BF16 exactly, integers by value).
func float32Copy(_ raw: UnsafeRawBufferPointer, dtype: DType, count n: Int) -> TensorBuffer {
    let out = TensorBuffer(zeroedByteCount: n * 4)
    let dst = out.mutableRaw.bindMemory(to: Float.self)
    for i in 0..<n {
        let o = i * dtype.byteSize
        switch dtype {
        case .f32: dst[i] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: UInt32.self)))
        case .f16: dst[i] = floatFromHalfBits(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: UInt16.self)))
        case .bf16: dst[i] = floatFromBFloat16Bits(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: UInt16.self)))
        case .f64: dst[i] = Float(Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: UInt64.self))))
        case .i8: dst[i] = Float(raw.load(fromByteOffset: o, as: Int8.self))
        case .u8: dst[i] = Float(raw.load(fromByteOffset: o, as: UInt8.self))
        case .i16: dst[i] = Float(Int16(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: Int16.self)))
        case .i32: dst[i] = Float(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: Int32.self)))
        case .i64: dst[i] = Float(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: Int64.self)))
        case .bool: dst[i] = raw.load(fromByteOffset: o, as: UInt8.self) != 0 ? 1 : 0
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q4_K, .q5_K, .q6_K: dst[i] = .nan  // not a safetensors dtype: the header parser never yields one
        }
    }
    return out
}
