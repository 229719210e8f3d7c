// RuntimeOps: the executor's op implementations on raw float32 buffers, row-major.
// Straightforward loops plus OpenBLAS for matmul; the fast kernels of IngotKernels replace
// these one by one. Shapes are trusted (the plan resolved and verified them).

import CBLAS
import IngotCore
import IngotIR
import IngotKernels

#if canImport(Glibc)
import Glibc
#endif

enum RuntimeOps {
    static func gather(table: UnsafePointer<Float>, rows: Int, width: Int, ids: UnsafePointer<Int32>, count: Int,
                       out: UnsafeMutablePointer<Float>, tableName: String) throws {
        for i in 0..<count {
            let id = Int(ids[i])
            guard id >= 0, id < rows else {
                throw IngotError(.shape, location: "gather from '\(tableName)'", "id \(id) at position \(i) is outside 0..<\(rows)")
            }
            (out + i * width).update(from: table + id * width, count: width)
        }
    }

    /// out[m, n] = a[m, k] · (transposeB ? b[n, k]ᵀ : b[k, n]), split over the pool: by rows
    /// of `a` when there are enough, else by output columns (decode steps: one GEMV per slice).
    static func matmul(a: UnsafePointer<Float>, b: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>,
                       m: Int, n: Int, k: Int, transposeB: Bool) {
        let pool = Threads.pool
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

    static func apply(_ kind: BinaryKind, _ x: Float, _ y: Float) -> Float {
        switch kind {
        case .add: return x + y
        case .sub: return x - y
        case .mul: return x * y
        case .div: return x / y
        }
    }

    static func binary(_ kind: BinaryKind, a: UnsafePointer<Float>, aShape: [Int], b: UnsafePointer<Float>, bShape: [Int],
                       out: UnsafeMutablePointer<Float>, outShape: [Int]) {
        let count = outShape.reduce(1, *)
        let aCount = aShape.reduce(1, *), bCount = bShape.reduce(1, *)
        if aCount == count && bCount == count {
            switch kind {
            case .add: for i in 0..<count { out[i] = a[i] + b[i] }
            case .sub: for i in 0..<count { out[i] = a[i] - b[i] }
            case .mul: for i in 0..<count { out[i] = a[i] * b[i] }
            case .div: for i in 0..<count { out[i] = a[i] / b[i] }
            }
            return
        }
        if aCount == count, bCount > 0, isTrailing(bShape, of: outShape) {
            // b repeats along the leading dimensions (a bias row).
            var i = 0
            while i < count {
                for j in 0..<bCount { out[i + j] = apply(kind, a[i + j], b[j]) }
                i += bCount
            }
            return
        }
        // General broadcasting by strides.
        let rank = outShape.count
        func strides(_ s: [Int]) -> [Int] {
            let padded = [Int](repeating: 1, count: rank - s.count) + s
            var st = [Int](repeating: 0, count: rank)
            var acc = 1
            for d in stride(from: rank - 1, through: 0, by: -1) {
                st[d] = padded[d] == 1 ? 0 : acc
                acc *= padded[d]
            }
            return st
        }
        let sa = strides(aShape), sb = strides(bShape)
        var index = [Int](repeating: 0, count: rank)
        for i in 0..<count {
            var ia = 0, ib = 0
            for d in 0..<rank { ia += index[d] * sa[d]; ib += index[d] * sb[d] }
            out[i] = apply(kind, a[ia], b[ib])
            var d = rank - 1
            while d >= 0 {
                index[d] += 1
                if index[d] < outShape[d] { break }
                index[d] = 0
                d -= 1
            }
        }
    }

    /// True when `s` (after dropping leading 1s) equals the trailing dimensions of `full`.
    static func isTrailing(_ s: [Int], of full: [Int]) -> Bool {
        let trimmed = Array(s.drop { $0 == 1 })
        guard trimmed.count <= full.count else { return false }
        return Array(full.suffix(trimmed.count)) == trimmed
    }

    static func gelu(_ approx: GELUApproximation, x: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, count: Int) {
        Threads.pool.parallelFor(count, minimumPerThread: 4096) { r in
            switch approx {
            case .erf:
                for i in r { out[i] = 0.5 * x[i] * (1 + erff(x[i] * 0.70710678118654752)) }
            case .tanh:
                for i in r {
                    let v = x[i]
                    out[i] = 0.5 * v * (1 + tanhf(0.79788456080286536 * (v + 0.044715 * v * v * v)))
                }
            }
        }
    }

    static func silu(x: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { out[i] = x[i] / (1 + expf(-x[i])) }
    }

    static func layerNorm(x: UnsafePointer<Float>, gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>,
                          out: UnsafeMutablePointer<Float>, rows: Int, cols: Int, eps: Float) {
        Threads.pool.parallelFor(rows, minimumPerThread: 8) { range in
          for r in range {
            let row = x + r * cols, o = out + r * cols
            var mean = 0.0
            for j in 0..<cols { mean += Double(row[j]) }
            mean /= Double(cols)
            var variance = 0.0
            for j in 0..<cols { let d = Double(row[j]) - mean; variance += d * d }
            variance /= Double(cols)
            let inv = Float(1 / (variance + Double(eps)).squareRoot())
            let m = Float(mean)
            for j in 0..<cols { o[j] = (row[j] - m) * inv * gamma[j] + beta[j] }
          }
        }
    }

    static func rmsNorm(x: UnsafePointer<Float>, weight: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>,
                        rows: Int, cols: Int, eps: Float) {
        for r in 0..<rows {
            let row = x + r * cols, o = out + r * cols
            var ss = 0.0
            for j in 0..<cols { ss += Double(row[j]) * Double(row[j]) }
            let inv = Float(1 / (ss / Double(cols) + Double(eps)).squareRoot())
            for j in 0..<cols { o[j] = row[j] * inv * weight[j] }
        }
    }

    static func rope(x: UnsafePointer<Float>, positions: UnsafePointer<Int32>, out: UnsafeMutablePointer<Float>,
                     tokens: Int, heads: Int, headDim: Int, theta: Float, style: RopeStyle) {
        let half = headDim / 2
        var inv = [Double](repeating: 0, count: half)
        for i in 0..<half { inv[i] = 1 / pow(Double(theta), Double(2 * i) / Double(headDim)) }
        for t in 0..<tokens {
            let pos = Double(positions[t])
            for h in 0..<heads {
                let base = (t * heads + h) * headDim
                for i in 0..<half {
                    let angle = pos * inv[i]
                    let c = Float(cos(angle)), s = Float(sin(angle))
                    let (ia, ib): (Int, Int)
                    switch style {
                    case .interleaved: (ia, ib) = (base + 2 * i, base + 2 * i + 1)
                    case .halfRotation: (ia, ib) = (base + i, base + i + half)
                    }
                    let a = x[ia], b = x[ib]
                    out[ia] = a * c - b * s
                    out[ib] = a * s + b * c
                }
            }
        }
    }

    static func softmax(x: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, shape: [Int], axis: Int) {
        let n = shape[axis]
        let inner = shape[(axis + 1)...].reduce(1, *)
        let outer = shape[..<axis].reduce(1, *)
        for o in 0..<outer {
            for i in 0..<inner {
                let base = o * n * inner + i
                var m = -Float.infinity
                for j in 0..<n { m = max(m, x[base + j * inner]) }
                var sum: Float = 0
                for j in 0..<n { let e = expf(x[base + j * inner] - m); out[base + j * inner] = e; sum += e }
                for j in 0..<n { out[base + j * inner] /= sum }
            }
        }
    }

    /// Encoder attention: q [B, S, H·D], k/v [B, Sk, Hkv·D], key mask [B, Sk] (1 keep).
    /// Per (batch row, head): scores [S, Sk] = scale·Q_h·K_gᵀ (sgemm on strided views),
    /// masked softmax by rows, out_h = P·V_g (sgemm writing the strided output view).
    static func attention(q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                          mask: UnsafePointer<Int32>?, out: UnsafeMutablePointer<Float>,
                          batch: Int, seq: Int, keySeq: Int, attrs: AttentionAttributes) {
        let H = attrs.heads, D = attrs.headDim, KV = attrs.kvHeads
        let group = H / KV
        Threads.pool.parallelFor(batch * H) { work in
          let scores = UnsafeMutablePointer<Float>.allocate(capacity: seq * keySeq)
          defer { scores.deallocate() }
          for item in work {
                let b = item / H, h = item % H
                let g = h / group
                let qh = q + b * seq * H * D + h * D
                let kg = k + b * keySeq * KV * D + g * D
                let vg = v + b * keySeq * KV * D + g * D
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(seq), Int32(keySeq), Int32(D),
                            attrs.scale, qh, Int32(H * D), kg, Int32(KV * D), 0, scores, Int32(keySeq))
                for i in 0..<seq {
                    let row = scores + i * keySeq
                    for j in 0..<keySeq {
                        let masked = (mask.map { $0[b * keySeq + j] == 0 } ?? false) || (attrs.causal && j > i)
                        if masked { row[j] = -Float.infinity }
                    }
                    softmaxRow(row, keySeq)
                }
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(seq), Int32(D), Int32(keySeq),
                            1, scores, Int32(keySeq), vg, Int32(KV * D), 0, out + b * seq * H * D + h * D, Int32(H * D))
          }
        }
    }

    /// Numerically stable softmax of one row in place; a row with every entry −∞ becomes zeros.
    static func softmaxRow(_ row: UnsafeMutablePointer<Float>, _ n: Int) {
        var m = -Float.infinity
        for j in 0..<n { m = max(m, row[j]) }
        guard m > -Float.infinity else {
            for j in 0..<n { row[j] = 0 }
            return
        }
        var sum: Float = 0
        for j in 0..<n {
            let e = expf(row[j] - m)
            row[j] = e
            sum += e
        }
        let inv = 1 / sum
        for j in 0..<n { row[j] *= inv }
    }

    /// Decoder attention over a KV cache: q [S, H·D] for positions past..<past+S, causal.
    static func cachedAttention(q: UnsafePointer<Float>, cache: LayerKVCache, out: UnsafeMutablePointer<Float>,
                                queries: Int, past: Int, attrs: AttentionAttributes) {
        let H = attrs.heads, D = attrs.headDim, KV = attrs.kvHeads
        let group = H / KV
        let total = past + queries
        Threads.pool.parallelFor(H) { heads in
          let scores = UnsafeMutablePointer<Float>.allocate(capacity: queries * total)
          defer { scores.deallocate() }
          for h in heads {
            let g = h / group
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(queries), Int32(total), Int32(D),
                        attrs.scale, q + h * D, Int32(H * D), cache.keys + g * D, Int32(KV * D), 0, scores, Int32(total))
            for i in 0..<queries {
                let row = scores + i * total
                for j in (past + i + 1)..<max(total, past + i + 1) { row[j] = -Float.infinity }
                softmaxRow(row, total)
            }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(queries), Int32(D), Int32(total),
                        1, scores, Int32(total), cache.values + g * D, Int32(KV * D), 0, out + h * D, Int32(H * D))
          }
        }
    }

    static func meanPool(x: UnsafePointer<Float>, mask: UnsafePointer<Int32>, out: UnsafeMutablePointer<Float>,
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

    static func l2Normalize(x: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, rows: Int, cols: Int, eps: Float) {
        for r in 0..<rows {
            var ss: Float = 0
            for j in 0..<cols { ss += x[r * cols + j] * x[r * cols + j] }
            let inv = 1 / max(ss.squareRoot(), eps)
            for j in 0..<cols { out[r * cols + j] = x[r * cols + j] * inv }
        }
    }

    static func transpose(x: UnsafeMutableRawPointer, shape: [Int], perm: [Int], out: UnsafeMutableRawPointer, elementSize: Int) {
        let rank = shape.count
        var inStrides = [Int](repeating: 1, count: rank)
        for d in stride(from: rank - 2, through: 0, by: -1) { inStrides[d] = inStrides[d + 1] * shape[d + 1] }
        let outShape = perm.map { shape[$0] }
        let count = shape.reduce(1, *)
        var index = [Int](repeating: 0, count: rank)
        for i in 0..<count {
            var src = 0
            for d in 0..<rank { src += index[d] * inStrides[perm[d]] }
            (out + i * elementSize).copyMemory(from: x + src * elementSize, byteCount: elementSize)
            var d = rank - 1
            while d >= 0 {
                index[d] += 1
                if index[d] < outShape[d] { break }
                index[d] = 0
                d -= 1
            }
        }
    }

    static func slice(x: UnsafeMutableRawPointer, shape: [Int], axis: Int, start: Int, outShape: [Int],
                      out: UnsafeMutableRawPointer, elementSize: Int) {
        let outer = shape[..<axis].reduce(1, *)
        let inner = shape[(axis + 1)...].reduce(1, *) * elementSize
        let take = outShape[axis] * inner
        for o in 0..<outer {
            (out + o * take).copyMemory(from: x + o * shape[axis] * inner + start * inner, byteCount: take)
        }
    }

    static func concat(inputs: [UnsafeMutableRawPointer], shapes: [[Int]], axis: Int, out: UnsafeMutableRawPointer, elementSize: Int) {
        let outer = shapes[0][..<axis].reduce(1, *)
        let inner = shapes[0][(axis + 1)...].reduce(1, *) * elementSize
        var dst = out
        for o in 0..<outer {
            for (p, s) in zip(inputs, shapes) {
                let chunk = s[axis] * inner
                dst.copyMemory(from: p + o * chunk, byteCount: chunk)
                dst += chunk
            }
        }
    }

    static func cast(x: UnsafeMutableRawPointer, from: DType, out: UnsafeMutableRawPointer, to: DType, count: Int) throws {
        switch (from, to) {
        case (.i32, .f32):
            for i in 0..<count { out.assumingMemoryBound(to: Float.self)[i] = Float(x.assumingMemoryBound(to: Int32.self)[i]) }
        case (.f32, .i32):
            for i in 0..<count {
                let f = x.assumingMemoryBound(to: Float.self)[i]
                out.assumingMemoryBound(to: Int32.self)[i] = f.isNaN ? 0 : Int32(max(min(f.rounded(.toNearestOrEven), 2147483520), -2147483648))
            }
        case (.f32, .f32), (.i32, .i32):
            out.copyMemory(from: x, byteCount: count * 4)
        default:
            throw IngotError(.unsupported, location: "cast", "from \(from) to \(to) is not supported by the runtime")
        }
    }
}

