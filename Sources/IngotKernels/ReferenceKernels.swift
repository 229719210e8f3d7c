// ReferenceKernels: the plain twins of Kernels — straightforward loops, Double
// accumulation, no BLAS, no threads. Tests compare every fast kernel against these; the
// runtime never calls them.

#if canImport(Glibc)
import Glibc
#endif

public enum ReferenceKernels {
    public static func matmul(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>,
                              m: Int, n: Int, k: Int, transposeB: Bool) {
        for i in 0..<m {
            for j in 0..<n {
                var s = 0.0
                for p in 0..<k { s += Double(a[i * k + p]) * Double(transposeB ? b[j * k + p] : b[p * n + j]) }
                out[i * n + j] = Float(s)
            }
        }
    }

    /// Same contract as Kernels.batchedMatmul: one `matmul` per batch entry.
    public static func batchedMatmul(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>,
                                     batch: Int, m: Int, n: Int, k: Int, transposeB: Bool) {
        for i in 0..<batch {
            matmul(a + i * m * k, b + i * k * n, out + i * m * n, m: m, n: n, k: k, transposeB: transposeB)
        }
    }

    public static func geluErf(_ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, count n: Int) {
        for i in 0..<n { let v = Double(x[i]); out[i] = Float(0.5 * v * (1 + erf(v / 2.0.squareRoot()))) }
    }

    public static func geluTanh(_ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, count n: Int) {
        for i in 0..<n {
            let v = Double(x[i])
            out[i] = Float(0.5 * v * (1 + tanh((2 / Double.pi).squareRoot() * (v + 0.044715 * v * v * v))))
        }
    }

    public static func silu(_ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, count n: Int) {
        for i in 0..<n { let v = Double(x[i]); out[i] = Float(v / (1 + exp(-v))) }
    }

    public static func layerNorm(_ x: UnsafePointer<Float>, gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>,
                                 _ out: UnsafeMutablePointer<Float>, rows: Int, cols: Int, eps: Float) {
        for r in 0..<rows {
            var mean = 0.0
            for j in 0..<cols { mean += Double(x[r * cols + j]) }
            mean /= Double(cols)
            var v = 0.0
            for j in 0..<cols { let d = Double(x[r * cols + j]) - mean; v += d * d }
            v /= Double(cols)
            for j in 0..<cols {
                out[r * cols + j] = Float((Double(x[r * cols + j]) - mean) / (v + Double(eps)).squareRoot() * Double(gamma[j]) + Double(beta[j]))
            }
        }
    }

    public static func rmsNorm(_ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>,
                               rows: Int, cols: Int, eps: Float) {
        for r in 0..<rows {
            var ss = 0.0
            for j in 0..<cols { ss += Double(x[r * cols + j]) * Double(x[r * cols + j]) }
            let inv = 1 / (ss / Double(cols) + Double(eps)).squareRoot()
            for j in 0..<cols { out[r * cols + j] = Float(Double(x[r * cols + j]) * inv * Double(weight[j])) }
        }
    }

    public static func softmaxRow(_ row: UnsafeMutablePointer<Float>, _ n: Int) {
        let m = (0..<n).map { Double(row[$0]) }.max() ?? 0
        guard m > -Double.infinity else { for j in 0..<n { row[j] = 0 }; return }
        let e = (0..<n).map { exp(Double(row[$0]) - m) }
        let s = e.reduce(0, +)
        for j in 0..<n { row[j] = Float(e[j] / s) }
    }

    /// Same contract as Kernels.attention, one query row at a time.
    public static func attention(q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                                 keyMask: UnsafePointer<Int32>?, out: UnsafeMutablePointer<Float>,
                                 batch: Int, seq: Int, keySeq: Int, heads H: Int, kvHeads KV: Int, headDim D: Int,
                                 scale: Float, causal: Bool, queryOffset: Int) {
        for b in 0..<batch {
            for h in 0..<H {
                let g = h / (H / KV)
                for i in 0..<seq {
                    var scores = [Double](repeating: -Double.infinity, count: keySeq)
                    for j in 0..<keySeq {
                        if let keyMask, keyMask[b * keySeq + j] == 0 { continue }
                        if causal && j > queryOffset + i { continue }
                        var dot = 0.0
                        for d in 0..<D { dot += Double(q[((b * seq + i) * H + h) * D + d]) * Double(k[((b * keySeq + j) * KV + g) * D + d]) }
                        scores[j] = dot * Double(scale)
                    }
                    let m = scores.max()!
                    for d in 0..<D { out[((b * seq + i) * H + h) * D + d] = 0 }
                    guard m > -Double.infinity else { continue }
                    let e = scores.map { exp($0 - m) }
                    let z = e.reduce(0, +)
                    for d in 0..<D {
                        var s = 0.0
                        for j in 0..<keySeq { s += e[j] / z * Double(v[((b * keySeq + j) * KV + g) * D + d]) }
                        out[((b * seq + i) * H + h) * D + d] = Float(s)
                    }
                }
            }
        }
    }

    public static func rope(_ x: UnsafePointer<Float>, positions: UnsafePointer<Int32>, _ out: UnsafeMutablePointer<Float>,
                            tokens: Int, heads: Int, headDim: Int, theta: Float, interleaved: Bool) {
        let half = headDim / 2
        for t in 0..<tokens {
            for h in 0..<heads {
                let base = (t * heads + h) * headDim
                for i in 0..<half {
                    let angle = Double(positions[t]) * pow(Double(theta), -2 * Double(i) / Double(headDim))
                    let (ia, ib) = interleaved ? (base + 2 * i, base + 2 * i + 1) : (base + i, base + i + half)
                    let a = Double(x[ia]), b = Double(x[ib])
                    out[ia] = Float(a * cos(angle) - b * sin(angle))
                    out[ib] = Float(a * sin(angle) + b * cos(angle))
                }
            }
        }
    }
}
