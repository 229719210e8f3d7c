// ArtifactWriter: streams a .ingot v1 file (Formats/ingot-v1.md) to a temporary file —
// tensors one at a time as they arrive, then sections, the section table and finally the
// header — and renames it over the destination only on commit. Deterministic for the same
// input and options. It does not build graphs or choose what to store.

import CZstd
import IngotCore

#if canImport(Glibc)
import Glibc
#endif

public struct ArtifactWriteOptions: Sendable {
    public enum TensorCompression: Sendable { case auto, always, never }
    public var compressTensors: TensorCompression = .auto
    /// auto: compress when the compressed size is at most this fraction of the raw size.
    public var compressionThreshold: Double = 0.9
    public var minimumCompressedTensorBytes = 4096
    public var zstdLevel: Int32 = 3
    public init() {}
}

public struct ArtifactSummary: Sendable {
    public var path: String
    public var fileSize: Int
    public var tensorCount: Int
    public var compressedTensorCount: Int
    public var digest: UInt64
}

public final class ArtifactWriter {
    public let path: String
    public let temporaryPath: String
    let options: ArtifactWriteOptions
    private var fd: Int32
    private var position = 0
    private var digest = XXH64()
    private var tensorIndex: [ArtifactTensorInfo] = []
    private var tensorNames = Set<String>()
    private var sections: [(ArtifactSectionInfo, [UInt8])] = []
    private var finished = false

    /// Creates the temporary file (registered with InterruptCleanup until commit or abort).
    public init(path: String, options: ArtifactWriteOptions = .init()) throws {
        self.path = path
        self.options = options
        let slash = path.lastIndex(of: "/")
        let dir = slash.map { String(path[..<$0]) } ?? "."
        let base = slash.map { String(path[path.index(after: $0)...]) } ?? path
        guard !base.isEmpty else { throw IngotError(.invalidArgument, file: path, "the output path names no file") }
        temporaryPath = (dir.isEmpty ? "" : dir + "/") + "." + base + ".tmp-\(getpid())"
        // Registered before it exists, so no interrupt can fall between creating and registering.
        InterruptCleanup.register(temporaryPath)
        fd = open(temporaryPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            let reason = systemErrorMessage(errno)
            InterruptCleanup.unregister(temporaryPath)
            throw IngotError(.output, file: path, "cannot create \(temporaryPath): \(reason)")
        }
        // Room for the header, which is written last.
        try writeRaw([UInt8](repeating: 0, count: ArtifactFormat.headerSize), hashed: false)
    }

    deinit {
        if !finished { abort() }
    }

    // MARK: Low-level output

    private func writeRaw(_ bytes: UnsafeRawBufferPointer, hashed: Bool) throws {
        var done = 0
        while done < bytes.count {
            let n = write(fd, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                throw IngotError(.output, file: path, "write failed after \(position + done) bytes: \(systemErrorMessage(errno))")
            }
            done += n
        }
        if hashed { digest.update(bytes) }
        position += bytes.count
    }

    private func writeRaw(_ bytes: [UInt8], hashed: Bool = true) throws {
        try bytes.withUnsafeBytes { try writeRaw($0, hashed: hashed) }
    }

    private func padToAlignment() throws {
        let target = alignUp(position, ArtifactFormat.alignment)
        if target > position { try writeRaw([UInt8](repeating: 0, count: target - position)) }
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
              let count = Shape.checkedProduct(shape), count * dtype.byteSize == bytes.count else {
            throw IngotError(.invalidArgument, file: path, location: "tensor '\(name)'",
                             "\(bytes.count) bytes for shape \(Shape(fixed: shape)) of \(dtype)")
        }
        guard tensorIndex.count < ArtifactFormat.maxTensors else {
            throw IngotError(.invalidArgument, file: path, "more than \(ArtifactFormat.maxTensors) tensors")
        }
        try padToAlignment()
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
        let offset = position
        switch codec {
        case .raw: try writeRaw(bytes, hashed: true)
        case .zstd: try writeRaw(compressed)
        }
        tensorIndex.append(ArtifactTensorInfo(
            name: name, dtype: dtype, codec: codec, shape: shape, offset: offset,
            storedSize: codec == .raw ? bytes.count : compressed.count, decodedSize: bytes.count,
            checksum: XXH64.hash(bytes)))
    }

