// ArtifactReader: opens a .ingot v1 file over a memory map and validates its structure
// (Formats/ingot-v1.md, "Reading rules") before returning anything. Sections are checked
// against their checksums when read, tensors when loaded; raw tensors are returned without
// copying. It does not interpret graph, tokenizer or JSON payloads.

import CZstd
import IngotCore

public enum ArtifactVerification: Sendable {
    /// Structure up front; each section's and tensor's checksum when it is read.
    case structure
    /// Also the whole-file digest and every section and tensor checksum, up front.
    case full
}

public final class ArtifactReader: @unchecked Sendable {
    public let path: String
    public let file: MappedFile
    public let formatVersion: (major: UInt16, minor: UInt16)
    public let digest: UInt64
    public let sections: [ArtifactSectionInfo]
    public let tensors: [ArtifactTensorInfo]
    private let tensorByName: [String: Int]

    public var fileSize: Int { file.count }
    public var digestHex: String { hex64(digest) }

    public init(path: String, verify: ArtifactVerification = .structure) throws {
        self.path = path
        file = try MappedFile(path: path)
        let bytes = file.bytes
        var r = ByteReader(bytes, file: path)
        let magic = Array(try r.bytes(8, "header.magic"))
        guard magic == ArtifactFormat.magic else {
            throw IngotError(.format, file: path, location: "header.magic",
                             "bytes \(magic.map { String($0, radix: 16) }.joined(separator: " ")), expected 89 49 4e 47 4f 54 d a (not a .ingot file)")
        }
        try r.seek(to: 56, for: "header.header_checksum")
        let headerChecksum = try r.u64("header.header_checksum")
        let computed = XXH64.hash(UnsafeRawBufferPointer(rebasing: bytes[0..<56]))
        guard computed == headerChecksum else {
            throw IngotError(.checksum, file: path, location: "header", "checksum \(hex64(computed)) does not match stored \(hex64(headerChecksum))")
        }
        try r.seek(to: 8, for: "header.major")
        let major = try r.u16("header.major")
        let minor = try r.u16("header.minor")
        guard major == ArtifactFormat.major else {
            throw IngotError(.unsupported, file: path, location: "header.major",
                             "format version \(major).\(minor), this reader reads \(ArtifactFormat.major).x; rebuild the artifact or upgrade ingot")
        }
        formatVersion = (major, minor)
        let flags = try r.u32("header.flags")
        guard flags == 0 else { throw IngotError.badField(file: path, "header.flags", seen: String(flags), expected: "0") }
        let fileLength = try r.u64("header.file_length")
        guard fileLength == UInt64(file.count) else {
            throw IngotError.badField(file: path, "header.file_length", seen: String(fileLength),
                                      expected: "\(file.count), the file's size (truncated or extended file)")
        }
        let tableOffset = try r.u64("header.section_table_offset")
        let sectionCount = try r.u32("header.section_count")
        guard sectionCount >= 3, sectionCount <= UInt32(ArtifactFormat.maxSections) else {
            throw IngotError.badField(file: path, "header.section_count", seen: String(sectionCount), expected: "3...\(ArtifactFormat.maxSections)")
        }
        let tableBytes = UInt64(sectionCount) * UInt64(ArtifactFormat.sectionEntrySize)
        // Compared as fileLength − tableBytes: a hostile offset near 2⁶⁴ must not overflow the sum.
        guard tableOffset >= UInt64(ArtifactFormat.headerSize), tableOffset % UInt64(ArtifactFormat.alignment) == 0,
              tableBytes <= fileLength, tableOffset == fileLength - tableBytes else {
            throw IngotError.badField(file: path, "header.section_table_offset", seen: String(tableOffset),
                                      expected: "a 64-byte aligned offset with the \(sectionCount)-entry table ending at the file's end (\(fileLength))")
        }
        _ = try r.u32("header.reserved")
        digest = try r.u64("header.digest")

        // Section table.
        try r.seek(to: Int(tableOffset), for: "section_table")
        var sections: [ArtifactSectionInfo] = []
        for i in 0..<Int(sectionCount) {
            let f = "section_table[\(i)]"
            let kindBytes = Array(try r.bytes(4, f + ".kind"))
            guard kindBytes.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) }) else {
                throw IngotError.badField(file: path, f + ".kind", seen: kindBytes.map { String($0, radix: 16) }.joined(separator: " "), expected: "four ASCII letters or digits")
            }
            let kind = ArtifactSectionKind(bytes: kindBytes)
            let sflags = try r.u32(f + ".flags")
            guard sflags <= 1 else { throw IngotError.badField(file: path, "section \(kind).flags", seen: String(sflags), expected: "0 or 1") }
            let codecRaw = try r.u32(f + ".codec")
            guard let codec = ArtifactCodec(rawValue: codecRaw) else {
                throw IngotError.badField(file: path, "section \(kind).codec", seen: String(codecRaw), expected: "0 (raw) or 1 (zstd)")
            }
            _ = try r.u32(f + ".reserved")
            let offset = try r.u64(f + ".offset")
            let stored = try r.u64(f + ".stored_size")
            let decoded = try r.u64(f + ".decoded_size")
            let storedSum = try r.u64(f + ".stored_checksum")
            let decodedSum = try r.u64(f + ".decoded_checksum")
            guard offset >= UInt64(ArtifactFormat.headerSize), offset % UInt64(ArtifactFormat.alignment) == 0,
                  stored <= tableOffset, offset <= tableOffset - stored else {
                throw IngotError.badField(file: path, "section \(kind) offset/stored_size", seen: "\(offset)+\(stored)",
                                          expected: "a 64-byte aligned range inside 64..<\(tableOffset)")
            }
            if kind != .tensorData {
                guard decoded <= UInt64(ArtifactFormat.maxSectionBytes) else {
                    throw IngotError.badField(file: path, "section \(kind).decoded_size", seen: String(decoded),
                                              expected: "at most \(ArtifactFormat.maxSectionBytes) (the largest section other than TDAT)")
                }
            }
            switch codec {
            case .raw:
                guard decoded == stored else {
                    throw IngotError.badField(file: path, "section \(kind).decoded_size", seen: String(decoded), expected: "\(stored) (raw section)")
                }
            case .zstd:
                guard decoded / UInt64(ArtifactFormat.maxZstdExpansion) <= stored else {
                    throw IngotError.badField(file: path, "section \(kind).decoded_size", seen: String(decoded),
                                              expected: "at most \(ArtifactFormat.maxZstdExpansion) × its stored_size \(stored) (the most a zstd frame can expand)")
                }
            }
            if sections.contains(where: { $0.kind == kind }) {
                throw IngotError(.format, file: path, location: "section \(kind)", "appears twice in the section table")
            }
            sections.append(ArtifactSectionInfo(kind: kind, required: sflags == 1, codec: codec, offset: Int(offset),
                                                storedSize: Int(stored), decodedSize: Int(decoded),
                                                storedChecksum: storedSum, decodedChecksum: decodedSum))
        }
        for required in ArtifactSectionKind.requiredKnown where !sections.contains(where: { $0.kind == required }) {
            throw IngotError(.format, file: path, location: "section \(required)", "missing (required)")
        }
        for s in sections where s.required && !ArtifactSectionKind.known.contains(s.kind) {
            throw IngotError(.unsupported, file: path, location: "section \(s.kind)",
                             "required by the artifact but unknown to this reader (format \(major).\(minor)); upgrade ingot")
        }
        let tdat = sections.first { $0.kind == .tensorData }!
        guard tdat.codec == .raw else {
            throw IngotError.badField(file: path, "section TDAT.codec", seen: tdat.codec.name, expected: "raw")
        }
        // Non-tensor sections must not overlap each other or TDAT.
        let ranges = sections.map { ($0.kind, $0.offset..<($0.offset + $0.storedSize)) }.sorted { $0.1.lowerBound < $1.1.lowerBound }
        for (a, b) in zip(ranges, ranges.dropFirst()) where a.1.overlaps(b.1) {
            throw IngotError(.format, file: path, location: "section \(b.0)", "bytes \(b.1) overlap section \(a.0) at \(a.1)")
        }
        self.sections = sections
        // Full verification checks the digest, which covers the section table, before any
        // section is decoded: a table edited after writing is refused before it sizes a buffer.
        if verify == .full { try ArtifactReader.checkDigest(file, expected: digest, path: path) }

        // Tensor index.
        let indexInfo = sections.first { $0.kind == .tensorIndex }!
        let indexBytes = try ArtifactReader.decode(indexInfo, in: file, path: path)
        tensors = try indexBytes.withUnsafeBytes { try ArtifactReader.parseIndex($0, tdat: tdat, path: path) }
        var byName: [String: Int] = [:]
        for (i, t) in tensors.enumerated() {
            guard byName.updateValue(i, forKey: t.name) == nil else {
                throw IngotError(.format, file: path, location: "tensor '\(t.name)'", "listed twice in the tensor index")
            }
        }
        tensorByName = byName

        if verify == .full { try verifyContents() }
    }

    static func parseIndex(_ raw: UnsafeRawBufferPointer, tdat: ArtifactSectionInfo, path: String) throws -> [ArtifactTensorInfo] {
        var r = ByteReader(raw, file: path)
        // An entry takes at least 41 bytes (a 1-byte name, no dims), so the bytes left bound the
        // count before anything is reserved for it.
        let count = try r.count32("TIDX.tensor_count", max: min(ArtifactFormat.maxTensors, (r.remaining - 4) / ArtifactFormat.minIndexEntryBytes))
        var out: [ArtifactTensorInfo] = []
        out.reserveCapacity(count)
        var previousEnd = tdat.offset
        let tdatEnd = tdat.offset + tdat.storedSize
        for i in 0..<count {
            let f = "TIDX.tensors[\(i)]"
            let name = try r.string(f + ".name", max: ArtifactFormat.maxNameBytes)
            let at = "tensor '\(name)'"
            guard !name.isEmpty else { throw IngotError(.format, file: path, location: f + ".name", "empty") }
            let dtypeRaw = try r.u8(f + ".dtype")
            guard let dtype = DType(rawValue: dtypeRaw) else {
                throw IngotError.badField(file: path, at + ".dtype", seen: String(dtypeRaw), expected: "a dtype code 0...\(DType.allCases.count - 1)")
            }
            let codecRaw = try r.u8(f + ".codec")
            guard let codec = ArtifactCodec(rawValue: UInt32(codecRaw)) else {
                throw IngotError.badField(file: path, at + ".codec", seen: String(codecRaw), expected: "0 (raw) or 1 (zstd)")
            }
            let rank = Int(try r.u8(f + ".rank"))
            guard rank <= ArtifactFormat.maxRank else {
                throw IngotError.badField(file: path, at + ".rank", seen: String(rank), expected: "0...\(ArtifactFormat.maxRank)")
            }
            _ = try r.u8(f + ".reserved")
            var shape: [Int] = []
            for d in 0..<rank {
                let n = try r.u64("\(at).dims[\(d)]")
                guard n <= UInt64(Int32.max) else {
                    throw IngotError.badField(file: path, "\(at).dims[\(d)]", seen: String(n), expected: "at most \(Int32.max)")
                }
                shape.append(Int(n))
            }
            let offset = try r.u64(at + ".offset")
            let stored = try r.u64(at + ".stored_size")
            let decoded = try r.u64(at + ".decoded_size")
            let checksum = try r.u64(at + ".checksum")
            if dtype.isBlockQuantized, shape.last.map({ $0 % dtype.blockSize != 0 }) ?? true {
                throw IngotError.badField(file: path, at + ".dims", seen: "\(Shape(fixed: shape))",
                                          expected: "rank ≥ 1 and a last dimension that is a multiple of \(dtype)'s block of \(dtype.blockSize)")
            }
            guard let bytes = dtype.byteCount(shape: shape), decoded == UInt64(bytes) else {
                throw IngotError.badField(file: path, at + ".decoded_size", seen: String(decoded),
                                          expected: dtype.isBlockQuantized
                                              ? "shape \(Shape(fixed: shape)) ÷ \(dtype.blockSize) per block × \(dtype.byteSize) bytes per \(dtype) block"
                                              : "shape \(Shape(fixed: shape)) × \(dtype.byteSize) bytes")
            }
            guard offset % UInt64(ArtifactFormat.alignment) == 0, offset >= UInt64(previousEnd),
                  stored <= UInt64(tdatEnd), offset <= UInt64(tdatEnd) - stored else {
                throw IngotError.badField(file: path, at + ".offset/stored_size", seen: "\(offset)+\(stored)",
                                          expected: "a 64-byte aligned chunk inside TDAT \(previousEnd)..<\(tdatEnd), after the previous tensor")
            }
            switch codec {
            case .raw:
                guard stored == decoded else {
                    throw IngotError.badField(file: path, at + ".stored_size", seen: String(stored), expected: "\(decoded) (raw tensor)")
                }
            case .zstd:
                guard decoded / UInt64(ArtifactFormat.maxZstdExpansion) <= stored else {
                    throw IngotError.badField(file: path, at + ".decoded_size", seen: String(decoded),
                                              expected: "at most \(ArtifactFormat.maxZstdExpansion) × its stored_size \(stored) (the most a zstd frame can expand)")
                }
            }
            previousEnd = Int(offset + stored)
            out.append(ArtifactTensorInfo(name: name, dtype: dtype, codec: codec, shape: shape, offset: Int(offset),
                                          storedSize: Int(stored), decodedSize: Int(decoded), checksum: checksum))
        }
        guard r.remaining == 0 else {
            throw IngotError(.format, file: path, location: "TIDX", "\(r.remaining) unexpected bytes after the last tensor")
        }
        return out
    }

    /// A section's payload: the stored checksum is checked before anything is decoded, a zstd
    /// frame's declared size against the table before anything is allocated, and the output
    /// grows with the bytes the frame produces. `reservedBytes` receives the largest output
    /// capacity held (a test seam).
    static func decode(_ s: ArtifactSectionInfo, in file: MappedFile, path: String, reservedBytes: inout Int) throws -> [UInt8] {
        let stored = UnsafeRawBufferPointer(rebasing: file.bytes[s.offset..<(s.offset + s.storedSize)])
        let storedSum = XXH64.hash(stored)
        guard storedSum == s.storedChecksum else {
            throw IngotError(.checksum, file: path, location: "section \(s.kind)",
                             "checksum \(hex64(storedSum)) does not match stored \(hex64(s.storedChecksum))")
        }
        let out: [UInt8]
        switch s.codec {
        case .raw:
            out = Array(stored)
            reservedBytes = out.capacity
        case .zstd:
            out = try Zstd.decompressGrowing(stored, expected: s.decodedSize, file: path, location: "section \(s.kind)",
                                             reservedBytes: &reservedBytes)
        }
        let decodedSum = XXH64.hash(out)
        guard decodedSum == s.decodedChecksum else {
            throw IngotError(.checksum, file: path, location: "section \(s.kind)",
                             "decoded checksum \(hex64(decodedSum)) does not match stored \(hex64(s.decodedChecksum))")
        }
        return out
    }

    static func decode(_ s: ArtifactSectionInfo, in file: MappedFile, path: String) throws -> [UInt8] {
        var reserved = 0
        return try decode(s, in: file, path: path, reservedBytes: &reserved)
    }

    /// A section's decoded payload, or nil when the artifact has none of that kind.
    public func payload(_ kind: ArtifactSectionKind) throws -> [UInt8]? {
        guard let s = sections.first(where: { $0.kind == kind }) else { return nil }
        return try ArtifactReader.decode(s, in: file, path: path)
    }

    public func tensorInfo(_ name: String) -> ArtifactTensorInfo? { tensorByName[name].map { tensors[$0] } }

    /// A tensor's bytes, checksum-verified: borrowed from the mapping when raw, decompressed otherwise.
    public func tensor(_ name: String) throws -> TensorBuffer {
        guard let t = tensorInfo(name) else {
            throw IngotError(.format, file: path, location: "tensor '\(name)'", "not in the artifact")
        }
        let stored = UnsafeRawBufferPointer(rebasing: file.bytes[t.offset..<(t.offset + t.storedSize)])
        let buffer: TensorBuffer
        switch t.codec {
        case .raw:
            buffer = TensorBuffer(borrowing: stored, owner: file)
        case .zstd:
            // The frame must declare the indexed size before anything is allocated for it.
            let declared = ZSTD_getFrameContentSize(stored.baseAddress, stored.count)
            guard declared == UInt64(t.decodedSize) else {
                throw IngotError(.format, file: path, location: "tensor '\(name)'",
                                 "zstd frame declares \(declared) bytes, the index \(t.decodedSize)")
            }
            guard t.decodedSize <= ArtifactFormat.maxTensorBytes else {
                throw IngotError.badField(file: path, "tensor '\(name)'.decoded_size", seen: String(t.decodedSize),
                                          expected: "at most \(ArtifactFormat.maxTensorBytes)")
            }
            do {
                buffer = try TensorBuffer(uninitializedByteCount: t.decodedSize)
            } catch {
                throw IngotError(.io, file: path, location: "tensor '\(name)'", "cannot allocate \(t.decodedSize) bytes to decompress it")
            }
            try Zstd.decompress(stored, into: buffer.mutableRaw, file: path, location: "tensor '\(name)'")
        }
        let sum = XXH64.hash(buffer.raw)
        guard sum == t.checksum else {
            throw IngotError(.checksum, file: path, location: "tensor '\(name)'",
                             "checksum \(hex64(sum)) does not match stored \(hex64(t.checksum))")
        }
        return buffer
    }

    /// Checks the whole-file digest, every section and every tensor.
    public func verifyAll() throws {
        try ArtifactReader.checkDigest(file, expected: digest, path: path)
        try verifyContents()
    }

    /// The whole-file digest: XXH64 of every byte after the header, section table included.
    static func checkDigest(_ file: MappedFile, expected: UInt64, path: String) throws {
        let body = UnsafeRawBufferPointer(rebasing: file.bytes[ArtifactFormat.headerSize...])
        let d = XXH64.hash(body)
        guard d == expected else {
            throw IngotError(.checksum, file: path, location: "header.digest", "file digest \(hex64(d)) does not match stored \(hex64(expected))")
        }
    }

    /// Every section's and tensor's checksums.
    func verifyContents() throws {
        for s in sections where s.kind != .tensorData { _ = try ArtifactReader.decode(s, in: file, path: path) }
        for t in tensors { _ = try tensor(t.name) }
    }
}
