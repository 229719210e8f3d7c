// Dequantization of GGML tensor data to float32: element types here, the block types through
// IngotCore's BlockQuant (the one decoder of those layouts; see GGMLTypes.swift). Inputs are trusted to have the right byte count
// (GGUFFile checks it); it never reads outside `src`.

import IngotCore

enum GGMLDequantize {
    @inline(__always) static func f16(_ p: UnsafeRawPointer, _ o: Int) -> Float {
        floatFromHalfBits(UInt16(littleEndian: p.loadUnaligned(fromByteOffset: o, as: UInt16.self)))
    }

    /// Writes `count` floats decoded from `src` (whose size matches the type) into `dst`.
    static func run(_ type: GGMLType, src: UnsafeRawBufferPointer, dst: UnsafeMutablePointer<Float>, count: Int) {
        guard let base = src.baseAddress, count > 0 else { return }
        let t = type.traits
        let blocks = count / t.blockSize
        switch type {
        case .f32:
            for i in 0..<count { dst[i] = Float(bitPattern: UInt32(littleEndian: base.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
        case .f16:
            for i in 0..<count { dst[i] = f16(base, 2 * i) }
        case .bf16:
            for i in 0..<count { dst[i] = floatFromBFloat16Bits(UInt16(littleEndian: base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
        case .f64:
            for i in 0..<count { dst[i] = Float(Double(bitPattern: UInt64(littleEndian: base.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)))) }
        case .i8:
            for i in 0..<count { dst[i] = Float(base.load(fromByteOffset: i, as: Int8.self)) }
        case .i16:
            for i in 0..<count { dst[i] = Float(Int16(littleEndian: base.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self))) }
        case .i32:
            for i in 0..<count { dst[i] = Float(Int32(littleEndian: base.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self))) }
        case .q4_0: BlockQuant.dequantize(.q4_0, base, blocks: blocks, into: dst)
        case .q4_1: BlockQuant.dequantize(.q4_1, base, blocks: blocks, into: dst)
        case .q5_0: BlockQuant.dequantize(.q5_0, base, blocks: blocks, into: dst)
        case .q5_1: BlockQuant.dequantize(.q5_1, base, blocks: blocks, into: dst)
        case .q8_0: BlockQuant.dequantize(.q8_0, base, blocks: blocks, into: dst)
        case .q4_K: BlockQuant.dequantize(.q4_K, base, blocks: blocks, into: dst)
        case .q5_K: BlockQuant.dequantize(.q5_K, base, blocks: blocks, into: dst)
        case .q6_K: BlockQuant.dequantize(.q6_K, base, blocks: blocks, into: dst)
        case .i64, .q8_1, .q2_K, .q3_K, .q8_K, .iq2_xxs, .iq2_xs, .iq3_xxs, .iq1_s, .iq4_nl, .iq3_s, .iq2_s,
             .iq4_xs, .iq1_m, .tq1_0, .tq2_0:
            // Callers check traits.dequantizable first.
            for i in 0..<count { dst[i] = .nan }
        }
    }
}
