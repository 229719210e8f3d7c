// The constants and small types of the .ingot v1 format (Formats/ingot-v1.md), shared by
// the reader and the writer. Foundation-free.

import CZstd
import IngotCore

public enum ArtifactFormat {
    public static let magic: [UInt8] = [0x89, 0x49, 0x4E, 0x47, 0x4F, 0x54, 0x0D, 0x0A]
    public static let major: UInt16 = 1
    public static let minor: UInt16 = 2
    public static let headerSize = 64
    public static let sectionEntrySize = 56
    public static let alignment = 64
    public static let maxSections = 64
    public static let maxTensors = 1 << 20
    public static let maxNameBytes = 1024
    /// The smallest tensor index entry: name length 4, name 1, dtype, codec, rank, reserved,
    /// offset, stored_size, decoded_size, checksum.
    static let minIndexEntryBytes = 4 + 1 + 4 + 4 * 8
    public static let maxRank = 8
    /// Largest decoded payload of a section other than TDAT (TIDX, GRPH, TOKN, PROV, META).
    /// The real ones are far smaller: SmolLM2-135M's tokenizer (49,152 tokens and merges) is
    /// 1,375,922 bytes, its graph 45,064, its tensor index 20,513.
    public static let maxSectionBytes = 64 << 20
    /// A zstd frame decodes to at most this many bytes per stored byte: every block that
    /// produces output takes at least 4 bytes (3-byte header, 1 byte of content) and yields
    /// at most 128 KiB.
    public static let maxZstdExpansion = 1 << 15
    /// Largest tensor a reader will decompress (a compressed chunk's declared size is untrusted).
    public static let maxTensorBytes = 1 << 36
}

public struct ArtifactSectionKind: Hashable, Sendable, CustomStringConvertible {
    public let fourCC: [UInt8]

    public init(_ text: StaticString) {
        precondition(text.utf8CodeUnitCount == 4)
        fourCC = (0..<4).map { text.utf8Start[$0] }
    }

    init(bytes: [UInt8]) { fourCC = bytes }

    public static let tensorData = ArtifactSectionKind("TDAT")
    public static let tensorIndex = ArtifactSectionKind("TIDX")
    public static let graph = ArtifactSectionKind("GRPH")
    public static let tokenizer = ArtifactSectionKind("TOKN")
    public static let provenance = ArtifactSectionKind("PROV")
    public static let metadata = ArtifactSectionKind("META")

    static let requiredKnown: [ArtifactSectionKind] = [.tensorData, .tensorIndex, .graph]
    static let known: [ArtifactSectionKind] = [.tensorData, .tensorIndex, .graph, .tokenizer, .provenance, .metadata, .signature]

    public var description: String { String(decoding: fourCC, as: UTF8.self) }
}

public enum ArtifactCodec: UInt32, Sendable {
    case raw = 0
    case zstd = 1

    public var name: String {
        switch self {
        case .raw: return "raw"
        case .zstd: return "zstd"
        }
    }
}

public struct ArtifactSectionInfo: Sendable {
    public var kind: ArtifactSectionKind
    public var required: Bool
    public var codec: ArtifactCodec
    public var offset: Int
    public var storedSize: Int
    public var decodedSize: Int
    public var storedChecksum: UInt64
    public var decodedChecksum: UInt64

    public var codecName: String { codec.name }
}

public struct ArtifactTensorInfo: Sendable {
    public var name: String
    public var dtype: DType
    public var codec: ArtifactCodec
    public var shape: [Int]
    public var offset: Int
    public var storedSize: Int
    public var decodedSize: Int
    public var checksum: UInt64

    public var compressed: Bool { codec == .zstd }
}

enum Zstd {
    static func compress(_ src: UnsafeRawBufferPointer, level: Int32) throws -> [UInt8] {
        let bound = ZSTD_compressBound(src.count)
        var out = [UInt8](repeating: 0, count: bound)
        let n = out.withUnsafeMutableBytes { dst in
            ZSTD_compress(dst.baseAddress, bound, src.baseAddress, src.count, level)
        }
        if ZSTD_isError(n) != 0 {
            throw IngotError(.internal, location: "zstd", "compression failed: \(String(cString: ZSTD_getErrorName(n)))")
        }
        out.removeSubrange(n...)
        return out
    }

