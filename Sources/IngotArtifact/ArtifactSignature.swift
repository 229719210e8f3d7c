// Artifact signatures (Formats/ingot-v1.md, "Signature"): the SIGN payload, the message an
// Ed25519 key signs (header fields, covered section table entries, BLAKE2b-256 of every
// covered section), the tail of a signed file (computed whole before anything of it is
// written, so signing is one pass), and verification against a trusted public key.
// Foundation-free. Writing files is ArtifactWriter's and ArtifactSigner's.

import IngotCore

#if canImport(Glibc)
import Glibc
#endif

extension ArtifactSectionKind {
    public static let signature = ArtifactSectionKind("SIGN")
}

/// A SIGN payload, version 1: version, reserved, covered_count, public key, hashes, signature.
struct SignaturePayload {
    static let version: UInt16 = 1
    static let fixedByteCount = 8 + SigningPublicKey.byteCount
    static let domain: [UInt8] = Array("ingot-artifact-signature-v1".utf8) + [0]

    var publicKey: SigningPublicKey
    /// BLAKE2b-256 of each covered section's stored bytes, in table order.
    var hashes: [[UInt8]]
    var signature: [UInt8]

    static func byteCount(covered: Int) -> Int {
        fixedByteCount + covered * Blake2b256.byteCount + SigningKey.signatureByteCount
    }

    /// Everything but the signature (the part the message includes).
    var signedPart: [UInt8] {
        var w = ByteWriter(capacity: SignaturePayload.byteCount(covered: hashes.count))
        w.u16(SignaturePayload.version)
        w.u16(0)
        w.u32(UInt32(hashes.count))
        w.append(publicKey.bytes)
        for h in hashes { w.append(h) }
        return w.bytes
    }

    var encoded: [UInt8] { signedPart + signature }

    /// The signed message: domain, header bytes [0, 40) and [48, 56), the covered table entries,
    /// the payload without its signature.
    static func message(header: [UInt8], covered: [ArtifactSectionInfo], signedPart: [UInt8]) -> [UInt8] {
        var m = domain
        m.append(contentsOf: header[0..<40])
        m.append(contentsOf: header[48..<56])
        m.append(contentsOf: ArtifactWriter.encodeTable(covered))
        m.append(contentsOf: signedPart)
        return m
    }
}

/// What follows the covered sections of a signed file: the SIGN payload at `signOffset`, then
/// the table at `tableOffset`. Everything it signs is fixed before the signature is made.
struct SignedTail {
    var payload: [UInt8]
    var signOffset: Int
    /// The covered entries, then SIGN's.
    var table: [ArtifactSectionInfo]
    var tableOffset: Int
    var fileLength: Int

    /// `contentEnd`: where the covered section that ends last ends.
    init(covered: [ArtifactSectionInfo], hashes: [[UInt8]], contentEnd: Int, key: SigningKey, file: String) throws {
        guard covered.count < ArtifactFormat.maxSections else {
            throw IngotError(.unsupported, file: file, location: "section_count",
                             "\(covered.count) sections, and signing adds one: at most \(ArtifactFormat.maxSections) in all")
        }
        guard hashes.count == covered.count, hashes.allSatisfy({ $0.count == Blake2b256.byteCount }) else {
            throw IngotError(.internal, file: file, location: "section SIGN", "\(hashes.count) hashes for \(covered.count) sections")
        }
        signOffset = alignUp(contentEnd, ArtifactFormat.alignment)
        let size = SignaturePayload.byteCount(covered: covered.count)
        tableOffset = alignUp(signOffset + size, ArtifactFormat.alignment)
        let sectionCount = covered.count + 1
        fileLength = tableOffset + sectionCount * ArtifactFormat.sectionEntrySize
        let header = ArtifactWriter.header(fileLength: fileLength, tableOffset: tableOffset, sectionCount: sectionCount, digest: 0)
        var sign = SignaturePayload(publicKey: key.publicKey, hashes: hashes, signature: [])
        sign.signature = key.sign(SignaturePayload.message(header: header, covered: covered, signedPart: sign.signedPart))
        payload = sign.encoded
        let checksum = XXH64.hash(payload)
        table = covered + [ArtifactSectionInfo(kind: .signature, required: false, codec: .raw, offset: signOffset,
                                               storedSize: size, decodedSize: size, storedChecksum: checksum, decodedChecksum: checksum)]
    }
}

