// ReferenceKernels: the plain twins of Kernels — straightforward loops, Double
// accumulation, no BLAS, no threads. Tests compare every fast kernel against these, and the
// training tape (IngotAutodiff) runs its forward through them in Float and in Double; the
// runtime never calls them. Generic over the element type: each kernel reads T, computes in
// Double and rounds once to T, so Float results are those of Double arithmetic rounded to
// Float, and Double results are plain Double arithmetic. `@inlinable` so callers specialise.

#if canImport(Glibc)
import Glibc
#endif

/// The element types the reference kernels read and write (Float, Double).
public protocol ReferenceScalar: BinaryFloatingPoint {}
extension Float: ReferenceScalar {}
extension Double: ReferenceScalar {}

public enum ReferenceKernels {
    /// out[m, n] = a[m, k] · (transposeB ? b[n, k]ᵀ : b[k, n]).
    @inlinable
    public static func matmul<T: ReferenceScalar>(_ a: UnsafePointer<T>, _ b: UnsafePointer<T>, _ out: UnsafeMutablePointer<T>,
                                                  m: Int, n: Int, k: Int, transposeB: Bool) {
        for i in 0..<m {
            for j in 0..<n {
                var s = 0.0
                for p in 0..<k { s += Double(a[i * k + p]) * Double(transposeB ? b[j * k + p] : b[p * n + j]) }
                out[i * n + j] = T(s)
            }
        }
    }

    /// Same contract as Kernels.batchedMatmul: one `matmul` per batch entry.
    @inlinable
    public static func batchedMatmul<T: ReferenceScalar>(_ a: UnsafePointer<T>, _ b: UnsafePointer<T>, _ out: UnsafeMutablePointer<T>,
                                                         batch: Int, m: Int, n: Int, k: Int, transposeB: Bool) {
        for i in 0..<batch {
            matmul(a + i * m * k, b + i * k * n, out + i * m * n, m: m, n: n, k: k, transposeB: transposeB)
        }
    }

    /// The activations in Double: GELU in its exact erf form or the tanh approximation, SiLU.
    @inlinable
    public static func activate(_ s: Double, _ activation: EpilogueActivation) -> Double {
        switch activation {
        case .none: return s
        case .gelu: return 0.5 * s * (1 + erf(s / 2.0.squareRoot()))
        case .geluTanh: return 0.5 * s * (1 + tanh((2 / Double.pi).squareRoot() * (s + 0.044715 * s * s * s)))
        case .silu: return s / (1 + exp(-s))
        }
    }

    /// out = act(x), n elements.
    @inlinable
    public static func activation<T: ReferenceScalar>(_ x: UnsafePointer<T>, _ out: UnsafeMutablePointer<T>, count n: Int,
                                                      _ activation: EpilogueActivation) {
        for i in 0..<n { out[i] = T(activate(Double(x[i]), activation)) }
    }

    @inlinable
    public static func geluErf<T: ReferenceScalar>(_ x: UnsafePointer<T>, _ out: UnsafeMutablePointer<T>, count n: Int) {
        activation(x, out, count: n, .gelu)
    }

    @inlinable
    public static func geluTanh<T: ReferenceScalar>(_ x: UnsafePointer<T>, _ out: UnsafeMutablePointer<T>, count n: Int) {
        activation(x, out, count: n, .geluTanh)
    }

    @inlinable
    public static func silu<T: ReferenceScalar>(_ x: UnsafePointer<T>, _ out: UnsafeMutablePointer<T>, count n: Int) {
        activation(x, out, count: n, .silu)
    }

    /// Rows of x[rows, cols]: (x − mean) / √(var + eps) · gamma + beta.
    @inlinable
    public static func layerNorm<T: ReferenceScalar>(_ x: UnsafePointer<T>, gamma: UnsafePointer<T>, beta: UnsafePointer<T>,
                                                     _ out: UnsafeMutablePointer<T>, rows: Int, cols: Int, eps: Float) {
        for r in 0..<rows {
            var mean = 0.0
            for j in 0..<cols { mean += Double(x[r * cols + j]) }
            mean /= Double(cols)
            var v = 0.0
            for j in 0..<cols { let d = Double(x[r * cols + j]) - mean; v += d * d }
            v /= Double(cols)
            for j in 0..<cols {
                out[r * cols + j] = T((Double(x[r * cols + j]) - mean) / (v + Double(eps)).squareRoot() * Double(gamma[j]) + Double(beta[j]))
            }
        }
    }

    /// Rows of x[rows, cols]: x / √(mean(x²) + eps) · weight.
    @inlinable
    public static func rmsNorm<T: ReferenceScalar>(_ x: UnsafePointer<T>, weight: UnsafePointer<T>, _ out: UnsafeMutablePointer<T>,
                                                   rows: Int, cols: Int, eps: Float) {
        for r in 0..<rows {
            var ss = 0.0
            for j in 0..<cols { ss += Double(x[r * cols + j]) * Double(x[r * cols + j]) }
            let inv = 1 / (ss / Double(cols) + Double(eps)).squareRoot()
            for j in 0..<cols { out[r * cols + j] = T(Double(x[r * cols + j]) * inv * Double(weight[j])) }
        }
    }

