// Every fast kernel against its reference twin on random inputs of odd sizes, tails that
// are not a multiple of the SIMD width, all-zero rows, large magnitudes and masks with no
// real token.
import XCTest
@testable import IngotKernels

struct Rand {
    var state: UInt64
    mutating func next() -> Float {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Float(Double(state >> 11) / Double(1 << 53)) * 2 - 1
    }
    mutating func array(_ n: Int, scale: Float = 1) -> [Float] { (0..<n).map { _ in next() * scale } }
}

func maxAbsDiff(_ a: [Float], _ b: [Float]) -> Float { zip(a, b).map { abs($0 - $1) }.max() ?? 0 }

final class KernelTwinTests: XCTestCase {
    let pools = [ThreadPool(count: 1), ThreadPool(count: 2), ThreadPool(count: 3)]
    var rng = Rand(state: 42)

    func testMatmulBothLayoutsAllSplits() {
        for pool in pools {
            for (m, n, k) in [(1, 1, 1), (1, 67, 33), (3, 17, 5), (17, 129, 63), (65, 3, 7), (2, 300, 65)] {
                for transposeB in [true, false] {
                    let a = rng.array(m * k), b = rng.array(n * k)
                    var fast = [Float](repeating: .nan, count: m * n), ref = fast
                    Kernels.matmul(a, b, &fast, m: m, n: n, k: k, transposeB: transposeB, pool: pool)
                    ReferenceKernels.matmul(a, b, &ref, m: m, n: n, k: k, transposeB: transposeB)
                    XCTAssertLessThan(maxAbsDiff(fast, ref), 1e-5 * Float(k), "m \(m) n \(n) k \(k) tB \(transposeB) threads \(pool.count)")
                }
            }
        }
    }

    func testBatchedMatmulAgainstOneProductPerEntry() {
        for pool in pools {
            // Fewer products than threads (each split across the pool) and more (one per thread).
            for (batch, m, n, k) in [(1, 3, 5, 7), (2, 1, 9, 3), (5, 7, 7, 3), (7, 33, 13, 5), (13, 2, 65, 17)] {
                for transposeB in [true, false] {
                    let a = rng.array(batch * m * k), b = rng.array(batch * n * k)
                    var fast = [Float](repeating: .nan, count: batch * m * n), ref = fast
                    Kernels.batchedMatmul(a, b, &fast, batch: batch, m: m, n: n, k: k, transposeB: transposeB, pool: pool)
                    ReferenceKernels.batchedMatmul(a, b, &ref, batch: batch, m: m, n: n, k: k, transposeB: transposeB)
                    XCTAssertLessThan(maxAbsDiff(fast, ref), 1e-5 * Float(k), "batch \(batch) m \(m) n \(n) k \(k) tB \(transposeB) threads \(pool.count)")
                }
            }
        }
    }

    func testFastErfAgainstLibm() {
        var worst: Double = 0
        var x: Float = -6
        while x <= 6 {
            worst = max(worst, abs(Double(Kernels.fastErf(x)) - erf(Double(x))))
            x += 0.0007
        }
        XCTAssertLessThan(worst, 1e-6)
    }

    func testActivations() {
        for pool in pools {
            for n in [1, 7, 4097, 9000] {
                var x = rng.array(n, scale: 6)
                if n > 4 { x[0] = 0; x[1] = -30; x[2] = 30 }
                var fast = [Float](repeating: .nan, count: n), ref = fast
                Kernels.geluErf(x, &fast, count: n, pool: pool)
                ReferenceKernels.geluErf(x, &ref, count: n)
                XCTAssertLessThan(maxAbsDiff(fast, ref), 2e-5, "gelu erf n \(n)")
                Kernels.geluTanh(x, &fast, count: n, pool: pool)
                ReferenceKernels.geluTanh(x, &ref, count: n)
                XCTAssertLessThan(maxAbsDiff(fast, ref), 2e-5, "gelu tanh n \(n)")
                Kernels.silu(x, &fast, count: n, pool: pool)
                ReferenceKernels.silu(x, &ref, count: n)
                XCTAssertLessThan(maxAbsDiff(fast, ref), 2e-5, "silu n \(n)")
            }
        }
    }

