// SparseKernels: `linear_sparse` — out[m, n] = act(x[m, k] · Wᵀ + bias) with W[n, k] in CSR
// (values, Int16 columns, Int32 row offsets). One token (decode) reads x directly; more
// tokens transpose x to [k, m] so every nonzero meets m contiguous inputs, and the [n, m]
// result is transposed back through the bias/activation epilogue. Rows are split between
// threads by equal counts of nonzeros. It does not validate the CSR arrays (the runtime
// does, once, when it plans the graph) and has no dense fallback.

import CKernels

#if canImport(Glibc)
import Glibc
#endif

extension Kernels {
    /// Scratch floats `linearSparse` needs for m tokens: none for one token, else x and y transposed.
    public static func sparseScratchFloats(m: Int, n: Int, k: Int) -> Int { m == 1 ? 0 : m * k + m * n }

    public static func linearSparse(_ x: UnsafePointer<Float>, values: UnsafePointer<Float>, columns: UnsafePointer<Int16>,
                                    rowOffsets: UnsafePointer<Int32>, bias: UnsafePointer<Float>?, _ out: UnsafeMutablePointer<Float>,
                                    m: Int, n: Int, k: Int, activation: EpilogueActivation, scratch: UnsafeMutablePointer<Float>?,
                                    pool: ThreadPool) {
        let chunks = balancedRowChunks(rowOffsets, rows: n, parts: pool.count * 4)
        if m == 1 {
            pool.parallelFor(chunks.count) { range in
                for c in range {
                    let rows = chunks[c]
                    ingot_spmm_csr_rows(x, 1, values, columns, rowOffsets, Int64(rows.lowerBound), Int64(rows.upperBound), out)
                    epilogue(out, rows: 0..<1, cols: rows, ld: n, bias: bias, activation)
                }
            }
            return
        }
        let xT = scratch!, yT = scratch! + m * k
        pool.parallelFor(k, minimumPerThread: 16) { cols in
            for p in cols { for t in 0..<m { xT[p * m + t] = x[t * k + p] } }
        }
        pool.parallelFor(chunks.count) { range in
            for c in range {
                let rows = chunks[c]
                ingot_spmm_csr_rows(xT, Int64(m), values, columns, rowOffsets, Int64(rows.lowerBound), Int64(rows.upperBound), yT)
            }
        }
        pool.parallelFor(m) { tokens in
            for t in tokens { for j in 0..<n { out[t * n + j] = yT[j * m + t] } }
            epilogue(out, rows: tokens, cols: 0..<n, ld: n, bias: bias, activation)
        }
    }

    /// Row ranges with about equal nonzeros each (at most `parts`, none empty).
    static func balancedRowChunks(_ rowOffsets: UnsafePointer<Int32>, rows: Int, parts: Int) -> [Range<Int>] {
        let total = Int(rowOffsets[rows]), per = max(1, (total + parts - 1) / max(parts, 1))
        var chunks: [Range<Int>] = []
        var start = 0
        for r in 0..<rows where Int(rowOffsets[r + 1]) - Int(rowOffsets[start]) >= per || r == rows - 1 {
            chunks.append(start..<r + 1)
            start = r + 1
        }
        return chunks
    }

    /// Forces the portable C path (tests compare it with AVX2).
    public static func setSparsePortable(_ on: Bool) { ingot_sparse_set_portable(on ? 1 : 0) }
}

extension ReferenceKernels {
    /// The plain twin of `Kernels.linearSparse`, in Double.
    public static func linearSparse(_ x: UnsafePointer<Float>, values: UnsafePointer<Float>, columns: UnsafePointer<Int16>,
                                    rowOffsets: UnsafePointer<Int32>, bias: UnsafePointer<Float>?, _ out: UnsafeMutablePointer<Float>,
                                    m: Int, n: Int, k: Int, activation: EpilogueActivation) {
        for t in 0..<m {
            for j in 0..<n {
                var s = 0.0
                for e in Int(rowOffsets[j])..<Int(rowOffsets[j + 1]) { s += Double(values[e]) * Double(x[t * k + Int(columns[e])]) }
                if let bias { s += Double(bias[j]) }
                out[t * n + j] = Float(activate(s, activation))
            }
        }
    }
}
