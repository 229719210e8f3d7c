// Half-precision conversions (IEEE binary16 and bfloat16) to and from Float,
// done on bit patterns so they behave the same on every platform.

@inline(__always)
public func floatFromHalfBits(_ h: UInt16) -> Float {
    let sign = UInt32(h & 0x8000) << 16
    let exp = UInt32(h >> 10) & 0x1F
    let mant = UInt32(h & 0x03FF)
    if exp == 0 {
        if mant == 0 { return Float(bitPattern: sign) }
        // Subnormal: value = mant × 2^-24.
        let v = Float(mant) * Float(bitPattern: 0x3380_0000) // 2^-24
        return sign != 0 ? -v : v
    }
    if exp == 31 {
        return Float(bitPattern: sign | 0x7F80_0000 | (mant << 13))
    }
    return Float(bitPattern: sign | ((exp + 112) << 23) | (mant << 13))
}

/// Round-to-nearest-even Float → binary16 bits.
@inline(__always)
public func halfBitsFromFloat(_ f: Float) -> UInt16 {
    let x = f.bitPattern
    let sign = UInt16((x >> 16) & 0x8000)
    let exp = Int((x >> 23) & 0xFF)
    var mant = x & 0x7F_FFFF
    if exp == 0xFF { // inf / nan
        return sign | 0x7C00 | (mant != 0 ? 0x200 : 0)
    }
    var e = exp - 127 + 15
    if e >= 31 { return sign | 0x7C00 }
    if e <= 0 {
        if e < -10 { return sign }
        mant |= 0x80_0000
        let shift = UInt32(14 - e)
        var h = mant >> shift
        let rem = mant & ((1 << shift) - 1)
        let half = UInt32(1) << (shift - 1)
        if rem > half || (rem == half && (h & 1) != 0) { h += 1 }
        return sign | UInt16(h)
    }
    var h = UInt32(e << 10) | (mant >> 13)
    let rem = mant & 0x1FFF
    if rem > 0x1000 || (rem == 0x1000 && (h & 1) != 0) { h += 1 }
    e = Int(h >> 10)
    _ = e
    return sign | UInt16(truncatingIfNeeded: h)
}

@inline(__always)
public func floatFromBFloat16Bits(_ b: UInt16) -> Float {
    Float(bitPattern: UInt32(b) << 16)
}

/// Round-to-nearest-even Float → bfloat16 bits (NaN stays NaN).
@inline(__always)
public func bfloat16BitsFromFloat(_ f: Float) -> UInt16 {
    let x = f.bitPattern
    if f.isNaN { return UInt16(x >> 16) | 0x40 }
    let rounding = UInt32(0x7FFF) + ((x >> 16) & 1)
    return UInt16((x &+ rounding) >> 16)
}
