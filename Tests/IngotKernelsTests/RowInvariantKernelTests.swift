// The row-invariant float kernels (ingot_f32rows.h, Kernels.panelLinear, Kernels.attention):
// against their reference twins, AVX2 against portable bit for bit, and the property they
// exist for: a row's bits do not depend on the other rows, on m, or on right padding.
import XCTest
import CKernels
@testable import IngotKernels

final class RowInvariantKernelTests: XCTestCase {
    let pools = [ThreadPool(count: 1), ThreadPool(count: 2), ThreadPool(count: 3)]
    var rng = Rand(state: 7)

    override func tearDown() { ingot_q8_set_portable(0) }

    func bits(_ a: [Float]) -> [UInt32] { a.map(\.bitPattern) }

    func panelLinear(_ x: [Float], _ packed: PackedFloatWeights, bias: [Float]?, m: Int, activation: EpilogueActivation,
                     pool: ThreadPool) -> [Float] {
        var out = [Float](repeating: .nan, count: m * packed.n)
        if let bias {
            bias.withUnsafeBufferPointer { Kernels.panelLinear(x, packed, bias: $0.baseAddress, &out, m: m, activation: activation, pool: pool) }
        } else {
            Kernels.panelLinear(x, packed, bias: nil, &out, m: m, activation: activation, pool: pool)
        }
        return out
    }

    func testPanelLinearMatchesItsReferenceTwin() {
        for pool in pools {
            for (m, n, k) in [(1, 1, 1), (1, 17, 33), (5, 16, 8), (7, 45, 389), (13, 130, 64), (40, 33, 7)] {
                for activation in [EpilogueActivation.none, .gelu, .silu] {
                    let x = rng.array(m * k), w = rng.array(n * k), bias = rng.array(n)
                    let packed = PackedFloatWeights(w, n: n, k: k)
                    let fast = panelLinear(x, packed, bias: bias, m: m, activation: activation, pool: pool)
                    var ref = [Float](repeating: .nan, count: m * n)
                    ReferenceKernels.linear(x, w, bias: bias, &ref, m: m, n: n, k: k, activation: activation)
                    XCTAssertLessThan(maxAbsDiff(fast, ref), 1e-5 * Float(k), "m \(m) n \(n) k \(k) \(activation) threads \(pool.count)")
                    let noBias = panelLinear(x, packed, bias: nil, m: m, activation: .none, pool: pool)
                    ReferenceKernels.linear(x, w, bias: nil, &ref, m: m, n: n, k: k, activation: .none)
                    XCTAssertLessThan(maxAbsDiff(noBias, ref), 1e-5 * Float(k))
                }
            }
        }
    }

    /// Each row of a 37-row product equals, bit for bit, the same row computed alone, at
    /// another offset among other rows, on another thread count, and by the portable path.
    func testPanelLinearRowsAreBitIdenticalAloneInAnyBatchAndOnBothPaths() {
        let (m, n, k) = (37, 45, 389)
        let x = rng.array(m * k), w = rng.array(n * k), bias = rng.array(n)
        let packed = PackedFloatWeights(w, n: n, k: k)
        let full = panelLinear(x, packed, bias: bias, m: m, activation: .gelu, pool: pools[1])
        for r in 0..<m {
            let alone = panelLinear(Array(x[r * k..<(r + 1) * k]), packed, bias: bias, m: 1, activation: .gelu, pool: pools[0])
            XCTAssertEqual(bits(alone), bits(Array(full[r * n..<(r + 1) * n])), "row \(r) alone")
            // The row at position 4 of 11 rows of other data.
            var mixed = rng.array(11 * k)
            mixed.replaceSubrange(4 * k..<5 * k, with: x[r * k..<(r + 1) * k])
            let batch = panelLinear(mixed, packed, bias: bias, m: 11, activation: .gelu, pool: pools[2])
            XCTAssertEqual(bits(Array(batch[4 * n..<5 * n])), bits(Array(full[r * n..<(r + 1) * n])), "row \(r) in another batch")
        }
        ingot_q8_set_portable(1)
        let portable = panelLinear(x, packed, bias: bias, m: m, activation: .gelu, pool: pools[1])
        XCTAssertEqual(bits(portable), bits(full), "portable path")
    }

