// ArtifactWriter: streams a .ingot v1 file (Formats/ingot-v1.md) to a temporary file —
// tensors one at a time as they arrive, then sections, the signature when a signing key is
// given, the section table and finally the header — and renames it over the destination only
// on commit (ArtifactOutputFile). Deterministic for the same input, options and key. It does
// not build graphs or choose what to store.

import CZstd
import IngotCore

public struct ArtifactWriteOptions: Sendable {
    public enum TensorCompression: Sendable { case auto, always, never }
    public var compressTensors: TensorCompression = .auto
    /// auto: compress when the compressed size is at most this fraction of the raw size.
    public var compressionThreshold: Double = 0.9
    public var minimumCompressedTensorBytes = 4096
    public var zstdLevel: Int32 = 3
    /// Sign the artifact with this key (a SIGN section, Formats/ingot-v1.md "Signature").
    public var signingKey: SigningKey?
    public init() {}
}

public struct ArtifactSummary: Sendable {
    public var path: String
    public var fileSize: Int
    public var tensorCount: Int
    public var compressedTensorCount: Int
    public var digest: UInt64
    /// The signer's key id when the artifact was signed.
    public var signerKeyID: String?
}

public final class ArtifactWriter {
    public let path: String
    public var temporaryPath: String { output.temporaryPath }
    let options: ArtifactWriteOptions
    private let output: ArtifactOutputFile
    /// BLAKE2b-256 of the TDAT bytes as they are written (signed artifacts only).
    private let tensorDataHash: Blake2b256?
    private var tensorIndex: [ArtifactTensorInfo] = []
    private var tensorNames = Set<String>()
    private var sections: [(ArtifactSectionInfo, [UInt8])] = []
    private var finished = false

    /// Creates the temporary file (registered with InterruptCleanup until commit or abort).
    public init(path: String, options: ArtifactWriteOptions = .init()) throws {
        self.path = path
        self.options = options
        tensorDataHash = options.signingKey == nil ? nil : try Blake2b256()
        output = try ArtifactOutputFile(path: path)
    }

    deinit {
        if !finished { abort() }
    }

    // MARK: Tensor data output (TDAT)

    private func writeTensorData(_ bytes: UnsafeRawBufferPointer) throws {
        try output.append(bytes)
        tensorDataHash?.update(bytes)
    }

    private func padTensorData() throws {
        let padding = alignUp(output.position, ArtifactFormat.alignment) - output.position
        try [UInt8](repeating: 0, count: padding).withUnsafeBytes { try writeTensorData($0) }
    }

    // MARK: Content

    /// Writes one tensor now (raw or zstd per the options); `bytes` may be released afterwards.
    public func addTensor(name: String, dtype: DType, shape: [Int], bytes: UnsafeRawBufferPointer) throws {
        precondition(!finished, "addTensor after commit or abort")
        guard !name.isEmpty, name.utf8.count <= ArtifactFormat.maxNameBytes else {
            throw IngotError(.invalidArgument, file: path, location: "tensor '\(name)'", "name length \(name.utf8.count), expected 1...\(ArtifactFormat.maxNameBytes) bytes")
        }
        guard tensorNames.insert(name).inserted else {
            throw IngotError(.invalidArgument, file: path, location: "tensor '\(name)'", "added twice")
        }
        guard shape.count <= ArtifactFormat.maxRank, shape.allSatisfy({ $0 >= 0 && $0 <= Int(Int32.max) }),
              dtype.byteCount(shape: shape) == bytes.count else {
            throw IngotError(.invalidArgument, file: path, location: "tensor '\(name)'",
                             "\(bytes.count) bytes for shape \(Shape(fixed: shape)) of \(dtype)")
        }
        guard tensorIndex.count < ArtifactFormat.maxTensors else {
            throw IngotError(.invalidArgument, file: path, "more than \(ArtifactFormat.maxTensors) tensors")
        }
        try padTensorData()
        var codec = ArtifactCodec.raw
        var compressed: [UInt8] = []
        let eligible = bytes.count >= options.minimumCompressedTensorBytes
        switch options.compressTensors {
        case .never: break
        case .always, .auto:
            if eligible || options.compressTensors == .always, bytes.count > 0 {
                compressed = try Zstd.compress(bytes, level: options.zstdLevel)
                let pays = Double(compressed.count) <= Double(bytes.count) * options.compressionThreshold
                if options.compressTensors == .always || pays { codec = .zstd }
            }
        }
        let offset = output.position
        switch codec {
        case .raw: try writeTensorData(bytes)
        case .zstd: try compressed.withUnsafeBytes { try writeTensorData($0) }
        }
        tensorIndex.append(ArtifactTensorInfo(
            name: name, dtype: dtype, codec: codec, shape: shape, offset: offset,
            storedSize: codec == .raw ? bytes.count : compressed.count, decodedSize: bytes.count,
            checksum: XXH64.hash(bytes)))
    }