    func testNorms() {
        for pool in pools {
            for (rows, cols) in [(1, 1), (3, 17), (129, 384), (9, 576)] {
                var x = rng.array(rows * cols, scale: 3)
                for j in 0..<cols { x[j] = 0 }   // an all-zero row
                let g = rng.array(cols), b = rng.array(cols)
                var fast = [Float](repeating: .nan, count: rows * cols), ref = fast
                Kernels.layerNorm(x, gamma: g, beta: b, &fast, rows: rows, cols: cols, eps: 1e-12, pool: pool)
                ReferenceKernels.layerNorm(x, gamma: g, beta: b, &ref, rows: rows, cols: cols, eps: 1e-12)
                XCTAssertLessThan(maxAbsDiff(fast, ref), 1e-4, "layer norm \(rows)×\(cols)")
                Kernels.rmsNorm(x, weight: g, &fast, rows: rows, cols: cols, eps: 1e-5, pool: pool)
                ReferenceKernels.rmsNorm(x, weight: g, &ref, rows: rows, cols: cols, eps: 1e-5)
                XCTAssertLessThan(maxAbsDiff(fast, ref), 1e-4, "rms norm \(rows)×\(cols)")
            }
        }
    }

    func testSoftmaxRowLargeMagnitudesAndAllMasked() {
        for n in [1, 5, 7, 8, 9, 16, 130, 257] {
            for scale: Float in [1e4, 3] {
                var row = rng.array(n, scale: scale)
                // Masked keys in the vector part and the tail.
                for j in stride(from: 2, to: n, by: 5) { row[j] = -.infinity }
                var ref = row
                Kernels.softmaxRow(&row, n)
                ReferenceKernels.softmaxRow(&ref, n)
                XCTAssertLessThan(maxAbsDiff(row, ref), 1e-6, "n \(n) scale \(scale)")
                XCTAssertEqual(row.reduce(0, +), 1, accuracy: 1e-5)
                for j in stride(from: 2, to: n, by: 5) { XCTAssertEqual(row[j], 0) }
            }
        }
        var masked = [Float](repeating: -.infinity, count: 4)
        Kernels.softmaxRow(&masked, 4)
        XCTAssertEqual(masked, [0, 0, 0, 0])
    }

    func testAttentionPaddedCausalGroupedAndOffset() {
        for pool in pools {
            for (batch, seq, keySeq, heads, kv, d, causal, offset) in [(1, 1, 1, 1, 1, 2, false, 0), (2, 5, 5, 4, 4, 3, false, 0),
                                                                       (1, 7, 7, 9, 3, 8, true, 0), (1, 1, 12, 9, 3, 8, true, 11),
                                                                       (1, 3, 20, 6, 2, 5, true, 17), (3, 17, 17, 2, 1, 33, false, 0),
                                                                       // More queries than one 64-row tile, with a tail tile:
                                                                       (2, 150, 150, 2, 2, 4, false, 0), (1, 130, 130, 4, 2, 4, true, 0),
                                                                       (1, 70, 100, 2, 1, 4, true, 30)] {
                let q = rng.array(batch * seq * heads * d, scale: 2), k = rng.array(batch * keySeq * kv * d, scale: 2)
                let v = rng.array(batch * keySeq * kv * d)
                var mask = [Int32](repeating: 1, count: batch * keySeq)
                if batch > 1 && !causal { for j in (keySeq / 2)..<keySeq { mask[keySeq + j] = 0 } }   // second row padded
                var fast = [Float](repeating: .nan, count: q.count), ref = fast
                Kernels.attention(q: q, k: k, v: v, keyMask: mask, out: &fast, batch: batch, seq: seq, keySeq: keySeq,
                                  heads: heads, kvHeads: kv, headDim: d, scale: 0.3, causal: causal, queryOffset: offset, pool: pool)
                ReferenceKernels.attention(q: q, k: k, v: v, keyMask: mask, out: &ref, batch: batch, seq: seq, keySeq: keySeq,
                                           heads: heads, kvHeads: kv, headDim: d, scale: 0.3, causal: causal, queryOffset: offset)
                XCTAssertLessThan(maxAbsDiff(fast, ref), 1e-5, "attention b\(batch) s\(seq) k\(keySeq) h\(heads)/\(kv) d\(d)")
            }
        }
    }

