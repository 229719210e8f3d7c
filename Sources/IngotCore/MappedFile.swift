// MappedFile: a read-only memory map of a whole file (POSIX mmap), the zero-copy source
// for checkpoint and artifact readers. It does not validate contents.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

public final class MappedFile: @unchecked Sendable {
    public let path: String
    public let count: Int
    private let base: UnsafeMutableRawPointer?

    /// The mapped bytes; empty for an empty file.
    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw IngotError(.io, file: path, "cannot open: \(systemErrorMessage(errno))")
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            throw IngotError(.io, file: path, "cannot stat: \(systemErrorMessage(errno))")
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            throw IngotError(.io, file: path, "not a regular file")
        }
        count = Int(st.st_size)
        if count == 0 {
            base = nil
            return
        }
        let p = mmap(nil, count, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let p, p != MAP_FAILED else {
            throw IngotError(.io, file: path, "cannot map \(count) bytes: \(systemErrorMessage(errno))")
        }
        base = p
    }

    deinit {
        if let base { munmap(base, count) }
    }

    /// Tells the kernel these bytes will be read soon (readahead); a hint only.
    public func willNeed(offset: Int, count n: Int) {
        guard let base, n > 0 else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = offset / page * page
        _ = madvise(base + start, min(n + (offset - start), count - start), MADV_WILLNEED)
    }
}

extension MappedFile {
    /// Lets the kernel drop the pages of `range` from this process (they are re-read from the
    /// file if touched again); keeps resident memory low while streaming through a large file.
    public func dropPages(_ range: Range<Int>) {
        guard let base = UnsafeMutableRawPointer(mutating: bytes.baseAddress), !range.isEmpty else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = (range.lowerBound + page - 1) / page * page
        let end = range.upperBound / page * page
        if end > start { _ = madvise(base + start, end - start, MADV_DONTNEED) }
    }
}

/// Reads a file sequentially in fixed-size chunks (no mapping), for hashing large files
/// without holding them in memory.
public func forEachChunk(ofFile path: String, chunkSize: Int = 4 << 20, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw IngotError(.io, file: path, "cannot open: \(systemErrorMessage(errno))") }
    defer { close(fd) }
    let buffer = UnsafeMutableRawPointer.allocate(byteCount: chunkSize, alignment: 64)
    defer { buffer.deallocate() }
    while true {
        let n = read(fd, buffer, chunkSize)
        if n < 0 {
            if errno == EINTR { continue }
            throw IngotError(.io, file: path, "read failed: \(systemErrorMessage(errno))")
        }
        if n == 0 { return }
        try body(UnsafeRawBufferPointer(start: buffer, count: n))
    }
}

public func systemErrorMessage(_ code: Int32) -> String {
    if let s = strerror(code) { return String(cString: s) }
    return "errno \(code)"
}
