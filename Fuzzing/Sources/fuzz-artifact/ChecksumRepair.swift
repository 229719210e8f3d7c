// ChecksumRepair: rewrites the checksums of a mutated .ingot file so the fuzzer's mutations
// reach what lies behind them (the section table's semantics, the tensor index, the graph
// codec and verifier, the tokenizer section, constant binding). It sets file_length to the
// size, every raw or decompressible tensor's checksum in a raw TIDX, every section's stored
// and decoded checksums, the digest and the header checksum, each where the fields it needs
// are in range; it judges nothing. Checksum and truncation checks themselves are covered by
// the byte-flip and truncation corpus of Tests/IngotArtifactTests.
import IngotCore
@testable import IngotArtifact

enum ChecksumRepair {
    /// Decompression for a checksum is skipped above this size.
    static let maxDecodedBytes = 16 << 20

    static func repair(_ b: inout [UInt8]) {
        guard b.count >= ArtifactFormat.headerSize else { return }
        put(&b, 16, UInt64(b.count))
        let tableOffset = load(b, 24, UInt64.self)
        let sectionCount = Int(load(b, 32, UInt32.self))
        let entrySize = ArtifactFormat.sectionEntrySize
        if sectionCount <= ArtifactFormat.maxSections, tableOffset <= UInt64(b.count),
           Int(tableOffset) + sectionCount * entrySize <= b.count {
            let entries = (0..<sectionCount).map { Int(tableOffset) + $0 * entrySize }
            // Tensor checksums first: they live in the TIDX payload, whose own checksums follow.
            for e in entries where Array(b[e..<(e + 4)]) == ArtifactSectionKind.tensorIndex.fourCC {
                if let range = storedRange(b, e), load(b, e + 8, UInt32.self) == ArtifactCodec.raw.rawValue {
                    repairTensorIndex(&b, range)
                }
            }
            for e in entries {
                guard let range = storedRange(b, e) else { continue }
                let stored = b.withUnsafeBytes { XXH64.hash(UnsafeRawBufferPointer(rebasing: $0[range])) }
                put(&b, e + 40, stored)
                switch load(b, e + 8, UInt32.self) {
                case ArtifactCodec.raw.rawValue: put(&b, e + 48, stored)
                case ArtifactCodec.zstd.rawValue:
                    if let sum = decodedChecksum(b, range, decodedSize: load(b, e + 32, UInt64.self)) { put(&b, e + 48, sum) }
                default: break
                }
            }
        }
        let digest = b.withUnsafeBytes { XXH64.hash(UnsafeRawBufferPointer(rebasing: $0[ArtifactFormat.headerSize...])) }
        put(&b, 40, digest)
        let header = b.withUnsafeBytes { XXH64.hash(UnsafeRawBufferPointer(rebasing: $0[0..<56])) }
        put(&b, 56, header)
    }

    /// Walks a raw tensor index in place (layout of Formats/ingot-v1.md) and sets each
    /// tensor's checksum; stops at the first entry that does not parse.
    static func repairTensorIndex(_ b: inout [UInt8], _ index: Range<Int>) {
        var at = index.lowerBound
        func take(_ n: Int) -> Int? {
            guard n >= 0, n <= index.upperBound - at else { return nil }
            defer { at += n }
            return at
        }
        guard let countAt = take(4) else { return }
        for _ in 0..<Int(load(b, countAt, UInt32.self)) {
            guard let lengthAt = take(4), take(Int(load(b, lengthAt, UInt32.self))) != nil,
                  let fieldsAt = take(4) else { return }
            let codec = b[fieldsAt + 1], rank = Int(b[fieldsAt + 2])
            guard rank <= ArtifactFormat.maxRank, take(8 * rank) != nil, let chunkAt = take(32) else { return }
            let offset = load(b, chunkAt, UInt64.self), stored = load(b, chunkAt + 8, UInt64.self)
            guard offset <= UInt64(b.count), stored <= UInt64(b.count) - offset else { continue }
            let range = Int(offset)..<Int(offset + stored)
            let sum: UInt64?
            switch UInt32(codec) {
            case ArtifactCodec.raw.rawValue: sum = b.withUnsafeBytes { XXH64.hash(UnsafeRawBufferPointer(rebasing: $0[range])) }
            case ArtifactCodec.zstd.rawValue: sum = decodedChecksum(b, range, decodedSize: load(b, chunkAt + 16, UInt64.self))
            default: sum = nil
            }
            if let sum { put(&b, chunkAt + 24, sum) }
        }
    }

    /// The section entry's stored byte range, when it lies inside the file.
    static func storedRange(_ b: [UInt8], _ entry: Int) -> Range<Int>? {
        let offset = load(b, entry + 16, UInt64.self), stored = load(b, entry + 24, UInt64.self)
        guard offset <= UInt64(b.count), stored <= UInt64(b.count) - offset else { return nil }
        return Int(offset)..<Int(offset + stored)
    }

    static func decodedChecksum(_ b: [UInt8], _ range: Range<Int>, decodedSize: UInt64) -> UInt64? {
        guard decodedSize <= UInt64(maxDecodedBytes) else { return nil }
        var out = [UInt8](repeating: 0, count: Int(decodedSize))
        let ok: Bool = b.withUnsafeBytes { src in
            out.withUnsafeMutableBytes { dst in
                (try? Zstd.decompress(UnsafeRawBufferPointer(rebasing: src[range]), into: dst, file: nil, location: "")) != nil
            }
        }
        return ok ? XXH64.hash(out) : nil
    }

    static func load<T: FixedWidthInteger>(_ b: [UInt8], _ offset: Int, _: T.Type) -> T {
        var v: T = 0
        for i in 0..<MemoryLayout<T>.size { v |= T(truncatingIfNeeded: b[offset + i]) << (8 * i) }
        return v
    }

    static func put(_ b: inout [UInt8], _ offset: Int, _ v: UInt64) {
        for i in 0..<8 { b[offset + i] = UInt8(truncatingIfNeeded: v >> (8 * i)) }
    }
}