    /// Queues a section; written on commit in the format's fixed order.
    public func addSection(_ kind: ArtifactSectionKind, payload: [UInt8], required: Bool, compress: Bool = true) throws {
        precondition(!finished, "addSection after commit or abort")
        guard kind != .tensorData, kind != .tensorIndex, kind != .signature else {
            throw IngotError(.invalidArgument, file: path, location: "section \(kind)", "is written by the writer itself")
        }
        guard !sections.contains(where: { $0.0.kind == kind }) else {
            throw IngotError(.invalidArgument, file: path, location: "section \(kind)", "added twice")
        }
        guard payload.count <= ArtifactFormat.maxSectionBytes else {
            throw IngotError(.invalidArgument, file: path, location: "section \(kind)", "\(payload.count) bytes, at most \(ArtifactFormat.maxSectionBytes)")
        }
        sections.append((ArtifactSectionInfo(kind: kind, required: required, codec: compress ? .zstd : .raw, offset: 0,
                                              storedSize: 0, decodedSize: payload.count, storedChecksum: 0,
                                              decodedChecksum: XXH64.hash(payload)), payload))
    }

    /// Writes a section payload, zstd-compressed when `info.codec` asks for it and it shrinks;
    /// returns its table entry and, when signing, the BLAKE2b-256 of its stored bytes.
    private func writeSection(_ info: ArtifactSectionInfo, _ payload: [UInt8]) throws -> (ArtifactSectionInfo, [UInt8]) {
        var info = info
        var stored = payload
        let wantsCompression = info.codec == .zstd
        info.codec = .raw
        if wantsCompression, !payload.isEmpty {
            let z = try payload.withUnsafeBytes { try Zstd.compress($0, level: options.zstdLevel) }
            if z.count < payload.count {
                stored = z
                info.codec = .zstd
            }
        }
        try output.padToAlignment()
        info.offset = output.position
        info.storedSize = stored.count
        info.storedChecksum = XXH64.hash(stored)
        try output.append(stored)
        return (info, options.signingKey == nil ? [] : try Blake2b256.hash(stored))
    }

    static func encodeIndex(_ tensors: [ArtifactTensorInfo]) -> [UInt8] {
        var w = ByteWriter()
        w.u32(UInt32(tensors.count))
        for t in tensors {
            w.string(t.name)
            w.u8(t.dtype.rawValue)
            w.u8(UInt8(t.codec.rawValue))
            w.u8(UInt8(t.shape.count))
            w.u8(0)
            for d in t.shape { w.u64(UInt64(d)) }
            w.u64(UInt64(t.offset))
            w.u64(UInt64(t.storedSize))
            w.u64(UInt64(t.decodedSize))
            w.u64(t.checksum)
        }
        return w.bytes
    }