    /// Queues a section; written on commit in the format's fixed order.
    public func addSection(_ kind: ArtifactSectionKind, payload: [UInt8], required: Bool, compress: Bool = true) throws {
        precondition(!finished, "addSection after commit or abort")
        guard kind != .tensorData, kind != .tensorIndex else {
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

    /// Writes a section payload, zstd-compressed when `info.codec` asks for it and it shrinks.
    private func writeSection(_ info: ArtifactSectionInfo, _ payload: [UInt8]) throws -> ArtifactSectionInfo {
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
        try padToAlignment()
        info.offset = position
        info.storedSize = stored.count
        info.storedChecksum = XXH64.hash(stored)
        try writeRaw(stored)
        return info
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

    /// Finishes the file and atomically moves it to `path`.
    @discardableResult
    public func commit() throws -> ArtifactSummary {
        precondition(!finished, "commit after commit or abort")
        do {
            try padToAlignment()
            let tdatEnd = position
            // TDAT spans bytes [64, tdatEnd): exactly what the running digest has hashed so far.
            let tdatChecksum = digest.finalize()
            let tdat = ArtifactSectionInfo(kind: .tensorData, required: true, codec: .raw, offset: ArtifactFormat.headerSize,
                                           storedSize: tdatEnd - ArtifactFormat.headerSize, decodedSize: tdatEnd - ArtifactFormat.headerSize,
                                           storedChecksum: tdatChecksum, decodedChecksum: tdatChecksum)
            var table: [ArtifactSectionInfo] = [tdat]
            let index = ArtifactWriter.encodeIndex(tensorIndex)
            table.append(try writeSection(ArtifactSectionInfo(kind: .tensorIndex, required: true, codec: .zstd, offset: 0, storedSize: 0,
                                                              decodedSize: index.count, storedChecksum: 0, decodedChecksum: XXH64.hash(index)), index))
            let order: [ArtifactSectionKind] = [.graph, .tokenizer, .provenance, .metadata]
            let sorted = sections.sorted { a, b in
                let ia = order.firstIndex(of: a.0.kind) ?? order.count, ib = order.firstIndex(of: b.0.kind) ?? order.count
                return ia != ib ? ia < ib : a.0.kind.description < b.0.kind.description
            }
            for (info, payload) in sorted {
                table.append(try writeSection(info, payload))
            }
            try padToAlignment()
            let tableOffset = position
            var w = ByteWriter()
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
            try writeRaw(w.bytes)
            let fileLength = position
            let header = ArtifactWriter.header(fileLength: fileLength, tableOffset: tableOffset, sectionCount: table.count, digest: digest.finalize())
            let n = header.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
            guard n == header.count else { throw IngotError(.output, file: path, "writing the header failed: \(systemErrorMessage(errno))") }
            guard fsync(fd) == 0 else { throw IngotError(.output, file: path, "fsync failed: \(systemErrorMessage(errno))") }
            close(fd)
            fd = -1
            guard rename(temporaryPath, path) == 0 else {
                throw IngotError(.output, file: path, "cannot move \(temporaryPath) into place: \(systemErrorMessage(errno))")
            }
            finished = true
            InterruptCleanup.unregister(temporaryPath)
            syncDirectory()
            return ArtifactSummary(path: path, fileSize: fileLength, tensorCount: tensorIndex.count,
                                   compressedTensorCount: tensorIndex.filter(\.compressed).count, digest: digest.finalize())
        } catch {
            abort()
            throw error
        }
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

    private func syncDirectory() {
        let dir = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
        let dfd = open(dir.isEmpty ? "/" : dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 {
            _ = fsync(dfd)
            close(dfd)
        }
    }

    /// Discards everything written; the destination is untouched.
    public func abort() {
        guard !finished else { return }
        finished = true
        if fd >= 0 { close(fd); fd = -1 }
        unlink(temporaryPath)
        InterruptCleanup.unregister(temporaryPath)
    }
}

extension ArtifactWriter {
    /// Removes every registered temporary file on SIGINT, SIGTERM or exit (InterruptCleanup).
    public static func removeTemporaryFilesOnInterrupt() { InterruptCleanup.install() }
}
