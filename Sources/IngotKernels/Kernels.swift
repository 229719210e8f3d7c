// Kernels: the fast float32 kernels the runtime executes, row-major on raw pointers, split
// over a ThreadPool where the work is large enough. Each has a plain twin in
// ReferenceKernels.swift that tests compare it with. Shapes are trusted (callers validate).

import CBLAS
import CKernels

#if canImport(Glibc)
import Glibc
#endif

/// A relative attention bias: table [buckets, heads] indexed by Kernels.relativePositionBucket.
public struct RelativeBias {
    public var table: UnsafePointer<Float>
    public var buckets: Int
    public var maxDistance: Int

    public init(table: UnsafePointer<Float>, buckets: Int, maxDistance: Int) {
        self.table = table
        self.buckets = buckets
        self.maxDistance = maxDistance
    }
}

public enum Kernels {
    /// out[m, n] = a[m, k] · (transposeB ? b[n, k]ᵀ : b[k, n]); single-threaded BLAS calls split over
    /// the pool by rows of `a`, or by output columns when m is small (decode: one GEMV per slice).
    public static func matmul(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>,
                              m: Int, n: Int, k: Int, transposeB: Bool, pool: ThreadPool) {
        if m == 1 && transposeB {
            pool.parallelFor(n, minimumPerThread: 64) { cols in
                cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(cols.count), Int32(k), 1, b + cols.lowerBound * k, Int32(k),
                            a, 1, 0, out + cols.lowerBound, 1)
            }
            return
        }
        if m >= 4 * pool.count {
            pool.parallelFor(m, minimumPerThread: 4) { rows in
                cblas_sgemm(CblasRowMajor, CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                            Int32(rows.count), Int32(n), Int32(k), 1, a + rows.lowerBound * k, Int32(k),
                            b, transposeB ? Int32(k) : Int32(n), 0, out + rows.lowerBound * n, Int32(n))
            }
            return
        }
        pool.parallelFor(n, minimumPerThread: 64) { cols in
            let bSlice = transposeB ? b + cols.lowerBound * k : b + cols.lowerBound
            cblas_sgemm(CblasRowMajor, CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                        Int32(m), Int32(cols.count), Int32(k), 1, a, Int32(k),
                        bSlice, transposeB ? Int32(k) : Int32(n), 0, out + cols.lowerBound, Int32(n))
        }
    }

    /// out[i, m, n] = a[i, m, k] · (transposeB ? b[i, n, k]ᵀ : b[i, k, n]) for i in 0..<batch (the
    /// batch is every leading dimension flattened). With at least as many products as threads,
    /// each thread runs whole products with single-threaded BLAS; otherwise each product is split
    /// as in `matmul`.
    public static func batchedMatmul(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>,
                                     batch: Int, m: Int, n: Int, k: Int, transposeB: Bool, pool: ThreadPool) {
        guard batch >= pool.count else {
            for i in 0..<batch {
                matmul(a + i * m * k, b + i * k * n, out + i * m * n, m: m, n: n, k: k, transposeB: transposeB, pool: pool)
            }
            return
        }
        pool.parallelFor(batch) { range in
            for i in range {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                            Int32(m), Int32(n), Int32(k), 1, a + i * m * k, Int32(k),
                            b + i * k * n, transposeB ? Int32(k) : Int32(n), 0, out + i * m * n, Int32(n))
            }
        }
    }

    /// erf(x) as x·P(x²)/Q(x²) on x clamped to [−4, 4] (a rational fit; |error| < 1e-6 vs erf,
    /// checked in tests); no calls, so loops over it vectorize.
    @inline(__always)
    public static func fastErf(_ x: Float) -> Float {
        let c = min(max(x, -4), 4)
        let x2 = c * c
        var p: Float = -2.72614225801306e-10
        p = p * x2 + 2.77068142495902e-08
        p = p * x2 - 2.10102402082508e-06
        p = p * x2 - 5.69250639462346e-05
        p = p * x2 - 7.34990630326855e-04
        p = p * x2 - 2.95459980854025e-03
        p = p * x2 - 1.60960333262415e-02
        var q: Float = -1.45660718464996e-05
        q = q * x2 - 2.13374055278905e-04
        q = q * x2 - 1.68282697438203e-03
        q = q * x2 - 7.37332916720468e-03
        q = q * x2 - 1.42647390514189e-02
        return c * p / q
    }

    /// out = 0.5·x·(1 + erf(x/√2)), n elements.
    public static func geluErf(_ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, count n: Int, pool: ThreadPool) {
        pool.parallelFor(n, minimumPerThread: 4096) { r in
            for i in r { out[i] = 0.5 * x[i] * (1 + fastErf(x[i] * 0.70710678118654752)) }
        }
    }

    /// out = 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), n elements.
    public static func geluTanh(_ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, count n: Int, pool: ThreadPool) {
        pool.parallelFor(n, minimumPerThread: 4096) { r in
            for i in r {
                let v = x[i]
                out[i] = 0.5 * v * (1 + tanhf(0.79788456080286536 * (v + 0.044715 * v * v * v)))
            }
        }
    }

    /// out = x·σ(x), n elements.
    public static func silu(_ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, count n: Int, pool: ThreadPool) {
        pool.parallelFor(n, minimumPerThread: 4096) { r in
            for i in r { out[i] = x[i] / (1 + expf(-x[i])) }
        }
    }

    /// LayerNorm over the last axis of x[rows, cols]: two passes in Float (mean, then variance of deviations).
    public static func layerNorm(_ x: UnsafePointer<Float>, gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>,
                                 _ out: UnsafeMutablePointer<Float>, rows: Int, cols: Int, eps: Float, pool: ThreadPool) {
        pool.parallelFor(rows, minimumPerThread: 8) { range in
            for r in range {
                let row = x + r * cols, o = out + r * cols
                var sum: Float = 0
                for j in 0..<cols { sum += row[j] }
                let mean = sum / Float(cols)
                var sq: Float = 0
                for j in 0..<cols { let d = row[j] - mean; sq += d * d }
                let inv = 1 / (sq / Float(cols) + eps).squareRoot()
                for j in 0..<cols { o[j] = (row[j] - mean) * inv * gamma[j] + beta[j] }
            }
        }
    }

    /// RMSNorm over the last axis of x[rows, cols].
    public static func rmsNorm(_ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>,
                               rows: Int, cols: Int, eps: Float, pool: ThreadPool) {
        pool.parallelFor(rows, minimumPerThread: 8) { range in
            for r in range {
                let row = x + r * cols, o = out + r * cols
                var ss: Float = 0
                for j in 0..<cols { ss += row[j] * row[j] }
                let inv = 1 / (ss / Float(cols) + eps).squareRoot()
                for j in 0..<cols { o[j] = row[j] * inv * weight[j] }
            }
        }
    }

    /// e^x for x ≤ 0 (softmax arguments after subtracting the row max), one value: lane 0 of
    /// the 8-lane form below (the tails of softmax rows use it).
    @inline(__always)
    public static func fastExpNonPositive(_ x: Float) -> Float {
        fastExpNonPositive(SIMD8(repeating: x))[0]
    }

    /// e^x for x ≤ 0 on 8 lanes: 2^(x·log₂e) split into a rounded integer n and f ∈ [−½, ½],
    /// 2^f by a degree-6 polynomial, 2^n through the exponent bits (n sits in the low mantissa
    /// bits of t + 1.5·2^23 once t is rounded there). Relative error < 1e-6 for x ≥ −10 and
    /// < 5e-6 down to −87 (rounding of x·log₂e dominates; checked in tests). Below −87 it
    /// returns 0. Only arithmetic, compares and bit casts.
    @inline(__always)
    public static func fastExpNonPositive(_ x: SIMD8<Float>) -> SIMD8<Float> {
        // (replacing(with:where:) rather than pointwiseMax, which the optimizer leaves generic.)
        let t = x.replacing(with: -87, where: x .< -87) * 1.44269504088896341
        let shifted = t + 12582912
        let n = shifted - 12582912
        let f = t - n
        var p = SIMD8<Float>(repeating: 1.535336188319500e-4)
        p = p * f + 1.339887440266574e-3
        p = p * f + 9.618437357674640e-3
        p = p * f + 5.550332471162809e-2
        p = p * f + 2.402264791363012e-1
        p = p * f + 6.931472028550421e-1
        p = p * f + 1
        let bits = unsafeBitCast(shifted, to: SIMD8<UInt32>.self)
        let exponent = (bits &- Float(12582912).bitPattern &+ 127) &<< 23
        return (p * unsafeBitCast(exponent, to: SIMD8<Float>.self)).replacing(with: 0, where: x .< -87)
    }

    /// Stable softmax of one row in place; a row of all −∞ becomes zeros. Eight lanes at a
    /// time with eight partial sums, the tail one by one.
    public static func softmaxRow(_ row: UnsafeMutablePointer<Float>, _ n: Int) {
        let raw = UnsafeMutableRawPointer(row)
        var m8 = SIMD8<Float>(repeating: -.infinity)
        var j = 0
        while j + 8 <= n {
            let v = raw.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self)
            m8.replace(with: v, where: v .> m8)
            j += 8
        }
        var m = m8.max()
        while j < n { m = max(m, row[j]); j += 1 }
        guard m > -Float.infinity else {
            for j in 0..<n { row[j] = 0 }
            return
        }
        var sum8 = SIMD8<Float>.zero
        j = 0
        while j + 8 <= n {
            let e = fastExpNonPositive(raw.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self) - m)
            raw.storeBytes(of: e, toByteOffset: j * 4, as: SIMD8<Float>.self)
            sum8 += e
            j += 8
        }
        var sum = sum8.sum()
        while j < n {
            let e = fastExpNonPositive(row[j] - m)
            row[j] = e
            sum += e
            j += 1
        }
        let inv = 1 / sum
        for j in 0..<n { row[j] *= inv }
    }

    /// Attention for q [B, S, H·D] over k, v [B, Sk, Hkv·D] (query head h reads kv head
    /// h / (H / Hkv)), optional key mask [B, Sk] (0 = padding), optional causal mask with the
    /// queries at positions offset..<offset+S against keys 0..<Sk, and with `window` > 0 the
    /// query at position p seeing only keys j with p − j < window (causal: p − window + 1 … p;
    /// not causal: the symmetric p − window + 1 … p + window − 1); out [B, S, H·D].
    /// Per (b, h, block of queries): scores = scale·Q·Kᵀ over the keys the block can see,
    /// masked softmax, P·V. Memory is O(block · Sk), not O(S · Sk).
    /// Batch invariance: keys after a row's last unmasked key (right padding) are not part of
    /// its softmax or its P·V at all, and both products are the row-invariant kernels of
    /// ingot_f32rows.h, so a sequence gets the same bits alone and in any padded batch. Only a
    /// decoding step (causal, one query) takes BLAS GEMVs, which need no copy of the cache.
    /// `relative`: a bias table [buckets, H] added to the scaled score of query position p and
    /// key j at row relativePositionBucket(p − j) (MPNet / T5 relative attention bias).
    public static func attention(q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                                 keyMask: UnsafePointer<Int32>?, out: UnsafeMutablePointer<Float>,
                                 batch: Int, seq: Int, keySeq: Int, heads H: Int, kvHeads KV: Int, headDim D: Int,
                                 scale: Float, causal: Bool, queryOffset: Int, window: Int = 0,
                                 relative: RelativeBias? = nil, pool: ThreadPool) {
        let group = H / KV
        // Bucket of query position p and key j at [p − j + keySeq − 1].
        let buckets = relative.map { r in
            (0..<(queryOffset + seq + keySeq - 1)).map { Int32(relativePositionBucket($0 - (keySeq - 1), buckets: r.buckets, maxDistance: r.maxDistance)) }
        } ?? []
        let block = min(seq, causal ? attentionQueryBlock / 2 : attentionQueryBlock)
        let blocks = (seq + block - 1) / block
        pool.parallelFor(batch * H * blocks) { work in
            let scores = UnsafeMutablePointer<Float>.allocate(capacity: block * keySeq)
            let bias = UnsafeMutablePointer<Float>.allocate(capacity: keySeq)
            // Kᵀ [D, keys] of the current (batch, kv head) for the a·b kernel.
            let keysT = UnsafeMutablePointer<Float>.allocate(capacity: D * keySeq)
            defer { scores.deallocate(); bias.deallocate(); keysT.deallocate() }
            var lastBatch = -1, transposed = (batch: -1, kvHead: -1, keys: -1)
            // Keys up to and including the batch row's last unmasked one.
            var usedKeys = keySeq
            for item in work {
                let b = item / (H * blocks), h = (item / blocks) % H, qb = item % blocks, g = h / group
                if b != lastBatch {
                    usedKeys = keySeq
                    if let keyMask {
                        while usedKeys > 0 && keyMask[b * keySeq + usedKeys - 1] == 0 { usedKeys -= 1 }
                        for j in 0..<usedKeys { bias[j] = keyMask[b * keySeq + j] == 0 ? -Float.infinity : 0 }
                    } else {
                        for j in 0..<usedKeys { bias[j] = 0 }
                    }
                    lastBatch = b
                }
                let q0 = qb * block, rows = min(block, seq - q0)
                // Keys a causal block can see: up to the last query's position.
                let keys = causal ? min(usedKeys, queryOffset + q0 + rows) : usedKeys
                let qRow = q + (b * seq + q0) * H * D + h * D, kBase = k + b * keySeq * KV * D + g * D
                let vBase = v + b * keySeq * KV * D + g * D, oRow = out + (b * seq + q0) * H * D + h * D
                if keys == 0 {
                    for i in 0..<rows { (oRow + i * H * D).update(repeating: 0, count: D) }
                    continue
                }
                let decoding = causal && rows == 1
                if decoding {
                    // One query over the cache: GEMV avoids sgemm's per-call packing (the M = 1 trap).
                    cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(keys), Int32(D), scale, kBase, Int32(KV * D), qRow, 1, 0, scores, 1)
                } else {
                    if transposed != (b, g, keys) {
                        for j in 0..<keys {
                            let kr = kBase + j * KV * D
                            for d in 0..<D { keysT[d * keys + j] = kr[d] }
                        }
                        transposed = (b, g, keys)
                    }
                    ingot_f32_gemm_nn(qRow, Int64(H * D), Int64(rows), keysT, Int64(keys), Int64(D), Int64(keys), scale, scores, Int64(keys))
                }
                for i in 0..<rows {
                    let row = scores + i * keys
                    let position = queryOffset + q0 + i
                    var visible = causal ? min(keys, position + 1) : keys
                    if window > 0 && !causal { visible = min(visible, position + window) }
                    let first = window > 0 ? min(max(0, position + 1 - window), visible) : 0
                    for j in 0..<first { row[j] = -Float.infinity }
                    if let relative {
                        let p = queryOffset + q0 + i + keySeq - 1
                        for j in first..<visible { row[j] += relative.table[Int(buckets[p - j]) * H + h] + bias[j] }
                    } else {
                        for j in first..<visible { row[j] += bias[j] }
                    }
                    for j in visible..<keys { row[j] = -Float.infinity }
                    softmaxRow(row, keys)
                }
                if decoding {
                    cblas_sgemv(CblasRowMajor, CblasTrans, Int32(keys), Int32(D), 1, vBase, Int32(KV * D), scores, 1, 0, oRow, 1)
                } else {
                    ingot_f32_gemm_nn(scores, Int64(keys), Int64(rows), vBase, Int64(KV * D), Int64(keys), Int64(D), 1, oRow, Int64(H * D))
                }
            }
        }
    }

    /// Bucket of a relative position n = query position − key position, as MPNet and T5 define
    /// it: keys after the query take the upper half of the buckets; within a half, distances
    /// below a quarter of the buckets are exact, larger ones logarithmic up to `maxDistance`
    /// (computed in float32 as PyTorch does), capped at the half's last bucket.
    public static func relativePositionBucket(_ n: Int, buckets: Int, maxDistance: Int) -> Int {
        let half = buckets / 2, exact = half / 2
        let base = n < 0 ? half : 0
        let m = abs(n)
        if m < exact { return base + m }
        let ratio = Float(log(Double(maxDistance) / Double(exact)))
        let scaled = logf(Float(m) / Float(exact)) / ratio * Float(half - exact)
        return base + min(exact + Int(scaled), half - 1)
    }

    /// Queries per attention tile: scores are [block, keys] per (batch, head, tile), never
    /// [seq, keys]. Causal attention uses half as many so tiles skip the keys they cannot see.
    public static let attentionQueryBlock = 128

    /// Rotary embedding of x[tokens, heads·headDim] at `positions`; `interleaved` rotates pairs
    /// (2i, 2i+1), otherwise (i, i + headDim/2). Angles are computed in Double.
    public static func rope(_ x: UnsafePointer<Float>, positions: UnsafePointer<Int32>, _ out: UnsafeMutablePointer<Float>,
                            tokens: Int, heads: Int, headDim: Int, theta: Float, interleaved: Bool) {
        let half = headDim / 2
        var inv = [Double](repeating: 0, count: half)
        for i in 0..<half { inv[i] = 1 / pow(Double(theta), Double(2 * i) / Double(headDim)) }
        var cosines = [Float](repeating: 0, count: half), sines = [Float](repeating: 0, count: half)
        for t in 0..<tokens {
            let pos = Double(positions[t])
            for i in 0..<half {
                cosines[i] = Float(cos(pos * inv[i]))
                sines[i] = Float(sin(pos * inv[i]))
            }
            for h in 0..<heads {
                let base = (t * heads + h) * headDim
                for i in 0..<half {
                    let ia = interleaved ? base + 2 * i : base + i
                    let ib = interleaved ? base + 2 * i + 1 : base + i + half
                    let a = x[ia], b = x[ib]
                    out[ia] = a * cosines[i] - b * sines[i]
                    out[ib] = a * sines[i] + b * cosines[i]
                }
            }
        }
    }

    /// out[b, :] = mean of x[b, s, :] over s with mask[b, s] ≠ 0.
    public static func meanPool(_ x: UnsafePointer<Float>, mask: UnsafePointer<Int32>, _ out: UnsafeMutablePointer<Float>,
                                batch: Int, seq: Int, hidden: Int) {
        for b in 0..<batch {
            let o = out + b * hidden
            for d in 0..<hidden { o[d] = 0 }
            var count: Float = 0
            for s in 0..<seq where mask[b * seq + s] != 0 {
                count += 1
                let row = x + (b * seq + s) * hidden
                for d in 0..<hidden { o[d] += row[d] }
            }
            let inv = 1 / max(count, 1e-9)
            for d in 0..<hidden { o[d] *= inv }
        }
    }

    /// Rows of x[rows, cols] divided by max(‖row‖₂, eps).
    public static func l2Normalize(_ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, rows: Int, cols: Int, eps: Float) {
        for r in 0..<rows {
            var ss: Float = 0
            for j in 0..<cols { ss += x[r * cols + j] * x[r * cols + j] }
            let inv = 1 / max(ss.squareRoot(), eps)
            for j in 0..<cols { out[r * cols + j] = x[r * cols + j] * inv }
        }
    }
}
