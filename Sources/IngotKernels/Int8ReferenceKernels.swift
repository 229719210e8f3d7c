// Int8ReferenceKernels: plain Swift twins of the C int8 kernels (ingot_q8.h) with the same
// arithmetic — exact integer group sums, the same float expression order — so tests can
// demand identical bits from the fast paths. The runtime never calls them.

public enum Int8ReferenceKernels {
    /// x[rows, k] → (q[rows, k], scales[rows, k/group]).
    public static func quantizeRows(_ x: [Float], rows: Int, k: Int, group: Int) -> (q: [Int8], scales: [Float]) {
        let groups = k / group
        var q = [Int8](repeating: 0, count: rows * k), scales = [Float](repeating: 0, count: rows * groups)
        for r in 0..<rows {
            for g in 0..<groups {
                let base = r * k + g * group
                var m: Float = 0
                for t in 0..<group { m = max(m, abs(x[base + t])) }
                let scale = m / 127
                scales[r * groups + g] = scale
                guard scale != 0 else { continue }
                let inv = 1 / scale
                for t in 0..<group { q[base + t] = Int8(min(127, max(-127, (x[base + t] * inv).rounded(.toNearestOrEven)))) }
            }
        }
        return (q, scales)
    }

    /// y[m, n] for columns n0..<n1 (others untouched).
    public static func gemm(xq: [Int8], xs: [Float], m: Int, wq: [Int8], ws: [Float], n: Int, k: Int, group: Int,
                            bias: [Float]?, y: inout [Float], columns: Range<Int>) {
        let groups = k / group
        for i in 0..<m {
            for j in columns {
                var acc: Float = 0
                for g in 0..<groups {
                    var dot: Int32 = 0
                    for t in g * group..<(g + 1) * group { dot += Int32(xq[i * k + t]) * Int32(wq[j * k + t]) }
                    let s = xs[i * groups + g] * ws[j * groups + g]
                    let term = Float(dot) * s
                    acc = acc + term
                }
                y[i * n + j] = bias.map { acc + $0[j] } ?? acc
            }
        }
    }

    /// Weight-only: y[j] = Σ_g (Σ x·w) · ws[j, g] + bias[j], in Double (the fast path's float order differs).
    public static func gemvWeightOnly(x: [Float], wq: [Int8], ws: [Float], n: Int, k: Int, group: Int, bias: [Float]?) -> [Double] {
        let groups = k / group
        return (0..<n).map { j in
            var acc = 0.0
            for g in 0..<groups {
                var s = 0.0
                for t in g * group..<(g + 1) * group { s += Double(x[t]) * Double(wq[j * k + t]) }
                acc += s * Double(ws[j * groups + g])
            }
            return acc + Double(bias?[j] ?? 0)
        }
    }

    /// Twin of ingot_q8p_quantize_rows: x[rows, k] → (q[rows, kp] in 0...levels, scales[rows], zeros[rows]).
    public static func quantizeRowsAsymmetric(_ x: [Float], rows: Int, k: Int, kp: Int, levels: Int32 = 255) -> (q: [UInt8], scales: [Float], zeros: [Int32]) {
        let top = Float(levels == 127 ? 127 : 255)
        var q = [UInt8](repeating: 0, count: rows * kp), scales = [Float](repeating: 0, count: rows), zeros = [Int32](repeating: 0, count: rows)
        for r in 0..<rows {
            var lo: Float = 0, hi: Float = 0
            for t in 0..<k { lo = min(lo, x[r * k + t]); hi = max(hi, x[r * k + t]) }
            let scale = (hi - lo) / top
            scales[r] = scale
            guard scale != 0 else { continue }
            let inv = 1 / scale
            let zero = min(top, max(0, (-lo * inv).rounded(.toNearestOrEven)))
            zeros[r] = Int32(zero)
            for t in 0..<k {
                let v = (x[r * k + t] * inv).rounded(.toNearestOrEven) + zero
                q[r * kp + t] = UInt8(min(top, max(0, v)))
            }
        }
        return (q, scales, zeros)
    }

    /// Twin of ingot_q8p_gemm from row-major weights w[n, k]: y[i, j] = (Σ q·w − zero_i·Σ_t w[j, t])
    /// as Float, times (scales[i]·ws[j]), plus bias[j].
    public static func packedGemm(q: [UInt8], scales: [Float], zeros: [Int32], m: Int, kp: Int, w: [Int8], ws: [Float],
                                  n: Int, k: Int, bias: [Float]?) -> [Float] {
        var y = [Float](repeating: 0, count: m * n)
        for j in 0..<n {
            var colsum: Int32 = 0
            for t in 0..<k { colsum += Int32(w[j * k + t]) }
            for i in 0..<m {
                var dot: Int32 = 0
                for t in 0..<k { dot += Int32(q[i * kp + t]) * Int32(w[j * k + t]) }
                let v = Float(dot - zeros[i] * colsum) * (scales[i] * ws[j])
                y[i * n + j] = bias.map { v + $0[j] } ?? v
            }
        }
        return y
    }
}
