// BlockQuant: the reference decoding of the GGML block-quantized DTypes (q4_0 … q6_K) to
// float32, block by block, exactly as ggml defines each layout (Formats/ingot-v1.md, "Block-
// quantized dtypes"). The GGUF reader, the passes, gathers from block tables and the kernels'
// reference twins all decode through it. It does not check sizes: callers pass whole blocks.

public enum BlockQuant {
    @inline(__always) static func f16(_ p: UnsafeRawPointer, _ o: Int) -> Float {
        floatFromHalfBits(UInt16(littleEndian: p.loadUnaligned(fromByteOffset: o, as: UInt16.self)))
    }

    /// Decodes `blocks` blocks of `dtype` at `base` into `blocks × dtype.blockSize` floats at
    /// `dst`. Element types decode nothing (they are not blocks).
    public static func dequantize(_ dtype: DType, _ base: UnsafeRawPointer, blocks: Int, into dst: UnsafeMutablePointer<Float>) {
        switch dtype {
        case .q4_0:
            for b in 0..<blocks {
                let p = base + b * 18, y = dst + b * 32
                let d = f16(p, 0)
                for j in 0..<16 {
                    let q = p.load(fromByteOffset: 2 + j, as: UInt8.self)
                    y[j] = Float(Int(q & 0x0F) - 8) * d
                    y[j + 16] = Float(Int(q >> 4) - 8) * d
                }
            }
        case .q4_1:
            for b in 0..<blocks {
                let p = base + b * 20, y = dst + b * 32
                let d = f16(p, 0), m = f16(p, 2)
                for j in 0..<16 {
                    let q = p.load(fromByteOffset: 4 + j, as: UInt8.self)
                    y[j] = Float(q & 0x0F) * d + m
                    y[j + 16] = Float(q >> 4) * d + m
                }
            }
        case .q5_0:
            for b in 0..<blocks {
                let p = base + b * 22, y = dst + b * 32
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
                let p = base + b * 24, y = dst + b * 32
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
                let p = base + b * 34, y = dst + b * 32
                let d = f16(p, 0)
                for j in 0..<32 { y[j] = Float(p.load(fromByteOffset: 2 + j, as: Int8.self)) * d }
            }
        case .q4_K, .q5_K:
            let five = dtype == .q5_K
            let size = five ? 176 : 144
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
                let p = base + b * 210, y0 = dst + b * 256
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
        case .f32, .f16, .bf16, .f64, .i8, .u8, .i16, .i32, .i64, .bool:
            return
        }
    }

    /// A whole tensor of a block type as float32 (`bytes` holds `elements / blockSize` blocks).
    public static func floats(_ dtype: DType, _ bytes: UnsafeRawBufferPointer, elements: Int) -> [Float] {
        guard elements > 0, let base = bytes.baseAddress else { return [] }
        return [Float](unsafeUninitializedCapacity: elements) { buffer, count in
            dequantize(dtype, base, blocks: elements / dtype.blockSize, into: buffer.baseAddress!)
            count = elements
        }
    }

    /// The 6-bit scale and min of sub-block j (0…7) packed in 12 bytes.
    @inline(__always) static func scaleMinK4(_ j: Int, _ q: UnsafeRawPointer) -> (UInt8, UInt8) {
        func b(_ i: Int) -> UInt8 { q.load(fromByteOffset: i, as: UInt8.self) }
        if j < 4 { return (b(j) & 63, b(j + 4) & 63) }
        return ((b(j + 4) & 0x0F) | ((b(j - 4) >> 6) << 4), (b(j + 4) >> 4) | ((b(j) >> 6) << 4))
    }
}
