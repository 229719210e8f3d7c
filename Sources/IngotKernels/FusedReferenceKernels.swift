// FusedReferenceKernels: plain twins of FusedKernels, written as the unfused sequence of
// reference kernels (matmul, bias add, activation; add then norm) in Double, generic over the
// element type like ReferenceKernels. Tests and the training tape call them; the runtime never does.

#if canImport(Glibc)
import Glibc
#endif

extension ReferenceKernels {
    /// out[m, n] = act(x[m, k] · w[n, k]ᵀ + bias[n]).
    @inlinable
    public static func linear<T: ReferenceScalar>(_ x: UnsafePointer<T>, _ w: UnsafePointer<T>, bias: UnsafePointer<T>?,
                                                  _ out: UnsafeMutablePointer<T>, m: Int, n: Int, k: Int, activation: EpilogueActivation) {
        for i in 0..<m {
            for j in 0..<n {
                var s = 0.0
                for p in 0..<k { s += Double(x[i * k + p]) * Double(w[j * k + p]) }
                if let bias { s += Double(bias[j]) }
                out[i * n + j] = T(activate(s, activation))
            }
        }
    }

    /// x[rows, 2·half] = [gate | up] → out[rows, half] = silu(gate) · up.
    @inlinable
    public static func swiglu<T: ReferenceScalar>(_ x: UnsafePointer<T>, _ out: UnsafeMutablePointer<T>, rows: Int, half: Int) {
        for r in 0..<rows {
            for i in 0..<half {
                let g = Double(x[r * 2 * half + i]), u = Double(x[r * 2 * half + half + i])
                out[r * half + i] = T(g / (1 + exp(-g)) * u)
            }
        }
    }

    /// sum = a + b (in T), out = layerNorm(sum).
    @inlinable
    public static func addLayerNorm<T: ReferenceScalar>(_ a: UnsafePointer<T>, _ b: UnsafePointer<T>, gamma: UnsafePointer<T>,
                                                        beta: UnsafePointer<T>, out: UnsafeMutablePointer<T>, sum: UnsafeMutablePointer<T>,
                                                        rows: Int, cols: Int, eps: Float) {
        for i in 0..<rows * cols { sum[i] = a[i] + b[i] }
        layerNorm(UnsafePointer(sum), gamma: gamma, beta: beta, out, rows: rows, cols: cols, eps: eps)
    }

    /// sum = a + b (in T), out = rmsNorm(sum).
    @inlinable
    public static func addRMSNorm<T: ReferenceScalar>(_ a: UnsafePointer<T>, _ b: UnsafePointer<T>, weight: UnsafePointer<T>,
                                                      out: UnsafeMutablePointer<T>, sum: UnsafeMutablePointer<T>,
                                                      rows: Int, cols: Int, eps: Float) {
        for i in 0..<rows * cols { sum[i] = a[i] + b[i] }
        rmsNorm(UnsafePointer(sum), weight: weight, out, rows: rows, cols: cols, eps: eps)
    }
}
