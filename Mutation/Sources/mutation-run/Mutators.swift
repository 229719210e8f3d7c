// Mutators of the mutation run: byte-level edits (bit flips, boundary integers, cuts,
// insertions) aimed at structural fields where the seed writer recorded them, and an
// artifact re-layout that stores edited sections raw with every checksum, the digest and the
// header checksum recomputed, so an edit reaches the parsers behind the checksums (the
// attacker of issue 14 recomputes them too). It does not run anything.

import Foundation
import IngotArtifact
import IngotCore

/// Integers at the edges of every width, as a hostile file would hold them.
let boundaryValues: [UInt64] = [
    0, 1, 2, 7, 8, 63, 64, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0xFFFF, 0x1_0000, 0x7FFF_FFFF, 0x8000_0000,
    0xFFFF_FFFF, 0x1_0000_0000, 1 << 30, 1 << 40, 0x7FFF_FFFF_FFFF_FFFF, 0x8000_0000_0000_0000,
    0xFFFF_FFFF_FFFF_FFC0, 0xFFFF_FFFF_FFFF_FFFF,
]

struct Mutator {
    var rng: SplitMix64

    mutating func int(_ n: Int) -> Int { Int(rng.next() % UInt64(max(n, 1))) }
    mutating func chance(_ p: Double) -> Bool { Double(rng.next() % 1_000_000) < p * 1_000_000 }

    mutating func boundary(width: Int) -> UInt64 {
        if chance(0.2) { return rng.next() }
        let v = boundaryValues[int(boundaryValues.count)]
        return chance(0.3) ? v &- UInt64(int(3)) : v
    }

    /// Writes `value` little-endian over `width` bytes at `offset` (clipped to the buffer).
    func put(_ value: UInt64, width: Int, at offset: Int, in bytes: inout [UInt8]) {
        for k in 0..<width where offset + k < bytes.count { bytes[offset + k] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(k))) }
    }

    /// One to four byte-level edits anywhere in `range` of `bytes`.
    mutating func editBytes(_ bytes: inout [UInt8], in range: Range<Int>? = nil) -> [String] {
        var notes: [String] = []
        for _ in 0..<(1 + int(4)) {
            let r = range ?? 0..<bytes.count
            guard r.count > 0 else { bytes.append(UInt8(truncatingIfNeeded: rng.next())); notes.append("append to empty"); continue }
            let at = min(r.lowerBound + int(r.count), bytes.count - 1)
            switch int(8) {
            case 0:
                bytes[at] ^= 1 << UInt8(int(8)); notes.append("flip bit at \(at)")
            case 1:
                bytes[at] = UInt8(truncatingIfNeeded: rng.next()); notes.append("byte at \(at)")
            case 2, 3:
                let width = [1, 2, 4, 8][int(4)]
                let v = boundary(width: width)
                put(v, width: width, at: at, in: &bytes); notes.append("u\(width * 8) \(v) at \(at)")
            case 4:
                let n = min(1 + int(64), bytes.count - at)
                bytes.removeSubrange(at..<(at + n)); notes.append("delete \(n) at \(at)")
            case 5:
                let n = 1 + int(32)
                bytes.insert(contentsOf: (0..<n).map { _ in UInt8(truncatingIfNeeded: rng.next()) }, at: at); notes.append("insert \(n) at \(at)")
            case 6:
                let n = min(1 + int(256), bytes.count - at)
                bytes.insert(contentsOf: Array(bytes[at..<(at + n)]), at: min(at + n, bytes.count)); notes.append("repeat \(n) at \(at)")
            default:
                let keep = r.lowerBound + int(max(r.count, 1))
                if keep < bytes.count { bytes.removeSubrange(keep...) }
                notes.append("cut to \(keep)")
                return notes
            }
        }
        return notes
    }

    /// A boundary integer written over one recorded structural field.
    mutating func editField(_ bytes: inout [UInt8], _ fields: [FieldSlot]) -> String {
        let f = fields[int(fields.count)]
        let v = boundary(width: f.width)
        put(v, width: f.width, at: f.offset, in: &bytes)
        return "field at \(f.offset) (u\(f.width * 8)) = \(v)"
    }

    /// ASCII digits of a JSON number replaced by a hostile number (same region of the header).
    mutating func editNumberText(_ bytes: inout [UInt8], _ fields: [FieldSlot]) -> String {
        let f = fields.count > 1 ? fields[1 + int(fields.count - 1)] : fields[0]
        let texts = ["0", "1", "-1", "4294967296", "9223372036854775807", "18446744073709551615",
                     "99999999999999999999999", "1e308", "2.5", "\(rng.next() % 100_000)"]
        let t = texts[int(texts.count)]
        bytes.replaceSubrange(f.offset..<(f.offset + f.width), with: Array(t.utf8))
        return "number at \(f.offset) = \(t)"
    }
}