    /// MPNet's relative attention bias: buckets as transformers computes them, and the fast kernel
    /// (tiled, padded batch rows) against the reference twin with a bias table [32, heads].
    func testAttentionRelativePositionBias() {
        // transformers' MPNet relative_position_bucket(j − i) for n = i − j (32 buckets, max distance 128), evaluated
        // with numpy in float32 as torch does.
        let expected: [(Int, Int)] = [(0, 0), (1, 1), (7, 7), (8, 8), (11, 8), (12, 9), (15, 9), (16, 10), (22, 10), (23, 11),
                                      (31, 11), (32, 12), (45, 12), (46, 13), (63, 13), (64, 14), (90, 14), (91, 15), (500, 15),
                                      (-1, 17), (-7, 23), (-8, 24), (-16, 26), (-63, 29), (-64, 30), (-1000, 31)]
        for (n, bucket) in expected {
            XCTAssertEqual(Kernels.relativePositionBucket(n, buckets: 32, maxDistance: 128), bucket, "n = \(n)")
        }
        for pool in pools {
            for (batch, seq, heads, d) in [(1, 1, 1, 2), (2, 9, 3, 4), (1, 40, 2, 8), (2, 150, 2, 4)] {
                let q = rng.array(batch * seq * heads * d, scale: 2), k = rng.array(batch * seq * heads * d, scale: 2)
                let v = rng.array(batch * seq * heads * d), table = rng.array(32 * heads, scale: 3)
                var mask = [Int32](repeating: 1, count: batch * seq)
                if batch > 1 { for j in (seq / 2)..<seq { mask[seq + j] = 0 } }   // second row padded
                var fast = [Float](repeating: .nan, count: q.count), ref = fast, plain = fast
                table.withUnsafeBufferPointer { t in
                    let relative = RelativeBias(table: t.baseAddress!, buckets: 32, maxDistance: 128)
                    Kernels.attention(q: q, k: k, v: v, keyMask: mask, out: &fast, batch: batch, seq: seq, keySeq: seq, heads: heads,
                                      kvHeads: heads, headDim: d, scale: 0.3, causal: false, queryOffset: 0, relative: relative, pool: pool)
                    ReferenceKernels.attention(q: q, k: k, v: v, keyMask: mask, out: &ref, batch: batch, seq: seq, keySeq: seq,
                                               heads: heads, kvHeads: heads, headDim: d, scale: 0.3, causal: false, queryOffset: 0,
                                               relative: relative)
                }
                Kernels.attention(q: q, k: k, v: v, keyMask: mask, out: &plain, batch: batch, seq: seq, keySeq: seq, heads: heads,
                                  kvHeads: heads, headDim: d, scale: 0.3, causal: false, queryOffset: 0, pool: pool)
                XCTAssertLessThan(maxAbsDiff(fast, ref), 1e-5, "relative attention b\(batch) s\(seq) h\(heads) d\(d)")
                if seq > 1 { XCTAssertGreaterThan(maxAbsDiff(fast, plain), 1e-3, "the bias changes the output") }
            }
        }
    }

