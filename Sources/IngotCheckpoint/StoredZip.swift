// StoredZip: the central directory of a zip archive whose entries are STORED (uncompressed),
// as torch.save writes them, over a memory-mapped file: each entry's name, CRC-32 and the byte
// range of its data in the file. Zip64 sizes and offsets are read. It refuses compressed,
// encrypted or multi-disk archives naming the entry; it does not extract or write archives.

import IngotCore

public struct StoredZipEntry: Sendable, Equatable {
    public var name: String
    public var crc32: UInt32
    /// Absolute byte range of the entry's data in the file.
    public var dataRange: Range<Int>
}

public struct StoredZip: Sendable {
    public static let maxEntries = 1 << 20
    public let entries: [StoredZipEntry]

    /// True when the file starts with a zip local file header ("PK\u{3}\u{4}").
    public static func looksLikeZip(_ bytes: UnsafeRawBufferPointer) -> Bool {
        bytes.count >= 4 && bytes[0] == 0x50 && bytes[1] == 0x4B && bytes[2] == 0x03 && bytes[3] == 0x04
    }

    public init(_ bytes: UnsafeRawBufferPointer, path: String) throws {
        let size = bytes.count
        // End of central directory: 22 bytes plus a comment of at most 65535 bytes, at the end.
        var eocd = -1
        var at = size - 22
        while at >= 0 && at >= size - 22 - 0xFFFF {
            if bytes[at] == 0x50, bytes[at + 1] == 0x4B, bytes[at + 2] == 0x05, bytes[at + 3] == 0x06 { eocd = at; break }
            at -= 1
        }
        guard eocd >= 0 else {
            throw IngotError(.format, file: path, location: "zip end of central directory",
                             "signature PK\\5\\6 not found in the last \(min(size, 22 + 0xFFFF)) bytes (truncated or not a zip)")
        }
        var r = ByteReader(bytes, offset: eocd + 4, file: path)
        let disk = try r.u16("zip end of central directory.disk")
        let cdDisk = try r.u16("zip end of central directory.central directory disk")
        _ = try r.u16("zip end of central directory.entries on this disk")
        var count = Int(try r.u16("zip end of central directory.entries"))
        var cdSize = Int(try r.u32("zip end of central directory.central directory size"))
        var cdOffset = Int(try r.u32("zip end of central directory.central directory offset"))
        guard disk == 0, cdDisk == 0 else {
            throw IngotError(.unsupported, file: path, location: "zip end of central directory.disk",
                             "value \(disk)/\(cdDisk), expected 0/0 (multi-disk archives are not supported)")
        }
        if count == 0xFFFF || cdSize == 0xFFFF_FFFF || cdOffset == 0xFFFF_FFFF {
            // Zip64 end of central directory locator: 20 bytes just before the end record.
            guard eocd >= 20 else {
                throw IngotError(.format, file: path, location: "zip64 end of central directory locator", "missing before offset \(eocd)")
            }
            var l = ByteReader(bytes, offset: eocd - 20, file: path)
            guard try l.u32("zip64 locator.signature") == 0x0706_4B50 else {
                throw IngotError(.format, file: path, location: "zip64 end of central directory locator",
                                 "signature missing at offset \(eocd - 20) while the end record holds 0xFFFF… placeholders")
            }
            _ = try l.u32("zip64 locator.disk")
            let recordOffset = try l.u64("zip64 locator.record offset")
            guard recordOffset <= UInt64(eocd - 20) else {
                throw IngotError.badField(file: path, "zip64 locator.record offset", seen: String(recordOffset), expected: "at most \(eocd - 20)")
            }
            var z = ByteReader(bytes, offset: Int(recordOffset), file: path)
            guard try z.u32("zip64 end of central directory.signature") == 0x0606_4B50 else {
                throw IngotError(.format, file: path, location: "zip64 end of central directory", "signature PK\\6\\6 missing at offset \(recordOffset)")
            }
            try z.skip(8 + 2 + 2 + 4 + 4 + 8, for: "zip64 end of central directory")
            count = try z.count64("zip64 end of central directory.entries", max: StoredZip.maxEntries)
            cdSize = try z.count64("zip64 end of central directory.central directory size", max: size)
            cdOffset = try z.count64("zip64 end of central directory.central directory offset", max: size)
        }
        guard count <= StoredZip.maxEntries else {
            throw IngotError.badField(file: path, "zip end of central directory.entries", seen: String(count), expected: "at most \(StoredZip.maxEntries)")
        }
        guard cdOffset <= size, cdSize <= size - cdOffset else {
            throw IngotError.badField(file: path, "zip central directory", seen: "offset \(cdOffset), size \(cdSize)",
                                      expected: "a range inside the file's \(size) bytes")
        }
        var c = ByteReader(UnsafeRawBufferPointer(rebasing: bytes[0..<(cdOffset + cdSize)]), offset: cdOffset, file: path)
        var entries: [StoredZipEntry] = []
        entries.reserveCapacity(count)
        var names = Set<String>()
        for i in 0..<count {
            let field = "zip central directory entry \(i)"
            guard try c.u32(field + ".signature") == 0x0201_4B50 else {
                throw IngotError(.format, file: path, location: field, "signature PK\\1\\2 missing at offset \(c.offset - 4)")
            }
            try c.skip(4, for: field + ".versions")
            let flags = try c.u16(field + ".flags")
            let method = try c.u16(field + ".compression")
            try c.skip(4, for: field + ".time")
            let crc = try c.u32(field + ".crc32")
            var compressed = Int(try c.u32(field + ".compressed size"))
            var uncompressed = Int(try c.u32(field + ".uncompressed size"))
            let nameLength = Int(try c.u16(field + ".name length"))
            let extraLength = Int(try c.u16(field + ".extra length"))
            let commentLength = Int(try c.u16(field + ".comment length"))
            try c.skip(2 + 2 + 4, for: field + ".attributes")
            var localOffset = Int(try c.u32(field + ".local header offset"))
            let name = try c.utf8(nameLength, field + ".name")
            let at = "zip entry '\(name)'"
            var extra = ByteReader(try c.bytes(extraLength, at + ".extra"), file: path)
            try c.skip(commentLength, for: at + ".comment")
            // Zip64 extended information: the 0xFFFFFFFF fields, in this order, as u64.
            while extra.remaining >= 4 {
                let tag = try extra.u16(at + ".extra.tag")
                let length = Int(try extra.u16(at + ".extra.length"))
                var body = ByteReader(try extra.bytes(length, at + ".extra.body"), file: path)
                guard tag == 0x0001 else { continue }
                if uncompressed == 0xFFFF_FFFF { uncompressed = try body.count64(at + ".zip64 uncompressed size", max: size) }
                if compressed == 0xFFFF_FFFF { compressed = try body.count64(at + ".zip64 compressed size", max: size) }
                if localOffset == 0xFFFF_FFFF { localOffset = try body.count64(at + ".zip64 local header offset", max: size) }
            }
            guard flags & 0x1 == 0 else {
                throw IngotError(.unsupported, file: path, location: at, "encrypted (flags \(flags)); expected a plain entry")
            }
            guard method == 0 else {
                throw IngotError(.unsupported, file: path, location: at + ".compression",
                                 "value \(method)\(method == 8 ? " (deflate)" : ""), expected 0 (stored): torch.save writes entries uncompressed; re-save the checkpoint with torch.save")
            }
            guard compressed == uncompressed else {
                throw IngotError.badField(file: path, at + ".compressed size", seen: String(compressed),
                                          expected: "the uncompressed size \(uncompressed) (a stored entry)")
            }
            var local = ByteReader(bytes, offset: 0, file: path)
            try local.seek(to: localOffset, for: at + ".local header offset")
            guard try local.u32(at + ".local header.signature") == 0x0403_4B50 else {
                throw IngotError(.format, file: path, location: at + ".local header", "signature PK\\3\\4 missing at offset \(localOffset)")
            }
            try local.skip(22, for: at + ".local header")
            let localName = Int(try local.u16(at + ".local header.name length"))
            let localExtra = Int(try local.u16(at + ".local header.extra length"))
            try local.skip(localName + localExtra, for: at + ".local header.name and extra")
            let start = local.offset
            guard uncompressed <= size - start else {
                throw IngotError.badField(file: path, at + ".size", seen: String(uncompressed),
                                          expected: "at most \(size - start) (the bytes after its local header at \(start))")
            }
            guard names.insert(name).inserted else {
                throw IngotError(.format, file: path, location: at, "appears twice in the central directory")
            }
            entries.append(StoredZipEntry(name: name, crc32: crc, dataRange: start..<(start + uncompressed)))
        }
        self.entries = entries
    }
}

/// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), as zip stores it.
public func crc32(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    crc32Table.withUnsafeBufferPointer { table in
        for b in bytes { crc = table[Int((crc ^ UInt32(b)) & 0xFF)] ^ (crc >> 8) }
    }
    return crc ^ 0xFFFF_FFFF
}

private let crc32Table: [UInt32] = (0..<256).map { (n: UInt32) -> UInt32 in
    var c = n
    for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
    return c
}
