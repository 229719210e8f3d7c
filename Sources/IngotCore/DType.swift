// DType: element types of tensors in checkpoints, the IR and artifacts.
// Quantized block formats of GGUF are not DTypes; readers dequantize them (see IngotCheckpoint).

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

    /// Bytes per element.
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
        }
    }

    public var isFloatingPoint: Bool {
        switch self {
        case .f32, .f16, .bf16, .f64: return true
        case .i8, .u8, .i16, .i32, .i64, .bool: return false
        }
    }

    /// The spelling used in the textual IR and in reports: "f32", "i8", ...
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
        }
    }

    public init?(name: String) {
        guard let match = DType.allCases.first(where: { $0.description == name }) else { return nil }
        self = match
    }
}
