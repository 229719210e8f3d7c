// Dequantization of GGML tensor data to float32, block by block, exactly as ggml defines
// each layout (see GGMLTypes.swift). Inputs are trusted to have the right byte count
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
        case .q4_0:
            for b in 0..<blocks {
                let p = base + b * BlockQ4_0.size, y = dst + b * 32
                let d = f16(p, 0)
                for j in 0..<16 {
                    let q = p.load(fromByteOffset: 2 + j, as: UInt8.self)
                    y[j] = Float(Int(q & 0x0F) - 8) * d
                    y[j + 16] = Float(Int(q >> 4) - 8) * d
                }
            }
        case .q4_1:
            for b in 0..<blocks {
                let p = base + b * BlockQ4_1.size, y = dst + b * 32
                let d = f16(p, 0), m = f16(p, 2)
                for j in 0..<16 {
                    let q = p.load(fromByteOffset: 4 + j, as: UInt8.self)
                    y[j] = Float(q & 0x0F) * d + m
                    y[j + 16] = Float(q >> 4) * d + m
                }
            }
        case .q5_0:
            for b in 0..<blocks {
                let p = base + b * BlockQ5_0.size, y = dst + b * 32
                let d = f16(p, 0)
                let qh = UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 2, as: UInt32.self))
                for j in 0..<16 {
                    let q = p.load(fromByteOffset: 6 + j, as: UInt8.self)
                    let h0 = UInt8(truncatingIfNeeded: ((qh >> UInt32(j)) << 4) & 0x10)
                    let h1 = UInt8(truncatingIfNeeded: (qh >> UInt32(j + 12)) & 0x10)
                    y[j] = Float(Int((q & 0x0F) | h0) - 16) * d
                    y[j + 16] = Float(Int((q >> 4) | h1) - 16) * d
                }
            }
        case .q5_1:
            for b in 0..<blocks {
                let p = base + b * BlockQ5_1.size, y = dst + b * 32
                let d = f16(p, 0), m = f16(p, 2)
                let qh = UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
                for j in 0..<16 {
                    let q = p.load(fromByteOffset: 8 + j, as: UInt8.self)
                    let h0 = UInt8(truncatingIfNeeded: ((qh >> UInt32(j)) << 4) & 0x10)
                    let h1 = UInt8(truncatingIfNeeded: (qh >> UInt32(j + 12)) & 0x10)
                    y[j] = Float((q & 0x0F) | h0) * d + m
                    y[j + 16] = Float((q >> 4) | h1) * d + m
                }
            }
        case .q8_0:
            for b in 0..<blocks {
                let p = base + b * BlockQ8_0.size, y = dst + b * 32
                let d = f16(p, 0)
                for j in 0..<32 { y[j] = Float(p.load(fromByteOffset: 2 + j, as: Int8.self)) * d }
            }
        case .q4_K, .q5_K:
            let five = type == .q5_K
            let size = five ? BlockQ5_K.size : BlockQ4_K.size
            for b in 0..<blocks {
                let p = base + b * size, y = dst + b * 256
                let d = f16(p, 0), dmin = f16(p, 2)
                let scales = p + 4
                let qh = p + 16                       // Q5_K only: 32 bytes
                let qs = p + (five ? 48 : 16)         // 128 bytes
                for group in 0..<4 {                  // 64 weights: two sub-blocks sharing qs bytes
                    let (sc1, m1) = scaleMinK4(2 * group, scales)
                    let (sc2, m2) = scaleMinK4(2 * group + 1, scales)
                    let d1 = d * Float(sc1), min1 = dmin * Float(m1)
                    let d2 = d * Float(sc2), min2 = dmin * Float(m2)
                    let q = qs + 32 * group
                    let bitLow = UInt8(1) << UInt8(2 * group), bitHigh = UInt8(2) << UInt8(2 * group)
                    for l in 0..<32 {
                        let byte = q.load(fromByteOffset: l, as: UInt8.self)
                        var lo = Float(byte & 0x0F), hi = Float(byte >> 4)
                        if five {
                            let h = qh.load(fromByteOffset: l, as: UInt8.self)
                            if h & bitLow != 0 { lo += 16 }
                            if h & bitHigh != 0 { hi += 16 }
                        }
                        y[64 * group + l] = d1 * lo - min1
                        y[64 * group + 32 + l] = d2 * hi - min2
                    }
                }
            }
        case .q6_K:
            for b in 0..<blocks {
                let p = base + b * BlockQ6_K.size, y0 = dst + b * 256
                let d = f16(p, 208)
                for half in 0..<2 {                   // 128 weights each
                    let ql = p + 64 * half, qh = p + 128 + 32 * half, sc = p + 192 + 8 * half
                    let y = y0 + 128 * half
                    for l in 0..<32 {
                        let s = l / 16
                        let a = ql.load(fromByteOffset: l, as: UInt8.self)
                        let c = ql.load(fromByteOffset: l + 32, as: UInt8.self)
                        let h = qh.load(fromByteOffset: l, as: UInt8.self)
                        let q1 = Int((a & 0x0F) | ((h & 0x03) << 4)) - 32
                        let q2 = Int((c & 0x0F) | (((h >> 2) & 0x03) << 4)) - 32
                        let q3 = Int((a >> 4) | (((h >> 4) & 0x03) << 4)) - 32
                        let q4 = Int((c >> 4) | (((h >> 6) & 0x03) << 4)) - 32
                        y[l] = d * Float(sc.load(fromByteOffset: s, as: Int8.self)) * Float(q1)
                        y[l + 32] = d * Float(sc.load(fromByteOffset: s + 2, as: Int8.self)) * Float(q2)
                        y[l + 64] = d * Float(sc.load(fromByteOffset: s + 4, as: Int8.self)) * Float(q3)
                        y[l + 96] = d * Float(sc.load(fromByteOffset: s + 6, as: Int8.self)) * Float(q4)
                    }
                }
            }
        case .i64, .q8_1, .q2_K, .q3_K, .q8_K, .iq2_xxs, .iq2_xs, .iq3_xxs, .iq1_s, .iq4_nl, .iq3_s, .iq2_s,
             .iq4_xs, .iq1_m, .tq1_0, .tq2_0:
            // Callers check traits.dequantizable first.
            for i in 0..<count { dst[i] = .nan }
        }
    }

    /// The 6-bit scale and min of sub-block j (0…7) packed in 12 bytes.
    @inline(__always) static func scaleMinK4(_ j: Int, _ q: UnsafeRawPointer) -> (UInt8, UInt8) {
        func b(_ i: Int) -> UInt8 { q.load(fromByteOffset: i, as: UInt8.self) }
        if j < 4 { return (b(j) & 63, b(j + 4) & 63) }
        return ((b(j + 4) & 0x0F) | ((b(j - 4) >> 6) << 4), (b(j + 4) >> 4) | ((b(j) >> 6) << 4))
    }
}