/// The parts of a seed artifact that a re-layout needs.
struct ArtifactSeed {
    var tensorData: [UInt8]          // bytes [64, end of TDAT)
    var sections: [(kind: [UInt8], required: Bool, payload: [UInt8])]   // non-TDAT, decoded

    init(path: String) throws {
        let reader = try ArtifactReader(path: path, verify: .full)
        guard let tdat = reader.sections.first(where: { $0.kind == .tensorData }) else {
            throw IngotError(.format, file: path, location: "TDAT", "missing")
        }
        tensorData = Array(reader.file.bytes[tdat.offset..<(tdat.offset + tdat.storedSize)])
        sections = []
        for s in reader.sections where s.kind != .tensorData {
            sections.append((s.kind.fourCC, s.required, try reader.payload(s.kind) ?? []))
        }
    }

    /// Table entry edits applied after the layout, before the digest: (entry index, byte offset
    /// in the entry, width, value).
    typealias EntryEdit = (entry: Int, field: Int, width: Int, value: UInt64)

    /// A complete v1 file: TDAT as in the seed, the other sections raw, checksums recomputed.
    func layout(_ sections: [(kind: [UInt8], required: Bool, payload: [UInt8])], entryEdits: [EntryEdit] = [],
                headerEdit: ((inout [UInt8]) -> Void)? = nil, recomputeHeader: Bool = true) -> [UInt8] {
        var file = [UInt8](repeating: 0, count: 64)
        file += tensorData
        var entries: [[UInt8]] = []
        func entry(_ kind: [UInt8], required: Bool, offset: Int, bytes: ArraySlice<UInt8>) -> [UInt8] {
            var e: [UInt8] = kind
            func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { e += $0 } }
            func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { e += $0 } }
            let sum = bytes.withUnsafeBytes { XXH64.hash($0) }
            u32(required ? 1 : 0); u32(0); u32(0)
            u64(UInt64(offset)); u64(UInt64(bytes.count)); u64(UInt64(bytes.count)); u64(sum); u64(sum)
            return e
        }
        entries.append(entry(Array("TDAT".utf8), required: true, offset: 64, bytes: file[64...]))
        for s in sections {
            while file.count % 64 != 0 { file.append(0) }
            let at = file.count
            file += s.payload
            entries.append(entry(s.kind, required: s.required, offset: at, bytes: s.payload[...]))
        }
        while file.count % 64 != 0 { file.append(0) }
        let tableOffset = file.count
        for var e in entries { e.reserveCapacity(56); file += e }
        for edit in entryEdits where edit.entry < entries.count {
            let at = tableOffset + 56 * edit.entry + edit.field
            for k in 0..<edit.width where at + k < file.count { file[at + k] = UInt8(truncatingIfNeeded: edit.value >> (8 * UInt64(k))) }
        }
        var header: [UInt8] = ArtifactFormat.magic
        func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { header += $0 } }
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { header += $0 } }
        func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { header += $0 } }
        u16(1); u16(0); u32(0)
        u64(UInt64(file.count)); u64(UInt64(tableOffset)); u32(UInt32(entries.count)); u32(0)
        u64(file[64...].withUnsafeBytes { XXH64.hash($0) }); u64(0)
        let original = header.withUnsafeBytes { XXH64.hash($0) }
        headerEdit?(&header)
        u64(recomputeHeader ? header.withUnsafeBytes { XXH64.hash($0) } : original)
        file.replaceSubrange(0..<64, with: header)
        return file
    }
}