    /// Sliding window: the query at position p sees keys p − window + 1 … p only.
    func testAttentionSlidingWindow() {
        for pool in pools {
            for (seq, keySeq, heads, kv, d, offset, window) in [(9, 9, 4, 1, 4, 0, 3), (1, 12, 2, 1, 4, 11, 5), (3, 20, 6, 2, 5, 17, 4),
                                                                 (140, 140, 2, 1, 4, 0, 50), (70, 100, 2, 2, 4, 30, 64)] {
                let q = rng.array(seq * heads * d, scale: 2), k = rng.array(keySeq * kv * d, scale: 2), v = rng.array(keySeq * kv * d)
                var fast = [Float](repeating: .nan, count: q.count), ref = fast, unbounded = fast
                Kernels.attention(q: q, k: k, v: v, keyMask: nil, out: &fast, batch: 1, seq: seq, keySeq: keySeq, heads: heads,
                                  kvHeads: kv, headDim: d, scale: 0.3, causal: true, queryOffset: offset, window: window, pool: pool)
                ReferenceKernels.attention(q: q, k: k, v: v, keyMask: nil, out: &ref, batch: 1, seq: seq, keySeq: keySeq, heads: heads,
                                           kvHeads: kv, headDim: d, scale: 0.3, causal: true, queryOffset: offset, window: window)
                XCTAssertLessThan(maxAbsDiff(fast, ref), 1e-5, "window \(window) s\(seq) k\(keySeq) offset \(offset)")
                Kernels.attention(q: q, k: k, v: v, keyMask: nil, out: &unbounded, batch: 1, seq: seq, keySeq: keySeq, heads: heads,
                                  kvHeads: kv, headDim: d, scale: 0.3, causal: true, queryOffset: offset, pool: pool)
                XCTAssertGreaterThan(maxAbsDiff(fast, unbounded), 1e-3, "the window bites at \(offset + seq) positions")
                // A window no shorter than the context changes nothing.
                var wide = fast
                Kernels.attention(q: q, k: k, v: v, keyMask: nil, out: &wide, batch: 1, seq: seq, keySeq: keySeq, heads: heads,
                                  kvHeads: kv, headDim: d, scale: 0.3, causal: true, queryOffset: offset, window: keySeq, pool: pool)
                XCTAssertEqual(wide, unbounded)
            }
            // Window 1: every query sees only its own key, so the output is its own value row.
            let (seq, heads, d) = (6, 2, 3)
            let q = rng.array(seq * heads * d), k = rng.array(seq * d), v = rng.array(seq * d)
            var out = [Float](repeating: .nan, count: q.count)
            Kernels.attention(q: q, k: k, v: v, keyMask: nil, out: &out, batch: 1, seq: seq, keySeq: seq, heads: heads, kvHeads: 1,
                              headDim: d, scale: 1, causal: true, queryOffset: 0, window: 1, pool: pool)
            for t in 0..<seq {
                for h in 0..<heads { XCTAssertEqual(Array(out[((t * heads + h) * d)..<((t * heads + h + 1) * d)]), Array(v[(t * d)..<((t + 1) * d)])) }
            }
        }
    }

    /// Bidirectional sliding window (EmbeddingGemma's sliding layers): the query at p sees keys
    /// p − window + 1 … p + window − 1, with right padding masked as well.
    func testAttentionSymmetricWindowWithoutCausalMask() {
        for pool in pools {
            for (batch, seq, heads, kv, d, window) in [(1, 9, 2, 1, 4, 3), (2, 140, 3, 1, 4, 40), (2, 30, 2, 2, 5, 1)] {
                let q = rng.array(batch * seq * heads * d, scale: 2), k = rng.array(batch * seq * kv * d, scale: 2)
                let v = rng.array(batch * seq * kv * d)
                var mask = [Int32](repeating: 1, count: batch * seq)
                if batch > 1 { for j in (seq - seq / 3)..<seq { mask[seq + j] = 0 } }
                var fast = [Float](repeating: .nan, count: q.count), ref = fast, unbounded = fast, wide = fast
                Kernels.attention(q: q, k: k, v: v, keyMask: mask, out: &fast, batch: batch, seq: seq, keySeq: seq, heads: heads,
                                  kvHeads: kv, headDim: d, scale: 0.3, causal: false, queryOffset: 0, window: window, pool: pool)
                ReferenceKernels.attention(q: q, k: k, v: v, keyMask: mask, out: &ref, batch: batch, seq: seq, keySeq: seq, heads: heads,
                                           kvHeads: kv, headDim: d, scale: 0.3, causal: false, queryOffset: 0, window: window)
                XCTAssertLessThan(maxAbsDiff(fast, ref), 1e-5, "window \(window) b\(batch) s\(seq)")
                Kernels.attention(q: q, k: k, v: v, keyMask: mask, out: &unbounded, batch: batch, seq: seq, keySeq: seq, heads: heads,
                                  kvHeads: kv, headDim: d, scale: 0.3, causal: false, queryOffset: 0, pool: pool)
                XCTAssertGreaterThan(maxAbsDiff(fast, unbounded), 1e-3, "the window bites")
                Kernels.attention(q: q, k: k, v: v, keyMask: mask, out: &wide, batch: batch, seq: seq, keySeq: seq, heads: heads,
                                  kvHeads: kv, headDim: d, scale: 0.3, causal: false, queryOffset: 0, window: seq, pool: pool)
                XCTAssertEqual(wide, unbounded, "a window of the whole sequence changes nothing")
                if window == 1 {
                    // Each query sees only its own key: the output is its own value row.
                    for t in 0..<seq {
                        for h in 0..<heads {
                            let g = h / (heads / kv)
                            XCTAssertEqual(Array(fast[((t * heads + h) * d)..<((t * heads + h + 1) * d)]),
                                           Array(v[((t * kv + g) * d)..<((t * kv + g + 1) * d)]))
                        }
                    }
                }
            }
        }
    }