/// What a SIGN section claims, or what a verification established.
public struct ArtifactSignatureInfo: Sendable {
    /// The payload's version; only version 1 is understood.
    public var version: UInt16
    /// The signer's key (nil when the version is unknown).
    public var publicKey: SigningPublicKey?
    /// The kinds covered, in table order (empty when the version is unknown).
    public var coveredSections: [ArtifactSectionKind]
}

/// Which signatures a model load requires (Formats/ingot-v1.md, "Verifying").
public enum ArtifactTrust: Sendable {
    /// The public key file named by INGOT_TRUSTED_KEY when it is set; none otherwise.
    case environment
    /// A valid signature by this key.
    case key(SigningPublicKey)
    /// No signature check (for artifacts the caller has just written itself).
    case unchecked

    public static let environmentVariable = "INGOT_TRUSTED_KEY"

    /// `--trusted-key FILE` when given (it wins), otherwise the environment.
    public static func flag(_ path: String?) throws -> ArtifactTrust {
        guard let path else { return .environment }
        return .key(try SigningPublicKey.read(from: path))
    }

    /// The key to verify against, nil when none is configured. INGOT_TRUSTED_KEY set but
    /// empty is an error: a lost variable must not turn verification off.
    public func trustedKey() throws -> SigningPublicKey? {
        switch self {
        case .unchecked: return nil
        case .key(let key): return key
        case .environment:
            guard let value = getenv(ArtifactTrust.environmentVariable) else { return nil }
            let path = String(cString: value)
            guard !path.isEmpty else {
                throw IngotError(.invalidArgument, location: ArtifactTrust.environmentVariable,
                                 "set but empty, expected the path of a public key file (\(SigningPublicKey.fileTag))")
            }
            return try SigningPublicKey.read(from: path)
        }
    }
}

extension ArtifactReader {
    /// The SIGN section's claims, unverified; nil when the artifact is unsigned.
    public func unverifiedSignature() throws -> ArtifactSignatureInfo? {
        guard let entry = sections.first(where: { $0.kind == .signature }) else { return nil }
        let payload = try ArtifactReader.decode(entry, in: file, path: path)
        let (version, sign) = try parseSignature(payload)
        return ArtifactSignatureInfo(version: version, publicKey: sign?.publicKey,
                                     coveredSections: sign == nil ? [] : sections.filter { $0.kind != .signature }.map(\.kind))
    }

    /// The payload's version and, when it is 1, its fields (size and counts checked).
    private func parseSignature(_ payload: [UInt8]) throws -> (UInt16, SignaturePayload?) {
        try payload.withUnsafeBytes { try parseSignature($0) }
    }

    private func parseSignature(_ payload: UnsafeRawBufferPointer) throws -> (UInt16, SignaturePayload?) {
        var r = ByteReader(payload, file: path)
        let version = try r.u16("section SIGN.version")
        guard version == SignaturePayload.version else { return (version, nil) }
        let reserved = try r.u16("section SIGN.reserved")
        guard reserved == 0 else { throw IngotError.badField(file: path, "section SIGN.reserved", seen: String(reserved), expected: "0") }
        let covered = try r.u32("section SIGN.covered_count")
        guard covered == UInt32(sections.count - 1) else {
            throw IngotError.badField(file: path, "section SIGN.covered_count", seen: String(covered),
                                      expected: "\(sections.count - 1), every other section of the table")
        }
        guard payload.count == SignaturePayload.byteCount(covered: Int(covered)) else {
            throw IngotError.badField(file: path, "section SIGN.stored_size", seen: String(payload.count),
                                      expected: "\(SignaturePayload.byteCount(covered: Int(covered))) for \(covered) covered sections")
        }
        let key = try SigningPublicKey(bytes: Array(try r.bytes(SigningPublicKey.byteCount, "section SIGN.public_key")))
        var hashes: [[UInt8]] = []
        for i in 0..<Int(covered) { hashes.append(Array(try r.bytes(Blake2b256.byteCount, "section SIGN.hashes[\(i)]"))) }
        let signature = Array(try r.bytes(SigningKey.signatureByteCount, "section SIGN.signature"))
        return (version, SignaturePayload(publicKey: key, hashes: hashes, signature: signature))
    }