/// K and V rows of one attention layer for positions 0..<count: [capacity, kvHeads·headDim]
/// each, growing by doubling up to `limit` so short conversations stay small.
final class LayerKVCache {
    let limit: Int
    let rowWidth: Int
    private(set) var capacity: Int
    private(set) var keys: UnsafeMutablePointer<Float>
    private(set) var values: UnsafeMutablePointer<Float>

    init(limit: Int, rowWidth: Int, initialCapacity: Int = 256) {
        self.limit = limit
        self.rowWidth = rowWidth
        capacity = min(initialCapacity, limit)
        keys = .allocate(capacity: capacity * rowWidth)
        values = .allocate(capacity: capacity * rowWidth)
    }

    deinit {
        keys.deallocate()
        values.deallocate()
    }

    func append(k: UnsafePointer<Float>, v: UnsafePointer<Float>, count: Int, at position: Int) throws {
        let end = position + count
        guard end <= limit else {
            throw IngotError(.shape, location: "KV cache", "positions \(position)..<\(end) exceed the context length \(limit)")
        }
        if end > capacity {
            var newCapacity = capacity
            while newCapacity < end { newCapacity *= 2 }
            newCapacity = min(newCapacity, limit)
            let nk = UnsafeMutablePointer<Float>.allocate(capacity: newCapacity * rowWidth)
            let nv = UnsafeMutablePointer<Float>.allocate(capacity: newCapacity * rowWidth)
            nk.update(from: keys, count: position * rowWidth)
            nv.update(from: values, count: position * rowWidth)
            keys.deallocate()
            values.deallocate()
            keys = nk
            values = nv
            capacity = newCapacity
        }
        (keys + position * rowWidth).update(from: k, count: count * rowWidth)
        (values + position * rowWidth).update(from: v, count: count * rowWidth)
    }
}