    func testABProductMatchesDoubleSumsAndBothPathsAgree() {
        for (m, n, kk, lda, ldb, ldo) in [(1, 1, 1, 1, 1, 1), (7, 33, 5, 9, 40, 35), (13, 16, 128, 130, 16, 16), (6, 9, 0, 3, 9, 9)] {
            let a = rng.array(m * lda), b = rng.array(max(kk, 1) * ldb)
            var fast = [Float](repeating: .nan, count: m * ldo), portable = fast
            ingot_f32_gemm_nn(a, Int64(lda), Int64(m), b, Int64(ldb), Int64(kk), Int64(n), 0.25, &fast, Int64(ldo))
            ingot_q8_set_portable(1)
            ingot_f32_gemm_nn(a, Int64(lda), Int64(m), b, Int64(ldb), Int64(kk), Int64(n), 0.25, &portable, Int64(ldo))
            ingot_q8_set_portable(0)
            for i in 0..<m {
                for j in 0..<n {
                    var s = 0.0
                    for t in 0..<kk { s += Double(a[i * lda + t]) * Double(b[t * ldb + j]) }
                    XCTAssertEqual(Double(fast[i * ldo + j]), 0.25 * s, accuracy: 1e-5 * Double(max(kk, 1)))
                    XCTAssertEqual(fast[i * ldo + j].bitPattern, portable[i * ldo + j].bitPattern, "m \(m) n \(n) k \(kk) (\(i), \(j))")
                }
            }
        }
    }

    /// One sequence of `length` tokens alone (no padding) and as row 1 of a batch of 3 right-padded
    /// to `padded` keys: its outputs are bit-identical, for query blocks split or not.
    func testAttentionOfASequenceIsBitIdenticalAloneAndRightPadded() {
        let (heads, d) = (3, 8)
        let width = heads * d
        for (length, padded) in [(5, 9), (17, 130), (129, 200), (2, 3)] {
            let q = rng.array(length * width), k = rng.array(length * width), v = rng.array(length * width)
            var alone = [Float](repeating: .nan, count: length * width)
            let ones = [Int32](repeating: 1, count: length)
            Kernels.attention(q: q, k: k, v: v, keyMask: ones, out: &alone, batch: 1, seq: length, keySeq: length, heads: heads,
                              kvHeads: heads, headDim: d, scale: 0.35, causal: false, queryOffset: 0, pool: pools[0])
            func padRow(_ row: [Float]) -> [Float] { row + rng.array((padded - length) * width, scale: 5) }
            let bq = rng.array(padded * width) + padRow(q) + rng.array(padded * width)
            let bk = rng.array(padded * width) + padRow(k) + rng.array(padded * width)
            let bv = rng.array(padded * width) + padRow(v) + rng.array(padded * width)
            var mask = [Int32](repeating: 1, count: 3 * padded)
            for s in length..<padded { mask[padded + s] = 0 }
            for s in (padded / 2)..<padded { mask[2 * padded + s] = 0 }
            for pool in pools {
                var batched = [Float](repeating: .nan, count: 3 * padded * width)
                Kernels.attention(q: bq, k: bk, v: bv, keyMask: mask, out: &batched, batch: 3, seq: padded, keySeq: padded, heads: heads,
                                  kvHeads: heads, headDim: d, scale: 0.35, causal: false, queryOffset: 0, pool: pool)
                let row = Array(batched[padded * width..<(padded + length) * width])
                XCTAssertEqual(bits(row), bits(alone), "length \(length) padded to \(padded), threads \(pool.count)")
            }
            ingot_q8_set_portable(1)
            var portable = [Float](repeating: .nan, count: length * width)
            Kernels.attention(q: q, k: k, v: v, keyMask: ones, out: &portable, batch: 1, seq: length, keySeq: length, heads: heads,
                              kvHeads: heads, headDim: d, scale: 0.35, causal: false, queryOffset: 0, pool: pools[1])
            ingot_q8_set_portable(0)
            XCTAssertEqual(bits(portable), bits(alone), "portable path, length \(length)")
        }
    }
}