    /// Verifies that `trustedKey` signed this artifact as it is (Formats/ingot-v1.md,
    /// "Verifying", steps 1-7); throws naming the first failure.
    @discardableResult
    public func verifySignature(trustedKey: SigningPublicKey) throws -> ArtifactSignatureInfo {
        guard let index = sections.firstIndex(where: { $0.kind == .signature }) else {
            throw IngotError(.signature, file: path, location: "section SIGN",
                             "missing: the artifact is unsigned, and the trusted key \(trustedKey.keyID) requires its signature")
        }
        let entry = sections[index]
        let payload = try ArtifactReader.decode(entry, in: file, path: path)
        let (version, parsed) = try parseSignature(payload)
        guard let sign = parsed else {
            throw IngotError(.unsupported, file: path, location: "section SIGN.version",
                             "value \(version), expected \(SignaturePayload.version); this reader cannot check that signature (upgrade ingot)")
        }
        let covered = sections.filter { $0.kind != .signature }
        try checkSignedLayout(entry, at: index, covered: covered)
        guard sign.publicKey == trustedKey else {
            throw IngotError(.signature, file: path, location: "section SIGN.public_key",
                             "signed by key \(sign.publicKey.keyID), expected the trusted key \(trustedKey.keyID)")
        }
        for (section, signed) in zip(covered, sign.hashes) {
            let bytes = UnsafeRawBufferPointer(rebasing: file.bytes[section.offset..<(section.offset + section.storedSize)])
            let hash = try Blake2b256.hash(bytes)
            guard hash == signed else {
                throw IngotError(.signature, file: path, location: "section \(section.kind)",
                                 "BLAKE2b-256 \(hexString(hash)) does not match the signed \(hexString(signed)) (changed after signing)")
            }
        }
        let header = Array(file.bytes[0..<ArtifactFormat.headerSize])
        let message = SignaturePayload.message(header: header, covered: covered, signedPart: sign.signedPart)
        guard try trustedKey.isValidSignature(sign.signature, of: message) else {
            throw IngotError(.signature, file: path, location: "section SIGN.signature",
                             "does not verify with key \(trustedKey.keyID): the header or the section table changed after signing")
        }
        try checkPaddingIsZero()
        return ArtifactSignatureInfo(version: version, publicKey: sign.publicKey, coveredSections: covered.map(\.kind))
    }

    /// SIGN is the last entry, optional and raw, placed right after the covered sections, and
    /// the table right after it.
    private func checkSignedLayout(_ entry: ArtifactSectionInfo, at index: Int, covered: [ArtifactSectionInfo]) throws {
        guard index == sections.count - 1 else {
            throw IngotError(.format, file: path, location: "section SIGN",
                             "table entry \(index) of \(sections.count), expected the last")
        }
        guard !entry.required else {
            throw IngotError.badField(file: path, "section SIGN.flags", seen: "1", expected: "0 (optional: readers without a key skip it)")
        }
        guard entry.codec == .raw else {
            throw IngotError.badField(file: path, "section SIGN.codec", seen: entry.codec.name, expected: "raw")
        }
        let contentEnd = covered.map { $0.offset + $0.storedSize }.max() ?? ArtifactFormat.headerSize
        let expectedOffset = alignUp(contentEnd, ArtifactFormat.alignment)
        guard entry.offset == expectedOffset else {
            throw IngotError.badField(file: path, "section SIGN.offset", seen: String(entry.offset),
                                      expected: "\(expectedOffset), the end of the last covered section rounded up to 64")
        }
        let tableOffset = file.count - sections.count * ArtifactFormat.sectionEntrySize
        let expectedTable = alignUp(entry.offset + entry.storedSize, ArtifactFormat.alignment)
        guard tableOffset == expectedTable else {
            throw IngotError.badField(file: path, "header.section_table_offset", seen: String(tableOffset),
                                      expected: "\(expectedTable), the end of SIGN rounded up to 64")
        }
    }

    /// Bytes in no section (alignment padding) are not signed, so they must be zero.
    private func checkPaddingIsZero() throws {
        let tableOffset = file.count - sections.count * ArtifactFormat.sectionEntrySize
        let ranges = sections.map { $0.offset..<($0.offset + $0.storedSize) }.sorted { $0.lowerBound < $1.lowerBound }
        var start = ArtifactFormat.headerSize
        for range in ranges + [tableOffset..<tableOffset] {
            if let i = (start..<max(start, range.lowerBound)).first(where: { file.bytes[$0] != 0 }) {
                throw IngotError(.signature, file: path, location: "padding \(start)..<\(range.lowerBound)",
                                 "byte \(i) is \(file.bytes[i]), expected 0 (bytes outside every section are not signed)")
            }
            start = max(start, range.upperBound)
        }
    }
}
