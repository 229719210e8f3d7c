// FusedKernels: float32 kernels for the fused ops the fusion passes produce — linear with
// bias and activation in the GEMM's epilogue, SwiGLU, residual add + LayerNorm/RMSNorm.
// Each works on the rows one thread owns right after producing them, so the data is still
// in cache. Plain twins live in ReferenceKernels; shapes are trusted (callers validate).

import CBLAS
import CKernels

#if canImport(Glibc)
import Glibc
#endif

/// The activation a fused kernel applies after the bias (mirrors the IR's Activation).
public enum EpilogueActivation: Sendable {
    case none, gelu, geluTanh, silu
}

extension Kernels {
    /// out[m, n] = act(x[m, k] · w[n, k]ᵀ + bias[n]); BLAS per thread slice, epilogue on the same slice.
    public static func linear(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                              _ out: UnsafeMutablePointer<Float>, m: Int, n: Int, k: Int,
                              activation: EpilogueActivation, pool: ThreadPool) {
        if m == 1 {
            pool.parallelFor(n, minimumPerThread: 64) { cols in
                cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(cols.count), Int32(k), 1, w + cols.lowerBound * k, Int32(k),
                            x, 1, 0, out + cols.lowerBound, 1)
                epilogue(out, rows: 0..<1, cols: cols, ld: n, bias: bias, activation)
            }
            return
        }
        // Column slices when there are enough columns: each thread then packs only its share
        // of the weights (measured 8–10% faster than row slices at m = 128, n ≥ 384).
        if m >= 4 * pool.count && n < 128 * pool.count {
            pool.parallelFor(m, minimumPerThread: 4) { rows in
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows.count), Int32(n), Int32(k), 1,
                            x + rows.lowerBound * k, Int32(k), w, Int32(k), 0, out + rows.lowerBound * n, Int32(n))
                epilogue(out, rows: rows, cols: 0..<n, ld: n, bias: bias, activation)
            }
            return
        }
        let tiles = (n + 15) / 16
        pool.parallelFor(tiles, minimumPerThread: 4) { tileRange in
            let cols = tileRange.lowerBound * 16..<min(n, tileRange.upperBound * 16)
            // The bias goes in as C with β = 1: BLAS would otherwise spend a pass zeroing C.
            var beta: Float = 0
            if let bias {
                for r in 0..<m { (out + r * n + cols.lowerBound).update(from: bias + cols.lowerBound, count: cols.count) }
                beta = 1
            }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(m), Int32(cols.count), Int32(k), 1,
                        x, Int32(k), w + cols.lowerBound * k, Int32(k), beta, out + cols.lowerBound, Int32(n))
            guard activation != .none else { return }
            // Row blocks keep the epilogue's reads in cache.
            var r = 0
            while r < m {
                epilogue(out, rows: r..<min(m, r + 16), cols: cols, ld: n, bias: nil, activation)
                r += 16
            }
        }
    }

    /// out[m, n] = act(x[m, k] · w[n, k]ᵀ + bias[n]) on weights packed once into panels, with
    /// the row-invariant kernel (ingot_f32_gemm_panels): each row's bits depend only on that
    /// row, not on m or the other rows (sgemm's do), and no weight is re-packed per call (sgemm
    /// packs its operands on every call, a fixed cost that dominates short inputs). Panels are
    /// split over the pool; the activation runs on each thread's columns.
    public static func panelLinear(_ x: UnsafePointer<Float>, _ w: PackedFloatWeights, bias: UnsafePointer<Float>?,
                                   _ out: UnsafeMutablePointer<Float>, m: Int, activation: EpilogueActivation, pool: ThreadPool) {
        let n = w.n, k = w.k
        // Work per panel is m·k·16 multiply-adds; below ~64k of them a second thread costs more than it saves.
        pool.parallelFor(w.panelCount, minimumPerThread: max(1, 65536 / max(1, m * k * 16))) { panelRange in
            let cols = panelRange.lowerBound * 16..<min(n, panelRange.upperBound * 16)
            ingot_f32_gemm_panels(x, Int64(k), Int64(m), w.panels, Int64(k), Int64(n), bias, out, Int64(n),
                                  Int64(panelRange.lowerBound), Int64(panelRange.upperBound))
            guard activation != .none else { return }
            var r = 0
            while r < m {
                epilogue(out, rows: r..<min(m, r + 16), cols: cols, ld: n, bias: nil, activation)
                r += 16
            }
        }
    }

    /// Single-threaded linear into a column slice of a wider output: out[i, j] for j < n at
    /// row stride ldOut; w is [n, k]. For callers that split work themselves.
    public static func linearRows(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                                  _ out: UnsafeMutablePointer<Float>, m: Int, n: Int, k: Int, ldOut: Int, activation: EpilogueActivation) {
        var beta: Float = 0
        if let bias {
            for r in 0..<m { (out + r * ldOut).update(from: bias, count: n) }
            beta = 1
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(m), Int32(n), Int32(k), 1, x, Int32(k), w, Int32(k), beta, out, Int32(ldOut))
        guard activation != .none else { return }
        var r = 0
        while r < m {
            epilogue(out, rows: r..<min(m, r + 16), cols: 0..<n, ld: ldOut, bias: nil, activation)
            r += 16
        }
    }

    /// y = act(y + bias) on a block of rows × cols of a row-major matrix with leading dimension ld.
    @inline(__always)
    public static func epilogue(_ y: UnsafeMutablePointer<Float>, rows: Range<Int>, cols: Range<Int>, ld: Int,
                                bias: UnsafePointer<Float>?, _ activation: EpilogueActivation) {
        for r in rows {
            let row = y + r * ld
            if let bias {
                for j in cols { row[j] += bias[j] }
            }
            switch activation {
            case .none: break
            case .gelu:
                for j in cols { let v = row[j]; row[j] = 0.5 * v * (1 + fastErf(v * 0.70710678118654752)) }
            case .geluTanh:
                for j in cols { let v = row[j]; row[j] = 0.5 * v * (1 + tanhf(0.79788456080286536 * (v + 0.044715 * v * v * v))) }
            case .silu:
                for j in cols { let v = row[j]; row[j] = v / (1 + expf(-v)) }
            }
        }
    }

    /// out[rows, i] = silu(x[rows, i]) · x[rows, half + i] for x[rows, 2·half].
    public static func swiglu(_ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, rows: Int, half: Int, pool: ThreadPool) {
        pool.parallelFor(rows * half, minimumPerThread: 4096) { range in
            var idx = range.lowerBound
            while idx < range.upperBound {
                let r = idx / half, c = idx % half
                let end = min(range.upperBound - idx, half - c)
                let g = x + r * 2 * half + c, u = g + half, o = out + idx
                for j in 0..<end { let v = g[j]; o[j] = v / (1 + expf(-v)) * u[j] }
                idx += end
            }
        }
    }

    /// sum = a + b; out = LayerNorm(sum) over rows of length cols.
    public static func addLayerNorm(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, gamma: UnsafePointer<Float>,
                                    beta: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, sum: UnsafeMutablePointer<Float>,
                                    rows: Int, cols: Int, eps: Float, pool: ThreadPool) {
        pool.parallelFor(rows, minimumPerThread: 8) { range in
            for r in range {
                let s = sum + r * cols, ra = a + r * cols, rb = b + r * cols, o = out + r * cols
                var total: Float = 0
                for j in 0..<cols { let v = ra[j] + rb[j]; s[j] = v; total += v }
                let mean = total / Float(cols)
                var sq: Float = 0
                for j in 0..<cols { let d = s[j] - mean; sq += d * d }
                let inv = 1 / (sq / Float(cols) + eps).squareRoot()
                for j in 0..<cols { o[j] = (s[j] - mean) * inv * gamma[j] + beta[j] }
            }
        }
    }

    /// sum = a + b; out = RMSNorm(sum) over rows of length cols.
    public static func addRMSNorm(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                                  out: UnsafeMutablePointer<Float>, sum: UnsafeMutablePointer<Float>,
                                  rows: Int, cols: Int, eps: Float, pool: ThreadPool) {
        pool.parallelFor(rows, minimumPerThread: 8) { range in
            for r in range {
                let s = sum + r * cols, ra = a + r * cols, rb = b + r * cols, o = out + r * cols
                var ss: Float = 0
                for j in 0..<cols { let v = ra[j] + rb[j]; s[j] = v; ss += v * v }
                let inv = 1 / (ss / Float(cols) + eps).squareRoot()
                for j in 0..<cols { o[j] = s[j] * inv * weight[j] }
            }
        }
    }
}

/// Float weights w[n, k] re-laid once as the panels ingot_f32_gemm_panels reads:
/// [⌈n/16⌉, k, 16], zero columns past n.
public final class PackedFloatWeights: @unchecked Sendable {
    public let n: Int
    public let k: Int
    public let panels: UnsafeMutablePointer<Float>

    public var panelCount: Int { (n + 15) / 16 }

    public init(_ w: UnsafePointer<Float>, n: Int, k: Int) {
        self.n = n
        self.k = k
        panels = .allocate(capacity: max(1, (n + 15) / 16 * 16 * k))
        ingot_f32_pack_panels(w, Int64(n), Int64(k), panels)
    }

    deinit { panels.deallocate() }
}
