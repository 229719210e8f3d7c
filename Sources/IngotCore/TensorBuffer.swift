// TensorBuffer: the bytes of one tensor, either owned (64-byte aligned heap memory) or
// borrowed from a mapping that it keeps alive. Immutable once shared; no shape knowledge.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

public final class TensorBuffer: @unchecked Sendable {
    public static let alignment = 64

    public let raw: UnsafeRawBufferPointer
    private let ownedPointer: UnsafeMutableRawPointer?
    private let owner: AnyObject?

    /// Zero-filled owned memory of `byteCount` bytes, 64-byte aligned.
    public init(zeroedByteCount byteCount: Int) {
        let n = max(byteCount, 1)
        var p: UnsafeMutableRawPointer?
        let rc = posix_memalign(&p, TensorBuffer.alignment, n)
        precondition(rc == 0 && p != nil, "out of memory allocating \(n) bytes")
        memset(p!, 0, n)
        ownedPointer = p
        raw = UnsafeRawBufferPointer(start: p, count: byteCount)
        owner = nil
    }

    /// Uninitialized owned memory for `byteCount` bytes that the caller fills completely;
    /// throws instead of trapping when the memory cannot be had (sizes from files are hostile).
    public init(uninitializedByteCount byteCount: Int) throws {
        var p: UnsafeMutableRawPointer?
        guard byteCount >= 0, posix_memalign(&p, TensorBuffer.alignment, max(byteCount, 1)) == 0, let p else {
            throw IngotError(.io, "cannot allocate \(byteCount) bytes")
        }
        ownedPointer = p
        raw = UnsafeRawBufferPointer(start: p, count: byteCount)
        owner = nil
    }

    /// Borrowed bytes that stay valid while `owner` lives (e.g. a MappedFile).
    public init(borrowing bytes: UnsafeRawBufferPointer, owner: AnyObject) {
        ownedPointer = nil
        raw = bytes
        self.owner = owner
    }

    /// An owned copy of `bytes`.
    public convenience init(copying bytes: UnsafeRawBufferPointer) {
        self.init(zeroedByteCount: bytes.count)
        if let src = bytes.baseAddress, bytes.count > 0 {
            ownedPointer!.copyMemory(from: src, byteCount: bytes.count)
        }
    }

    /// An owned buffer holding `values`.
    public convenience init<T>(array values: [T]) {
        let n = values.count * MemoryLayout<T>.stride
        self.init(zeroedByteCount: n)
        values.withUnsafeBytes { src in
            if n > 0 { ownedPointer!.copyMemory(from: src.baseAddress!, byteCount: n) }
        }
    }

    deinit {
        if let ownedPointer { free(ownedPointer) }
    }

    public var byteCount: Int { raw.count }

    /// Writable access; only for buffers this process allocated and has not shared yet.
    public var mutableRaw: UnsafeMutableRawBufferPointer {
        precondition(ownedPointer != nil, "a borrowed TensorBuffer is read-only")
        return UnsafeMutableRawBufferPointer(start: ownedPointer, count: raw.count)
    }

    public func withFloats<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try body(raw.bindMemory(to: Float.self))
    }

    /// A copy of the bytes (the buffer stays alive for the copy).
    public var byteArray: [UInt8] { withExtendedLifetime(self) { Array(raw) } }

    /// Runs `body` on the bytes while keeping the buffer alive.
    public func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withExtendedLifetime(self) { try body(raw) }
    }

    public func toArray<T>(of type: T.Type) -> [T] {
        Array(raw.bindMemory(to: T.self))
    }
}