    /// Finishes the file (signed when the options carry a key) and atomically moves it to `path`.
    @discardableResult
    public func commit() throws -> ArtifactSummary {
        precondition(!finished, "commit after commit or abort")
        do {
            try padTensorData()
            let tdatEnd = output.position
            // TDAT spans bytes [64, tdatEnd): exactly what the running digest has hashed so far.
            let tdatChecksum = output.digestSoFar
            let tdat = ArtifactSectionInfo(kind: .tensorData, required: true, codec: .raw, offset: ArtifactFormat.headerSize,
                                           storedSize: tdatEnd - ArtifactFormat.headerSize, decodedSize: tdatEnd - ArtifactFormat.headerSize,
                                           storedChecksum: tdatChecksum, decodedChecksum: tdatChecksum)
            var table: [ArtifactSectionInfo] = [tdat]
            var hashes: [[UInt8]] = [tensorDataHash?.finalize() ?? []]
            let index = ArtifactWriter.encodeIndex(tensorIndex)
            let (indexEntry, indexHash) = try writeSection(
                ArtifactSectionInfo(kind: .tensorIndex, required: true, codec: .zstd, offset: 0, storedSize: 0,
                                    decodedSize: index.count, storedChecksum: 0, decodedChecksum: XXH64.hash(index)), index)
            table.append(indexEntry)
            hashes.append(indexHash)
            let order: [ArtifactSectionKind] = [.graph, .tokenizer, .provenance, .metadata]
            let sorted = sections.sorted { a, b in
                let ia = order.firstIndex(of: a.0.kind) ?? order.count, ib = order.firstIndex(of: b.0.kind) ?? order.count
                return ia != ib ? ia < ib : a.0.kind.description < b.0.kind.description
            }
            for (info, payload) in sorted {
                let (entry, hash) = try writeSection(info, payload)
                table.append(entry)
                hashes.append(hash)
            }
            if let key = options.signingKey {
                let tail = try SignedTail(covered: table, hashes: hashes, contentEnd: output.position, key: key, file: path)
                try output.padToAlignment()
                try output.append(tail.payload)
                table = tail.table
            }
            try output.padToAlignment()
            let tableOffset = output.position
            try output.append(ArtifactWriter.encodeTable(table))
            let fileLength = output.position
            let digest = output.digestSoFar
            try output.commit(header: ArtifactWriter.header(fileLength: fileLength, tableOffset: tableOffset,
                                                            sectionCount: table.count, digest: digest))
            finished = true
            return ArtifactSummary(path: path, fileSize: fileLength, tensorCount: tensorIndex.count,
                                   compressedTensorCount: tensorIndex.filter(\.compressed).count, digest: digest,
                                   signerKeyID: options.signingKey?.publicKey.keyID)
        } catch {
            abort()
            throw error
        }
    }

    /// The section table: 56 bytes per entry (Formats/ingot-v1.md, "Section table").
    static func encodeTable(_ table: [ArtifactSectionInfo]) -> [UInt8] {
        var w = ByteWriter(capacity: table.count * ArtifactFormat.sectionEntrySize)
        for s in table {
            w.append(s.kind.fourCC)
            w.u32(s.required ? 1 : 0)
            w.u32(s.codec.rawValue)
            w.u32(0)
            w.u64(UInt64(s.offset))
            w.u64(UInt64(s.storedSize))
            w.u64(UInt64(s.decodedSize))
            w.u64(s.storedChecksum)
            w.u64(s.decodedChecksum)
        }
        return w.bytes
    }

    static func header(fileLength: Int, tableOffset: Int, sectionCount: Int, digest: UInt64) -> [UInt8] {
        var h = ByteWriter(capacity: 64)
        h.append(ArtifactFormat.magic)
        h.u16(ArtifactFormat.major)
        h.u16(ArtifactFormat.minor)
        h.u32(0)
        h.u64(UInt64(fileLength))
        h.u64(UInt64(tableOffset))
        h.u32(UInt32(sectionCount))
        h.u32(0)
        h.u64(digest)
        h.u64(0)
        h.u64(XXH64.hash(h.bytes))
        return h.bytes
    }

    /// Discards everything written; the destination is untouched.
    public func abort() {
        guard !finished else { return }
        finished = true
        output.abort()
    }
}

extension ArtifactWriter {
    /// Removes every registered temporary file on SIGINT, SIGTERM or exit (InterruptCleanup).
    public static func removeTemporaryFilesOnInterrupt() { InterruptCleanup.install() }
}
