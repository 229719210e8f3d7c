// ArtifactOutputFile: the crash-safe destination both the writer and the signer write through
// (Formats/ingot-v1.md, "Crash safety"). Bytes go to `.<name>.tmp-<pid>` beside the
// destination, after 64 bytes reserved for the header; commit writes the header, fsyncs,
// renames over the destination and fsyncs the folder. Until then the destination is
// untouched, and abort (or an interrupt, through InterruptCleanup) removes the temporary
// file. It keeps the running XXH64 of everything after the header (the header's digest). It
// does not decide what is written.

import IngotCore

#if canImport(Glibc)
import Glibc
#endif

final class ArtifactOutputFile {
    let path: String
    let temporaryPath: String
    /// Bytes written so far, the reserved header included.
    private(set) var position = 0
    private var fd: Int32
    private var digest = XXH64()
    private var finished = false

    init(path: String) throws {
        self.path = path
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
        let header = [UInt8](repeating: 0, count: ArtifactFormat.headerSize)
        try header.withUnsafeBytes { try writeAll($0) }
        position = header.count
    }

    deinit {
        if !finished { abort() }
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < bytes.count {
            let n = write(fd, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                throw IngotError(.output, file: path, "write failed after \(position + done) bytes: \(systemErrorMessage(errno))")
            }
            done += n
        }
    }

    /// Appends bytes (they count towards the digest).
    func append(_ bytes: UnsafeRawBufferPointer) throws {
        try writeAll(bytes)
        digest.update(bytes)
        position += bytes.count
    }

    func append(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try append($0) }
    }

    func appendZeros(_ count: Int) throws {
        var left = count
        let zeros = [UInt8](repeating: 0, count: min(count, 1 << 16))
        while left > 0 {
            let n = min(left, zeros.count)
            try zeros.withUnsafeBytes { try append(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            left -= n
        }
    }

    func padToAlignment() throws {
        try appendZeros(alignUp(position, ArtifactFormat.alignment) - position)
    }

    /// XXH64 of every byte appended so far (all bytes after the header).
    var digestSoFar: UInt64 { digest.finalize() }

    /// Writes `header` at offset 0 and moves the file into place.
    func commit(header: [UInt8]) throws {
        precondition(!finished, "commit after commit or abort")
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
    func abort() {
        guard !finished else { return }
        finished = true
        if fd >= 0 { close(fd); fd = -1 }
        unlink(temporaryPath)
        InterruptCleanup.unregister(temporaryPath)
    }
}