    func testRopeBothStylesAndAHandComputedCase() {
        for interleaved in [true, false] {
            let tokens = 5, heads = 3, d = 8
            let x = rng.array(tokens * heads * d)
            let pos: [Int32] = [0, 1, 7, 100, 8191]
            var fast = [Float](repeating: .nan, count: x.count), ref = fast
            Kernels.rope(x, positions: pos, &fast, tokens: tokens, heads: heads, headDim: d, theta: 100000, interleaved: interleaved)
            ReferenceKernels.rope(x, positions: pos, &ref, tokens: tokens, heads: heads, headDim: d, theta: 100000, interleaved: interleaved)
            XCTAssertLessThan(maxAbsDiff(fast, ref), 1e-5)
        }
        // headDim 2, position 1, θ irrelevant for i = 0: (1, 0) rotates by 1 radian.
        var out: [Float] = [0, 0]
        Kernels.rope([1, 0], positions: [1], &out, tokens: 1, heads: 1, headDim: 2, theta: 10000, interleaved: true)
        XCTAssertEqual(out[0], Float(cos(1.0)), accuracy: 1e-6)
        XCTAssertEqual(out[1], Float(sin(1.0)), accuracy: 1e-6)
    }

    func testMeanPoolOddSizesZeroRowsAndMasksWithNoRealToken() {
        for (batch, seq, hidden) in [(1, 1, 1), (3, 5, 7), (4, 17, 33), (2, 130, 384)] {
            var x = rng.array(batch * seq * hidden, scale: 4)
            for d in 0..<hidden { x[d] = 0 }   // an all-zero token row
            var mask = [Int32](repeating: 1, count: batch * seq)
            if batch > 1 { for s in 0..<seq { mask[seq + s] = 0 } }                  // no real token
            if batch > 2 { for s in stride(from: 1, to: seq, by: 2) { mask[2 * seq + s] = 0 } }   // padding inside
            if batch > 3 { for s in (seq / 2 + 1)..<seq { mask[3 * seq + s] = 0 } }   // right padding
            var fast = [Float](repeating: .nan, count: batch * hidden), ref = fast
            Kernels.meanPool(x, mask: mask, &fast, batch: batch, seq: seq, hidden: hidden)
            ReferenceKernels.meanPool(x, mask: mask, &ref, batch: batch, seq: seq, hidden: hidden)
            XCTAssertLessThan(maxAbsDiff(fast, ref), 1e-6 * Float(seq), "mean pool b\(batch) s\(seq) h\(hidden)")
            if batch > 1 { XCTAssertEqual(Array(ref[hidden..<2 * hidden]), [Float](repeating: 0, count: hidden)) }
            if batch > 1 { XCTAssertEqual(Array(fast[hidden..<2 * hidden]), [Float](repeating: 0, count: hidden)) }
        }
    }

