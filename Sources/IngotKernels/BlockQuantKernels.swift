// BlockQuantKernels: float rows × block-quantized weights (GGML q4_0 … q6_K kept as stored,
// Formats/ingot-v1.md "Block-quantized dtypes"), y[M, N] = x[M, K] · Wᵀ with W [N, K]. Few rows
// (decode) run the fused decode-and-dot kernel (CKernels/blockq.c) over slices of N across the
// pool; many rows decode 256-row tiles of W to float and run sgemm on each. The plain twin
// (BlockQuantReferenceKernels) decodes each row with IngotCore's BlockQuant and sums in order.
// It does not quantize activations.

import CKernels
import IngotCore

public enum BlockQuantKernels {
    /// Rows of x from which the tiled sgemm path is taken (prefill); fewer stream the fused GEMV.
    public static let gemmRows = 4
    /// Weight rows one thread decodes at a time in the sgemm path.
    public static let tile = 256

    static func align(_ n: Int) -> Int { (n + 63) / 64 * 64 }

    /// Scratch bytes `linear` needs for m rows of k inputs on `pool`: per thread one decoded tile when m ≥ gemmRows.
    public static func scratchBytes(m: Int, k: Int, pool: ThreadPool) -> Int {
        m >= gemmRows ? pool.count * align(tile * k * 4) : 0
    }

    /// out[m, n] = act(x[m, k] · Wᵀ + bias). k must be a multiple of the block (callers check);
    /// `scratch` holds `scratchBytes(m:k:pool:)` bytes.
    public static func linear(_ x: UnsafePointer<Float>, _ w: UnsafeRawPointer, dtype: DType, bias: UnsafePointer<Float>?,
                              _ out: UnsafeMutablePointer<Float>, m: Int, n: Int, k: Int, activation: EpilogueActivation,
                              scratch: UnsafeMutableRawPointer?, pool: ThreadPool) {
        let type = Int32(dtype.rawValue)
        let bytes = w.assumingMemoryBound(to: UInt8.self)
        if m >= gemmRows, let scratch {
            let tiles = (n + tile - 1) / tile
            let stride = align(tile * k * 4)
            pool.run { p in
                let buffer = (scratch + p * stride).assumingMemoryBound(to: Float.self)
                var t = p
                while t < tiles {
                    let n0 = t * tile, n1 = min(n, n0 + tile)
                    ingot_bq_dequantize_rows(type, bytes, Int64(k), Int64(n0), Int64(n1), buffer)
                    Kernels.linearRows(x, buffer, bias: bias.map { $0 + n0 }, out + n0, m: m, n: n1 - n0, k: k, ldOut: n, activation: activation)
                    t += pool.count
                }
            }
            return
        }
        let slices = (n + 15) / 16
        pool.parallelFor(slices, minimumPerThread: 4) { s in
            let n0 = s.lowerBound * 16, n1 = min(n, s.upperBound * 16)
            ingot_bq_gemv(type, x, Int64(m), Int64(k), bytes, bias, out, Int64(n), Int64(n0), Int64(n1))
            if activation != .none { Kernels.epilogue(out, rows: 0..<m, cols: n0..<n1, ld: n, bias: nil, activation) }
        }
    }

    /// Rows r0..<r1 of W [n, k] decoded into out[(r − r0)·k + t] (the fast decoder; bits equal the twin's).
    public static func dequantizeRows(_ w: UnsafeRawPointer, dtype: DType, k: Int, rows: Range<Int>, _ out: UnsafeMutablePointer<Float>) {
        ingot_bq_dequantize_rows(Int32(dtype.rawValue), w.assumingMemoryBound(to: UInt8.self), Int64(k),
                                 Int64(rows.lowerBound), Int64(rows.upperBound), out)
    }

    /// The fused GEMV alone (what `linear` runs for m < gemmRows), over columns n0..<n1.
    public static func gemv(_ x: UnsafePointer<Float>, _ w: UnsafeRawPointer, dtype: DType, bias: UnsafePointer<Float>?,
                            _ out: UnsafeMutablePointer<Float>, m: Int, n: Int, k: Int, columns: Range<Int>) {
        ingot_bq_gemv(Int32(dtype.rawValue), x, Int64(m), Int64(k), w.assumingMemoryBound(to: UInt8.self), bias, out, Int64(n),
                      Int64(columns.lowerBound), Int64(columns.upperBound))
    }

    /// Elements per block as the C kernels know it (0 for a type they do not run).
    public static func blockSize(_ dtype: DType) -> Int { Int(ingot_bq_block_size(Int32(dtype.rawValue))) }
    /// Bytes per block as the C kernels know it (0 for a type they do not run).
    public static func blockBytes(_ dtype: DType) -> Int { Int(ingot_bq_block_bytes(Int32(dtype.rawValue))) }

    /// The instruction path the block kernels run: "portable", "avx2" or "avx512".
    public static var pathName: String {
        switch ingot_bq_path() {
        case Int32(INGOT_BQ_PATH_AVX512): return "avx512"
        case Int32(INGOT_BQ_PATH_AVX2): return "avx2"
        default: return "portable"
        }
    }
}

/// Plain twins of the block kernels: decode with BlockQuant (the reference decoder), then the
/// float dot in order — the portable C path's arithmetic, so it matches that path bit for bit.
public enum BlockQuantReferenceKernels {
    /// W [n, k] of `dtype` as floats.
    public static func dequantize(_ w: [UInt8], dtype: DType, n: Int, k: Int) -> [Float] {
        w.withUnsafeBytes { BlockQuant.floats(dtype, $0, elements: n * k) }
    }

    /// y[m, n] = x[m, k] · Wᵀ (+ bias), each weight row decoded then summed in order.
    public static func linear(x: [Float], m: Int, k: Int, w: [UInt8], dtype: DType, n: Int, bias: [Float]?) -> [Float] {
        let weights = dequantize(w, dtype: dtype, n: n, k: k)
        var y = [Float](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var s: Float = 0
                for t in 0..<k { s += weights[j * k + t] * x[i * k + t] }
                y[i * n + j] = bias.map { s + $0[j] } ?? s
            }
        }
        return y
    }
}
