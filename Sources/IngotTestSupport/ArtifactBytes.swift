// ArtifactBytes: a .ingot file as bytes, edited the way a forger would — a byte changed, the
// SIGN section removed or another appended — and then every XXH64 field recomputed (section
// checksums, digest, header checksum), so that only the signature can tell. Offsets follow
// Formats/ingot-v1.md. Test support only: it trusts the file it is given.

import Foundation
import IngotCore

public struct ArtifactBytes {
    public var bytes: [UInt8]

    public init(contentsOf path: String) throws {
        bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    public func write(to path: String) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    public func u64(at offset: Int) -> UInt64 {
        bytes[offset..<(offset + 8)].reversed().reduce(0) { $0 << 8 | UInt64($1) }
    }

    public mutating func setU64(_ value: UInt64, at offset: Int) {
        for i in 0..<8 { bytes[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) }
    }

    public func u32(at offset: Int) -> UInt32 {
        bytes[offset..<(offset + 4)].reversed().reduce(0) { $0 << 8 | UInt32($1) }
    }

    public mutating func setU32(_ value: UInt32, at offset: Int) {
        for i in 0..<4 { bytes[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt32(i))) }
    }

    public var tableOffset: Int { Int(u64(at: 24)) }
    public var sectionCount: Int { Int(u32(at: 32)) }

    /// Offset of table entry `i` in the file.
    public func entryOffset(_ i: Int) -> Int { tableOffset + 56 * i }

    public func kind(ofEntry i: Int) -> String { String(decoding: bytes[entryOffset(i)..<(entryOffset(i) + 4)], as: UTF8.self) }

    public func entryIndex(_ kind: String) -> Int? { (0..<sectionCount).first { self.kind(ofEntry: $0) == kind } }

    /// (offset, stored_size) of the section of `kind`.
    public func section(_ kind: String) -> Range<Int>? {
        guard let i = entryIndex(kind) else { return nil }
        let e = entryOffset(i)
        let offset = Int(u64(at: e + 16))
        return offset..<(offset + Int(u64(at: e + 24)))
    }

    /// Recomputes every section's stored checksum (and decoded checksum when raw), the digest
    /// and the header checksum.
    public mutating func recomputeChecksums() {
        for i in 0..<sectionCount {
            let e = entryOffset(i)
            let offset = Int(u64(at: e + 16)), size = Int(u64(at: e + 24))
            let sum = XXH64.hash(Array(bytes[offset..<(offset + size)]))
            setU64(sum, at: e + 40)
            if u32(at: e + 8) == 0 { setU64(sum, at: e + 48) }
        }
        setU64(XXH64.hash(Array(bytes[64...])), at: 40)
        setU64(XXH64.hash(Array(bytes[0..<56])), at: 56)
    }

    /// Drops the last table entry (SIGN) and its payload; the table moves up to the end of the
    /// remaining sections.
    public mutating func removeLastSection() {
        let entries = Array(bytes[tableOffset..<entryOffset(sectionCount - 1)])
        let count = sectionCount - 1
        let end = contentEnd(entries: entries)
        let newTable = (end + 63) / 64 * 64
        bytes = Array(bytes[0..<end]) + [UInt8](repeating: 0, count: newTable - end) + entries
        setHeader(tableOffset: newTable, count: count)
        recomputeChecksums()
    }

    /// Appends a raw optional section of `kind` after the others, as the last table entry.
    public mutating func appendSection(_ kind: String, payload: [UInt8]) {
        let entries = Array(bytes[tableOffset..<(tableOffset + 56 * sectionCount)])
        let count = sectionCount + 1
        let end = contentEnd(entries: entries)
        let offset = (end + 63) / 64 * 64
        let newTable = (offset + payload.count + 63) / 64 * 64
        var entry = Array(kind.utf8) + [UInt8](repeating: 0, count: 52)
        withUnsafeBytes(of: UInt64(offset).littleEndian) { entry.replaceSubrange(16..<24, with: $0) }
        withUnsafeBytes(of: UInt64(payload.count).littleEndian) {
            entry.replaceSubrange(24..<32, with: $0)
            entry.replaceSubrange(32..<40, with: $0)
        }
        bytes = Array(bytes[0..<end]) + [UInt8](repeating: 0, count: offset - end) + payload
            + [UInt8](repeating: 0, count: newTable - offset - payload.count) + entries + entry
        setHeader(tableOffset: newTable, count: count)
        recomputeChecksums()
    }

    private func contentEnd(entries: [UInt8]) -> Int {
        stride(from: 0, to: entries.count, by: 56).map { e -> Int in
            let field = { (at: Int) in entries[(e + at)..<(e + at + 8)].reversed().reduce(0) { $0 << 8 | Int($1) } }
            return field(16) + field(24)
        }.max() ?? 64
    }

    private mutating func setHeader(tableOffset: Int, count: Int) {
        setU64(UInt64(bytes.count), at: 16)
        setU64(UInt64(tableOffset), at: 24)
        setU32(UInt32(count), at: 32)
    }
}
