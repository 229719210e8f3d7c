// ArtifactSigner: signs an existing artifact (Formats/ingot-v1.md, "Signature"). The artifact
// is verified in full first (a corrupt file is refused, never signed); its sections are copied
// at their offsets with everything between them zeroed and any old SIGN dropped, hashed as
// they are copied, and the signed tail is appended. The result replaces the destination
// atomically (ArtifactOutputFile), so an interrupted or failed signing leaves it as it was.
// Signing at build time is ArtifactWriter's.

import IngotCore

public enum ArtifactSigner {
    /// Signs `path` with `key`, writing to `output` (default: `path` itself, replaced whole).
    @discardableResult
    public static func sign(_ path: String, key: SigningKey, output: String? = nil) throws -> ArtifactSignatureInfo {
        let reader = try ArtifactReader(path: path, verify: .full)
        let covered = reader.sections.filter { $0.kind != .signature }
        let destination = output ?? path
        let out = try ArtifactOutputFile(path: destination)
        do {
            var hashes = [[UInt8]](repeating: [], count: covered.count)
            let chunk = 4 << 20
            for i in covered.indices.sorted(by: { covered[$0].offset < covered[$1].offset }) {
                let section = covered[i]
                try out.appendZeros(section.offset - out.position)
                let hasher = try Blake2b256()
                var at = section.offset
                let end = section.offset + section.storedSize
                while at < end {
                    let piece = UnsafeRawBufferPointer(rebasing: reader.file.bytes[at..<min(at + chunk, end)])
                    hasher.update(piece)
                    try out.append(piece)
                    reader.file.dropPages(at..<(at + piece.count))
                    at += piece.count
                }
                hashes[i] = hasher.finalize()
            }
            let tail = try SignedTail(covered: covered, hashes: hashes, contentEnd: out.position, key: key, file: path)
            try out.padToAlignment()
            try out.append(tail.payload)
            try out.padToAlignment()
            try out.append(ArtifactWriter.encodeTable(tail.table))
            guard out.position == tail.fileLength else {
                throw IngotError(.internal, file: destination, "signed file of \(out.position) bytes, its header says \(tail.fileLength)")
            }
            try out.commit(header: ArtifactWriter.header(fileLength: tail.fileLength, tableOffset: tail.tableOffset,
                                                         sectionCount: tail.table.count, digest: out.digestSoFar))
        } catch {
            out.abort()
            throw error
        }
        return ArtifactSignatureInfo(version: SignaturePayload.version, publicKey: key.publicKey, coveredSections: covered.map(\.kind))
    }
}
