// GGML tensor types as stored in GGUF files: the type ids, ONE traits table (block size,
// bytes per block, whether Ingot can dequantize it), and the quant block layouts as
// explicit structs whose sizes are checked against the table. Dequantization lives in
// GGMLDequantize.swift.

import IngotCore

public enum GGMLType: UInt32, CaseIterable, Sendable {
    case f32 = 0, f16 = 1, q4_0 = 2, q4_1 = 3, q5_0 = 6, q5_1 = 7, q8_0 = 8, q8_1 = 9
    case q2_K = 10, q3_K = 11, q4_K = 12, q5_K = 13, q6_K = 14, q8_K = 15
    case iq2_xxs = 16, iq2_xs = 17, iq3_xxs = 18, iq1_s = 19, iq4_nl = 20, iq3_s = 21, iq2_s = 22, iq4_xs = 23
    case i8 = 24, i16 = 25, i32 = 26, i64 = 27, f64 = 28, iq1_m = 29, bf16 = 30
    case tq1_0 = 34, tq2_0 = 35

    public struct Traits: Sendable {
        public var name: String
        /// Elements per block.
        public var blockSize: Int
        /// Bytes per block.
        public var typeSize: Int
        public var dequantizable: Bool
    }

    /// The traits table.
    public var traits: Traits {
        switch self {
        case .f32: return Traits(name: "F32", blockSize: 1, typeSize: 4, dequantizable: true)
        case .f16: return Traits(name: "F16", blockSize: 1, typeSize: 2, dequantizable: true)
        case .bf16: return Traits(name: "BF16", blockSize: 1, typeSize: 2, dequantizable: true)
        case .f64: return Traits(name: "F64", blockSize: 1, typeSize: 8, dequantizable: true)
        case .i8: return Traits(name: "I8", blockSize: 1, typeSize: 1, dequantizable: true)
        case .i16: return Traits(name: "I16", blockSize: 1, typeSize: 2, dequantizable: true)
        case .i32: return Traits(name: "I32", blockSize: 1, typeSize: 4, dequantizable: true)
        case .i64: return Traits(name: "I64", blockSize: 1, typeSize: 8, dequantizable: false)
        case .q4_0: return Traits(name: "Q4_0", blockSize: 32, typeSize: BlockQ4_0.size, dequantizable: true)
        case .q4_1: return Traits(name: "Q4_1", blockSize: 32, typeSize: BlockQ4_1.size, dequantizable: true)
        case .q5_0: return Traits(name: "Q5_0", blockSize: 32, typeSize: BlockQ5_0.size, dequantizable: true)
        case .q5_1: return Traits(name: "Q5_1", blockSize: 32, typeSize: BlockQ5_1.size, dequantizable: true)
        case .q8_0: return Traits(name: "Q8_0", blockSize: 32, typeSize: BlockQ8_0.size, dequantizable: true)
        case .q8_1: return Traits(name: "Q8_1", blockSize: 32, typeSize: 40, dequantizable: false)
        case .q2_K: return Traits(name: "Q2_K", blockSize: 256, typeSize: 84, dequantizable: false)
        case .q3_K: return Traits(name: "Q3_K", blockSize: 256, typeSize: 110, dequantizable: false)
        case .q4_K: return Traits(name: "Q4_K", blockSize: 256, typeSize: BlockQ4_K.size, dequantizable: true)
        case .q5_K: return Traits(name: "Q5_K", blockSize: 256, typeSize: BlockQ5_K.size, dequantizable: true)
        case .q6_K: return Traits(name: "Q6_K", blockSize: 256, typeSize: BlockQ6_K.size, dequantizable: true)
        case .q8_K: return Traits(name: "Q8_K", blockSize: 256, typeSize: 292, dequantizable: false)
        case .iq2_xxs: return Traits(name: "IQ2_XXS", blockSize: 256, typeSize: 66, dequantizable: false)
        case .iq2_xs: return Traits(name: "IQ2_XS", blockSize: 256, typeSize: 74, dequantizable: false)
        case .iq3_xxs: return Traits(name: "IQ3_XXS", blockSize: 256, typeSize: 98, dequantizable: false)
        case .iq1_s: return Traits(name: "IQ1_S", blockSize: 256, typeSize: 50, dequantizable: false)
        case .iq4_nl: return Traits(name: "IQ4_NL", blockSize: 32, typeSize: 18, dequantizable: false)
        case .iq3_s: return Traits(name: "IQ3_S", blockSize: 256, typeSize: 110, dequantizable: false)
        case .iq2_s: return Traits(name: "IQ2_S", blockSize: 256, typeSize: 82, dequantizable: false)
        case .iq4_xs: return Traits(name: "IQ4_XS", blockSize: 256, typeSize: 136, dequantizable: false)
        case .iq1_m: return Traits(name: "IQ1_M", blockSize: 256, typeSize: 56, dequantizable: false)
        case .tq1_0: return Traits(name: "TQ1_0", blockSize: 256, typeSize: 54, dequantizable: false)
        case .tq2_0: return Traits(name: "TQ2_0", blockSize: 256, typeSize: 66, dequantizable: false)
        }
    }