    /// Stable softmax of one row in place; a row of all −∞ becomes zeros.
    @inlinable
    public static func softmaxRow<T: ReferenceScalar>(_ row: UnsafeMutablePointer<T>, _ n: Int) {
        let m = (0..<n).map { Double(row[$0]) }.max() ?? 0
        guard m > -Double.infinity else { for j in 0..<n { row[j] = 0 }; return }
        let e = (0..<n).map { exp(Double(row[$0]) - m) }
        let s = e.reduce(0, +)
        for j in 0..<n { row[j] = T(e[j] / s) }
    }

    /// Same contract as Kernels.attention, one query row at a time.
    @inlinable
    public static func attention<T: ReferenceScalar>(q: UnsafePointer<T>, k: UnsafePointer<T>, v: UnsafePointer<T>,
                                                     keyMask: UnsafePointer<Int32>?, out: UnsafeMutablePointer<T>,
                                                     batch: Int, seq: Int, keySeq: Int, heads H: Int, kvHeads KV: Int, headDim D: Int,
                                                     scale: Float, causal: Bool, queryOffset: Int, window: Int = 0,
                                                     relative: RelativeBias? = nil) {
        for b in 0..<batch {
            for h in 0..<H {
                let g = h / (H / KV)
                for i in 0..<seq {
                    var scores = [Double](repeating: -Double.infinity, count: keySeq)
                    for j in 0..<keySeq {
                        if let keyMask, keyMask[b * keySeq + j] == 0 { continue }
                        if causal && j > queryOffset + i { continue }
                        if window > 0 && j <= queryOffset + i - window { continue }
                        if window > 0 && !causal && j >= queryOffset + i + window { continue }
                        var dot = 0.0
                        for d in 0..<D { dot += Double(q[((b * seq + i) * H + h) * D + d]) * Double(k[((b * keySeq + j) * KV + g) * D + d]) }
                        scores[j] = dot * Double(scale)
                        if let relative {
                            let bucket = Kernels.relativePositionBucket(queryOffset + i - j, buckets: relative.buckets, maxDistance: relative.maxDistance)
                            scores[j] += Double(relative.table[bucket * H + h])
                        }
                    }
                    let m = scores.max()!
                    for d in 0..<D { out[((b * seq + i) * H + h) * D + d] = 0 }
                    guard m > -Double.infinity else { continue }
                    let e = scores.map { exp($0 - m) }
                    let z = e.reduce(0, +)
                    for d in 0..<D {
                        var s = 0.0
                        for j in 0..<keySeq { s += e[j] / z * Double(v[((b * keySeq + j) * KV + g) * D + d]) }
                        out[((b * seq + i) * H + h) * D + d] = T(s)
                    }
                }
            }
        }
    }

    /// Rotary embedding of x[tokens, heads·headDim] at `positions` (same contract as Kernels.rope).
    /// Negated positions rotate back: the transpose of the rotation.
    @inlinable
    public static func rope<T: ReferenceScalar>(_ x: UnsafePointer<T>, positions: UnsafePointer<Int32>, _ out: UnsafeMutablePointer<T>,
                                                tokens: Int, heads: Int, headDim: Int, theta: Float, interleaved: Bool) {
        let half = headDim / 2
        for t in 0..<tokens {
            for h in 0..<heads {
                let base = (t * heads + h) * headDim
                for i in 0..<half {
                    let angle = Double(positions[t]) * pow(Double(theta), -2 * Double(i) / Double(headDim))
                    let (ia, ib) = interleaved ? (base + 2 * i, base + 2 * i + 1) : (base + i, base + i + half)
                    let a = Double(x[ia]), b = Double(x[ib])
                    out[ia] = T(a * cos(angle) - b * sin(angle))
                    out[ib] = T(a * sin(angle) + b * cos(angle))
                }
            }
        }
    }

    /// Same contract as Kernels.meanPool: out[b, :] = mean of x[b, s, :] over s with mask[b, s] ≠ 0;
    /// zeros for a row with no real token. x [batch, seq, hidden], mask [batch, seq], out [batch, hidden].
    @inlinable
    public static func meanPool<T: ReferenceScalar>(_ x: UnsafePointer<T>, mask: UnsafePointer<Int32>, _ out: UnsafeMutablePointer<T>,
                                                    batch: Int, seq: Int, hidden: Int) {
        for b in 0..<batch {
            var count = 0
            for s in 0..<seq where mask[b * seq + s] != 0 { count += 1 }
            for d in 0..<hidden {
                var sum = 0.0
                for s in 0..<seq where mask[b * seq + s] != 0 { sum += Double(x[(b * seq + s) * hidden + d]) }
                out[b * hidden + d] = T(count == 0 ? 0 : sum / Double(count))
            }
        }
    }

    /// Same contract as Kernels.l2Normalize: rows of x[rows, cols] divided by max(‖row‖₂, eps).
    @inlinable
    public static func l2Normalize<T: ReferenceScalar>(_ x: UnsafePointer<T>, _ out: UnsafeMutablePointer<T>, rows: Int, cols: Int,
                                                       eps: Float) {
        for r in 0..<rows {
            var ss = 0.0
            for j in 0..<cols { ss += Double(x[r * cols + j]) * Double(x[r * cols + j]) }
            let scale = 1 / max(ss.squareRoot(), Double(eps))
            for j in 0..<cols { out[r * cols + j] = T(Double(x[r * cols + j]) * scale) }
        }
    }
}