    func testPoolFirstMaxLastAndTanhAgainstTheirTwins() {
        for (batch, seq, hidden) in [(1, 1, 1), (3, 5, 7), (4, 17, 33)] {
            let x = rng.array(batch * seq * hidden, scale: 4)
            var mask = [Int32](repeating: 1, count: batch * seq)
            if batch > 1 { for s in 0..<seq { mask[seq + s] = 0 } }                                   // no real token
            if batch > 2 { for s in 0..<(seq / 2) { mask[2 * seq + s] = 0 } }                          // left padding
            if batch > 3 { for s in stride(from: 1, to: seq, by: 2) { mask[3 * seq + s] = 0 } }        // holes
            for selection in [PoolSelection.first, .max, .last] {
                var fast = [Float](repeating: .nan, count: batch * hidden), ref = fast
                switch selection {
                case .first: Kernels.poolFirst(x, &fast, batch: batch, seq: seq, hidden: hidden)
                case .max: Kernels.poolMax(x, mask: mask, &fast, batch: batch, seq: seq, hidden: hidden)
                case .last: Kernels.poolLast(x, mask: mask, &fast, batch: batch, seq: seq, hidden: hidden)
                }
                ReferenceKernels.pool(x, mask: mask, &ref, batch: batch, seq: seq, hidden: hidden, selection: selection)
                XCTAssertEqual(fast, ref, "\(selection) b\(batch) s\(seq) h\(hidden)")
            }
            if batch > 2 {
                // Left padding: the last real token is the last position; max ignores the padding.
                var last = [Float](repeating: .nan, count: batch * hidden)
                Kernels.poolLast(x, mask: mask, &last, batch: batch, seq: seq, hidden: hidden)
                XCTAssertEqual(Array(last[2 * hidden..<3 * hidden]), Array(x[(3 * seq - 1) * hidden..<3 * seq * hidden]))
                var maxed = [Float](repeating: .nan, count: batch * hidden)
                Kernels.poolMax(x, mask: mask, &maxed, batch: batch, seq: seq, hidden: hidden)
                XCTAssertEqual(Array(maxed[hidden..<2 * hidden]), [Float](repeating: 0, count: hidden))
                let column0 = (seq / 2..<seq).map { x[(2 * seq + $0) * hidden] }
                XCTAssertEqual(maxed[2 * hidden], column0.max())
            }
            var fast = [Float](repeating: .nan, count: x.count), ref = fast
            Kernels.tanhElementwise(x, &fast, count: x.count)
            ReferenceKernels.tanhElementwise(x, &ref, count: x.count)
            XCTAssertLessThan(maxAbsDiff(fast, ref), 1e-6, "tanh")
        }
    }

    func testL2NormalizeOddSizesZeroRowsAndTinyNorms() {
        for (rows, cols, eps) in [(1, 1, Float(1e-12)), (3, 7, 1e-12), (17, 33, 1e-12), (5, 384, 1e-6)] {
            var x = rng.array(rows * cols, scale: 5)
            for j in 0..<cols { x[j] = 0 }   // an all-zero row
            if rows > 2 { for j in 0..<cols { x[2 * cols + j] = 1e-9 } }   // norm below eps when eps = 1e-6
            var fast = [Float](repeating: .nan, count: rows * cols), ref = fast
            Kernels.l2Normalize(x, &fast, rows: rows, cols: cols, eps: eps)
            ReferenceKernels.l2Normalize(x, &ref, rows: rows, cols: cols, eps: eps)
            XCTAssertLessThan(maxAbsDiff(fast, ref), 1e-6, "l2 normalize \(rows)×\(cols) eps \(eps)")
            XCTAssertEqual(Array(ref[0..<cols]), [Float](repeating: 0, count: cols))
            XCTAssertEqual(Array(fast[0..<cols]), [Float](repeating: 0, count: cols))
        }
    }
}
