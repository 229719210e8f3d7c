// FusedReferenceKernels: plain twins of FusedKernels, written as the unfused sequence of
// reference kernels (matmul, bias add, activation; add then norm) in Double. Tests only.

#if canImport(Glibc)
import Glibc
#endif

extension ReferenceKernels {
    public static func linear(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                              _ out: UnsafeMutablePointer<Float>, m: Int, n: Int, k: Int, activation: EpilogueActivation) {
        for i in 0..<m {
            for j in 0..<n {
                var s = 0.0
                for p in 0..<k { s += Double(x[i * k + p]) * Double(w[j * k + p]) }
                if let bias { s += Double(bias[j]) }
                out[i * n + j] = Float(activate(s, activation))
            }
        }
    }

    /// The epilogue activations in Double (GELU in its exact erf form or the tanh approximation).
    static func activate(_ s: Double, _ activation: EpilogueActivation) -> Double {
        switch activation {
        case .none: return s
        case .gelu: return 0.5 * s * (1 + erf(s / 2.0.squareRoot()))
        case .geluTanh: return 0.5 * s * (1 + tanh((2 / Double.pi).squareRoot() * (s + 0.044715 * s * s * s)))
        case .silu: return s / (1 + exp(-s))
        }
    }

    public static func swiglu(_ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, rows: Int, half: Int) {
        for r in 0..<rows {
            for i in 0..<half {
                let g = Double(x[r * 2 * half + i]), u = Double(x[r * 2 * half + half + i])
                out[r * half + i] = Float(g / (1 + exp(-g)) * u)
            }
        }
    }

    public static func addLayerNorm(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, gamma: UnsafePointer<Float>,
                                    beta: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, sum: UnsafeMutablePointer<Float>,
                                    rows: Int, cols: Int, eps: Float) {
        for i in 0..<rows * cols { sum[i] = a[i] + b[i] }
        layerNorm(sum, gamma: gamma, beta: beta, out, rows: rows, cols: cols, eps: eps)
    }

    public static func addRMSNorm(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                                  out: UnsafeMutablePointer<Float>, sum: UnsafeMutablePointer<Float>,
                                  rows: Int, cols: Int, eps: Float) {
        for i in 0..<rows * cols { sum[i] = a[i] + b[i] }
        rmsNorm(sum, weight: weight, out, rows: rows, cols: cols, eps: eps)
    }
}
