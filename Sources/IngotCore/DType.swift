// DType: element types of tensors in checkpoints, the IR and artifacts, including the GGML
// block-quantized weight formats (q4_0 … q6_K) that artifacts keep as stored: a block of 32 or
// 256 consecutive elements of a row is one unit of bytes (layouts in BlockQuant.swift and
// Formats/ingot-v1.md). Block types only hold weights; no op produces them.

public enum DType: UInt8, CaseIterable, Sendable, Hashable, CustomStringConvertible {
    case f32 = 0
    case f16 = 1
    case bf16 = 2
    case f64 = 3
    case i8 = 4
    case u8 = 5
    case i16 = 6
    case i32 = 7
    case i64 = 8
    case bool = 9
    case q4_0 = 10
    case q4_1 = 11
    case q5_0 = 12
    case q5_1 = 13
    case q8_0 = 14
    case q4_K = 15
    case q5_K = 16
    case q6_K = 17

    /// Bytes per element; for a block type, bytes per block (use `byteCount(shape:)` for tensors).
    public var byteSize: Int {
        switch self {
        case .f32: return 4
        case .f16: return 2
        case .bf16: return 2
        case .f64: return 8
        case .i8: return 1
        case .u8: return 1
        case .i16: return 2
        case .i32: return 4
        case .i64: return 8
        case .bool: return 1
        case .q4_0: return 18
        case .q4_1: return 20
        case .q5_0: return 22
        case .q5_1: return 24
        case .q8_0: return 34
        case .q4_K: return 144
        case .q5_K: return 176
        case .q6_K: return 210
        }
    }

    /// Elements per block: 1 for element types, 32 or 256 for block types.
    public var blockSize: Int {
        switch self {
        case .f32, .f16, .bf16, .f64, .i8, .u8, .i16, .i32, .i64, .bool: return 1
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0: return 32
        case .q4_K, .q5_K, .q6_K: return 256
        }
    }

    public var isBlockQuantized: Bool { blockSize > 1 }

    /// Bytes of a row-major tensor of `shape`; nil when a block type's last dimension is not a
    /// multiple of its block size (or it has rank 0) or the count overflows.
    public func byteCount(shape: [Int]) -> Int? {
        guard let elements = Shape.checkedProduct(shape) else { return nil }
        if isBlockQuantized {
            guard let last = shape.last, last % blockSize == 0 else { return nil }
            let (bytes, overflow) = (elements / blockSize).multipliedReportingOverflow(by: byteSize)
            return overflow ? nil : bytes
        }
        let (bytes, overflow) = elements.multipliedReportingOverflow(by: byteSize)
        return overflow ? nil : bytes
    }

    public var isFloatingPoint: Bool {
        switch self {
        case .f32, .f16, .bf16, .f64: return true
        case .i8, .u8, .i16, .i32, .i64, .bool, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q4_K, .q5_K, .q6_K: return false
        }
    }

    /// The spelling used in the textual IR and in reports: "f32", "i8", "q4_k", ...
    public var description: String {
        switch self {
        case .f32: return "f32"
        case .f16: return "f16"
        case .bf16: return "bf16"
        case .f64: return "f64"
        case .i8: return "i8"
        case .u8: return "u8"
        case .i16: return "i16"
        case .i32: return "i32"
        case .i64: return "i64"
        case .bool: return "bool"
        case .q4_0: return "q4_0"
        case .q4_1: return "q4_1"
        case .q5_0: return "q5_0"
        case .q5_1: return "q5_1"
        case .q8_0: return "q8_0"
        case .q4_K: return "q4_k"
        case .q5_K: return "q5_k"
        case .q6_K: return "q6_k"
        }
    }

    public init?(name: String) {
        guard let match = DType.allCases.first(where: { $0.description == name }) else { return nil }
        self = match
    }
}
