// The constants and small types of the .ingot v1 format (Formats/ingot-v1.md), shared by
// the reader and the writer. Foundation-free.

import CZstd
import IngotCore

public enum ArtifactFormat {
    public static let magic: [UInt8] = [0x89, 0x49, 0x4E, 0x47, 0x4F, 0x54, 0x0D, 0x0A]
    public static let major: UInt16 = 1
    public static let minor: UInt16 = 1
    public static let headerSize = 64
    public static let sectionEntrySize = 56
    public static let alignment = 64
    public static let maxSections = 64
    public static let maxTensors = 1 << 20
    public static let maxNameBytes = 1024
    public static let maxRank = 8
    public static let maxSectionBytes = 1 << 30
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

    /// Decompresses one frame whose content size must be `expected`.
    static func decompress(_ src: UnsafeRawBufferPointer, into dst: UnsafeMutableRawBufferPointer, file: String?, location: String) throws {
        let declared = ZSTD_getFrameContentSize(src.baseAddress, src.count)
        guard declared == UInt64(dst.count) else {
            let seen = declared == ZSTD_CONTENTSIZE_ERROR ? "not a zstd frame" : declared == ZSTD_CONTENTSIZE_UNKNOWN ? "unknown" : String(declared)
            throw IngotError(.format, file: file, location: location, "zstd frame content size \(seen), expected \(dst.count)")
        }
        let n = ZSTD_decompress(dst.baseAddress, dst.count, src.baseAddress, src.count)
        if ZSTD_isError(n) != 0 {
            throw IngotError(.checksum, file: file, location: location, "zstd: \(String(cString: ZSTD_getErrorName(n)))")
        }
        guard n == dst.count else {
            throw IngotError(.format, file: file, location: location, "decompressed \(n) bytes, expected \(dst.count)")
        }
    }
}

func hex64(_ v: UInt64) -> String {
    let s = String(v, radix: 16)
    return "0x" + String(repeating: "0", count: 16 - s.count) + s
}

func alignUp(_ n: Int, _ a: Int) -> Int { (n + a - 1) / a * a }