    public var name: String { traits.name }

    /// The artifact DType that keeps this type's blocks as they are, nil for element types and
    /// block types Ingot does not run natively.
    public var blockDType: DType? {
        switch self {
        case .q4_0: return .q4_0
        case .q4_1: return .q4_1
        case .q5_0: return .q5_0
        case .q5_1: return .q5_1
        case .q8_0: return .q8_0
        case .q4_K: return .q4_K
        case .q5_K: return .q5_K
        case .q6_K: return .q6_K
        case .f32, .f16, .bf16, .f64, .i8, .i16, .i32, .i64, .q8_1, .q2_K, .q3_K, .q8_K, .iq2_xxs, .iq2_xs, .iq3_xxs,
             .iq1_s, .iq4_nl, .iq3_s, .iq2_s, .iq4_xs, .iq1_m, .tq1_0, .tq2_0:
            return nil
        }
    }
}

// Block layouts (all little-endian, packed). `size` is the byte size of one block; the
// traits table takes it from here and a test checks it against the layout arithmetic.

/// 32 weights: f16 d; u8 qs[16] (low nibbles = weights 0…15, high = 16…31); w = (q − 8)·d.
public enum BlockQ4_0 { public static let size = 2 + 16 }
/// 32 weights: f16 d, f16 m; u8 qs[16]; w = q·d + m.
public enum BlockQ4_1 { public static let size = 2 + 2 + 16 }
/// 32 weights: f16 d; u32 qh (5th bits); u8 qs[16]; w = (q | h<<4 − 16)·d.
public enum BlockQ5_0 { public static let size = 2 + 4 + 16 }
/// 32 weights: f16 d, f16 m; u32 qh; u8 qs[16]; w = (q | h<<4)·d + m.
public enum BlockQ5_1 { public static let size = 2 + 2 + 4 + 16 }
/// 32 weights: f16 d; i8 qs[32]; w = q·d.
public enum BlockQ8_0 { public static let size = 2 + 32 }
/// 256 weights in 8 sub-blocks of 32: f16 d, f16 dmin; u8 scales[12] (6-bit scale and min
/// per sub-block); u8 qs[128] (4-bit); w = d·sc·q − dmin·m.
public enum BlockQ4_K { public static let size = 2 + 2 + 12 + 128 }
/// As Q4_K plus u8 qh[32] holding the 5th bit of each weight.
public enum BlockQ5_K { public static let size = 2 + 2 + 12 + 32 + 128 }
/// 256 weights in 16 sub-blocks of 16: u8 ql[128] (low 4 bits), u8 qh[64] (high 2 bits),
/// i8 scales[16], f16 d; w = d·scale·(q − 32).
public enum BlockQ6_K { public static let size = 128 + 64 + 16 + 2 }
