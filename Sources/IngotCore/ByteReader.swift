// ByteReader: bounds-checked little-endian reads over a byte buffer that throw
// IngotError naming the field and the offsets, instead of trapping on hostile input.
// It does not own the memory it reads; the caller keeps the buffer alive.

public struct ByteReader {
    public let base: UnsafeRawBufferPointer
    public private(set) var offset: Int
    /// File name used in errors.
    public let file: String?

    public init(_ base: UnsafeRawBufferPointer, offset: Int = 0, file: String? = nil) {
        self.base = base
        self.offset = offset
        self.file = file
    }

    public var remaining: Int { base.count - offset }

    /// Throws unless `count` more bytes are available for `field`.
    public func require(_ count: Int, for field: String) throws {
        guard count >= 0, count <= remaining else {
            throw IngotError(.format, file: file, location: field,
                             "truncated: needs \(count) bytes at offset \(offset), only \(max(remaining, 0)) left (file size \(base.count))")
        }
    }

    public mutating func seek(to newOffset: Int, for field: String) throws {
        guard newOffset >= 0, newOffset <= base.count else {
            throw IngotError.badField(file: file, field, seen: String(newOffset), expected: "an offset in 0...\(base.count)")
        }
        offset = newOffset
    }

    public mutating func skip(_ count: Int, for field: String) throws {
        try require(count, for: field)
        offset += count
    }

    public mutating func read<T: FixedWidthInteger>(_ type: T.Type, _ field: String) throws -> T {
        let size = MemoryLayout<T>.size
        try require(size, for: field)
        let v = base.loadUnaligned(fromByteOffset: offset, as: T.self)
        offset += size
        return T(littleEndian: v)
    }

    public mutating func u8(_ field: String) throws -> UInt8 { try read(UInt8.self, field) }
    public mutating func u16(_ field: String) throws -> UInt16 { try read(UInt16.self, field) }
    public mutating func u32(_ field: String) throws -> UInt32 { try read(UInt32.self, field) }
    public mutating func u64(_ field: String) throws -> UInt64 { try read(UInt64.self, field) }
    public mutating func i8(_ field: String) throws -> Int8 { try read(Int8.self, field) }
    public mutating func i16(_ field: String) throws -> Int16 { try read(Int16.self, field) }
    public mutating func i32(_ field: String) throws -> Int32 { try read(Int32.self, field) }
    public mutating func i64(_ field: String) throws -> Int64 { try read(Int64.self, field) }
    public mutating func f32(_ field: String) throws -> Float { Float(bitPattern: try u32(field)) }
    public mutating func f64(_ field: String) throws -> Double { Double(bitPattern: try u64(field)) }

    /// A u64 length or count that must lie in `range`; returned as Int.
    public mutating func count64(_ field: String, max limit: Int) throws -> Int {
        let v = try u64(field)
        guard v <= UInt64(limit) else {
            throw IngotError.badField(file: file, field, seen: String(v), expected: "at most \(limit)")
        }
        return Int(v)
    }

    /// A u32 length or count that must be at most `limit`.
    public mutating func count32(_ field: String, max limit: Int) throws -> Int {
        let v = try u32(field)
        guard v <= UInt32(clamping: limit) else {
            throw IngotError.badField(file: file, field, seen: String(v), expected: "at most \(limit)")
        }
        return Int(v)
    }

    /// `count` raw bytes, as a slice of the underlying buffer (no copy).
    public mutating func bytes(_ count: Int, _ field: String) throws -> UnsafeRawBufferPointer {
        try require(count, for: field)
        let slice = UnsafeRawBufferPointer(rebasing: base[offset..<(offset + count)])
        offset += count
        return slice
    }

    /// `count` bytes decoded as UTF-8; invalid UTF-8 is an error naming the field.
    public mutating func utf8(_ count: Int, _ field: String) throws -> String {
        let raw = try bytes(count, field)
        guard let s = String(validating: raw.bindMemory(to: UInt8.self), as: UTF8.self) else {
            throw IngotError(.format, file: file, location: field, "not valid UTF-8 (\(count) bytes at offset \(offset - count))")
        }
        return s
    }
}

/// ByteWriter: little-endian appends to a growable byte array; the writing twin of ByteReader.
public struct ByteWriter {
    public var bytes: [UInt8] = []

    public init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    public var count: Int { bytes.count }

    public mutating func write<T: FixedWidthInteger>(_ v: T) {
        withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) }
    }
    public mutating func u8(_ v: UInt8) { bytes.append(v) }
    public mutating func u16(_ v: UInt16) { write(v) }
    public mutating func u32(_ v: UInt32) { write(v) }
    public mutating func u64(_ v: UInt64) { write(v) }
    public mutating func i32(_ v: Int32) { write(v) }
    public mutating func i64(_ v: Int64) { write(v) }
    public mutating func f32(_ v: Float) { write(v.bitPattern) }
    public mutating func f64(_ v: Double) { write(v.bitPattern) }
    public mutating func append(_ raw: UnsafeRawBufferPointer) { bytes.append(contentsOf: raw) }
    public mutating func append(_ raw: [UInt8]) { bytes.append(contentsOf: raw) }
    /// u32 byte length then the UTF-8 bytes.
    public mutating func string(_ s: String) {
        let utf8 = Array(s.utf8)
        u32(UInt32(utf8.count))
        bytes.append(contentsOf: utf8)
    }
    /// Zero bytes up to a multiple of `alignment`.
    public mutating func pad(to alignment: Int) {
        let rem = bytes.count % alignment
        if rem != 0 { bytes.append(contentsOf: repeatElement(0, count: alignment - rem)) }
    }
}

extension ByteReader {
    /// u32 byte length then UTF-8 bytes, the reading twin of ByteWriter.string; length capped at `max`.
    public mutating func string(_ field: String, max limit: Int = 1 << 20) throws -> String {
        let n = try count32(field + ".length", max: limit)
        return try utf8(n, field)
    }
}