    /// The frame's declared content size as text for errors.
    static func describeContentSize(_ declared: UInt64) -> String {
        declared == ZSTD_CONTENTSIZE_ERROR ? "not a zstd frame" : declared == ZSTD_CONTENTSIZE_UNKNOWN ? "unknown" : String(declared)
    }

    /// Decompresses one frame whose content size must be `expected` into `dst` (its size).
    static func decompress(_ src: UnsafeRawBufferPointer, into dst: UnsafeMutableRawBufferPointer, file: String?, location: String) throws {
        let declared = ZSTD_getFrameContentSize(src.baseAddress, src.count)
        guard declared == UInt64(dst.count) else {
            throw IngotError(.format, file: file, location: location, "zstd frame content size \(describeContentSize(declared)), expected \(dst.count)")
        }
        let n = ZSTD_decompress(dst.baseAddress, dst.count, src.baseAddress, src.count)
        if ZSTD_isError(n) != 0 {
            throw IngotError(.checksum, file: file, location: location, "zstd: \(String(cString: ZSTD_getErrorName(n)))")
        }
        guard n == dst.count else {
            throw IngotError(.format, file: file, location: location, "decompressed \(n) bytes, expected \(dst.count)")
        }
    }

    /// Decompresses `src`, exactly one frame declaring `expected` bytes, into a buffer that
    /// grows with the bytes the frame actually produces (never past `expected`), so a frame
    /// that declares more than it holds costs only what it holds. `reservedBytes` receives
    /// the largest capacity the output buffer had.
    static func decompressGrowing(_ src: UnsafeRawBufferPointer, expected: Int, file: String?, location: String,
                                  reservedBytes: inout Int) throws -> [UInt8] {
        let declared = ZSTD_getFrameContentSize(src.baseAddress, src.count)
        guard declared == UInt64(expected) else {
            throw IngotError(.format, file: file, location: location,
                             "zstd frame declares content size \(describeContentSize(declared)), the section table \(expected)")
        }
        guard let stream = ZSTD_createDCtx() else {
            throw IngotError(.io, file: file, location: location, "cannot allocate a zstd decoder")
        }
        defer { ZSTD_freeDCtx(stream) }
        let chunkSize = ZSTD_DStreamOutSize()
        let chunk = UnsafeMutableRawPointer.allocate(byteCount: chunkSize, alignment: 16)
        defer { chunk.deallocate() }
        var out: [UInt8] = []
        out.reserveCapacity(min(expected, 1 << 16))
        reservedBytes = out.capacity
        var input = ZSTD_inBuffer(src: src.baseAddress, size: src.count, pos: 0)
        var frameDone = false
        while !frameDone {
            var output = ZSTD_outBuffer(dst: chunk, size: chunkSize, pos: 0)
            let inputBefore = input.pos
            let r = ZSTD_decompressStream(stream, &output, &input)
            if ZSTD_isError(r) != 0 {
                throw IngotError(.checksum, file: file, location: location,
                                 "zstd: \(String(cString: ZSTD_getErrorName(r))) after \(out.count) of \(expected) bytes")
            }
            frameDone = r == 0
            guard output.pos <= expected - out.count else {
                throw IngotError(.format, file: file, location: location, "zstd frame holds more than the \(expected) bytes it declares")
            }
            if output.pos > 0 {
                if out.count + output.pos > out.capacity {
                    out.reserveCapacity(min(expected, max(2 * out.capacity, out.count + output.pos)))
                    reservedBytes = max(reservedBytes, out.capacity)
                }
                out.append(contentsOf: UnsafeRawBufferPointer(start: chunk, count: output.pos))
            } else if !frameDone && input.pos == inputBefore {
                throw IngotError(.format, file: file, location: location,
                                 "zstd frame ends after \(out.count) of its \(expected) bytes (truncated)")
            }
        }
        guard input.pos == src.count else {
            throw IngotError(.format, file: file, location: location, "\(src.count - input.pos) bytes after the zstd frame")
        }
        guard out.count == expected else {
            throw IngotError(.format, file: file, location: location, "decompressed \(out.count) bytes, expected \(expected)")
        }
        return out
    }
}

func hex64(_ v: UInt64) -> String {
    let s = String(v, radix: 16)
    return "0x" + String(repeating: "0", count: 16 - s.count) + s
}

func alignUp(_ n: Int, _ a: Int) -> Int { (n + a - 1) / a * a }
