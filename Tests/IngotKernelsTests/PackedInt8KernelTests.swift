// The packed u8 × s7 (and u7 × s8) kernels (ingot_q8packed.h: portable, AVX2 and AVX-512 VNNI paths) against their
// Swift twins: bit-identical asymmetric quantization and GEMM on odd sizes — row tails
// around the 4-row tile, column tails around the 16-column panel, input tails around the
// 4-byte block — all-zero and one-signed rows, and the extremes (q 255 with w ±63, q 127 with w ±127) where a
// saturating vpmaddubsw would show; plus the layout's pack/unpack round trip.
import CKernels
import IngotIR
import XCTest
@testable import IngotKernels

final class PackedInt8KernelTests: XCTestCase {
    var rng = Rand(state: 7)

    override func tearDown() {
        ingot_q8_set_portable(0)
        ingot_q8p_set_vnni(1)
    }

    /// Kernel paths this CPU has: 1 portable, 2 AVX2, 3 AVX-512 VNNI.
    func paths() -> [Int32] {
        [1] + (ingot_cpu_has_avx2_fma() == 1 ? [2] : []) + (ingot_cpu_has_avx512_vnni() == 1 ? [3] : [])
    }

    func use(_ path: Int32) {
        ingot_q8_set_portable(path == 1 ? 1 : 0)
        ingot_q8p_set_vnni(path == 3 ? 1 : 0)
        if path == 3 { XCTAssertEqual(ingot_q8p_uses_vnni(), 1) }
    }

    func padded(_ k: Int) -> Int { (k + 3) / 4 * 4 }

    func testPackThenUnpackRestoresTheWeightsAndPadsWithZeros() {
        for (n, k) in [(1, 1), (16, 4), (17, 5), (33, 384), (3, 7)] {
            let w = (0..<n * k).map { _ in Int8(Int(rng.next() * 63)) }
            let (packed, colsums) = PackedInt8Layout.pack(w, outputs: n, inputs: k)
            XCTAssertEqual(packed.count, PackedInt8Layout.shape(outputs: n, inputs: k).reduce(1, *))
            XCTAssertEqual(PackedInt8Layout.unpack(packed, outputs: n, inputs: k), w, "n \(n) k \(k)")
            XCTAssertEqual(packed.map { Int($0) }.reduce(0, +), w.map { Int($0) }.reduce(0, +), "padding bytes are zero")
            XCTAssertEqual(colsums, (0..<n).map { j in (0..<k).reduce(Int32(0)) { $0 + Int32(w[j * k + $1]) } })
        }
        // Byte ((p·⌈K/4⌉ + b)·16 + c)·4 + t holds w[16p + c, 4b + t]: row 17, input 6 of a [20, 8] weight.
        var w = [Int8](repeating: 0, count: 20 * 8)
        w[17 * 8 + 6] = 5
        let packed = PackedInt8Layout.pack(w, outputs: 20, inputs: 8).packed
        XCTAssertEqual(packed.firstIndex(of: 5), ((1 * 2 + 1) * 16 + 1) * 4 + 2)
    }

    func testQuantizeRowsIsBitIdenticalToTheTwin() {
        for portable in paths() {
          for levels: Int32 in [255, 127] {
            use(portable)
            for (rows, k) in [(1, 1), (3, 7), (2, 100), (5, 384), (4, 33), (1, 1536)] {
                let kp = padded(k)
                var x = rng.array(rows * k, scale: 3)
                for t in 0..<k { x[t] = 0 } // a row of zeros
                if rows > 1 { for t in 0..<k { x[k + t] = abs(x[k + t]) } } // a row ≥ 0 (GELU-like): zero point 0
                if rows > 2 { for t in 0..<k { x[2 * k + t] = -abs(x[2 * k + t]) } } // a row ≤ 0: zero point 255
                var q = [UInt8](repeating: 99, count: rows * kp), s = [Float](repeating: .nan, count: rows), z = [Int32](repeating: -1, count: rows)
                ingot_q8p_quantize_rows(x, Int64(rows), Int64(k), Int64(kp), levels, &q, &s, &z)
                let twin = Int8ReferenceKernels.quantizeRowsAsymmetric(x, rows: rows, k: k, kp: kp, levels: levels)
                XCTAssertTrue(q == twin.q, "q rows \(rows) k \(k) levels \(levels) portable \(portable)")
                XCTAssertLessThanOrEqual(Int32(q.max() ?? 0), levels)
                XCTAssertTrue(s.map(\.bitPattern) == twin.scales.map(\.bitPattern), "scales rows \(rows) k \(k)")
                XCTAssertEqual(z, twin.zeros, "zeros rows \(rows) k \(k)")
                XCTAssertEqual(s[0], 0, "a row of zeros gets scale 0")
                if rows > 1 { XCTAssertEqual(z[1], 0) }
                if rows > 2 { XCTAssertEqual(z[2], levels) }
                for r in 0..<rows where s[r] > 0 { // dequantization error ≤ half a step
                    for t in 0..<k {
                        let back = s[r] * Float(Int32(q[r * kp + t]) - z[r])
                        XCTAssertLessThanOrEqual(abs(back - x[r * k + t]), s[r] * 0.5001 + 1e-6, "row \(r) input \(t)")
                    }
                    for t in k..<kp { XCTAssertEqual(q[r * kp + t], 0, "padding") }
                }
            }
          }
        }
    }

    func testGemmIsBitIdenticalToTheTwinOnOddSizesAndPanels() {
        let shapes = [(1, 1, 1), (1, 16, 4), (3, 17, 5), (4, 15, 33), (5, 33, 100), (7, 48, 384), (9, 1, 7), (128, 40, 384), (6, 20, 1536)]
        // u8 codes with 7-bit weights, and 7-bit codes with 8-bit weights.
        for (levels, wMax) in [(Int32(255), Float(63)), (Int32(127), Float(127))] {
          for portable in paths() {
            use(portable)
            for (m, n, k) in shapes {
                let kp = padded(k)
                let x = rng.array(m * k, scale: 2)
                var w = (0..<n * k).map { _ in Int8(Int(rng.next() * wMax)) }
                if n > 2 { for t in 0..<k { w[2 * k + t] = 0 } } // an all-zero output row
                let (q, s, z) = Int8ReferenceKernels.quantizeRowsAsymmetric(x, rows: m, k: k, kp: kp, levels: levels)
                let ws = rng.array(n).map { abs($0) * 0.01 }, bias = rng.array(n)
                let (packed, colsums) = PackedInt8Layout.pack(w, outputs: n, inputs: k)
                let panels = (n + 15) / 16
                for withBias in [false, true] {
                    for range in [0..<panels, (panels / 2)..<panels] where !range.isEmpty {
                        var fast = [Float](repeating: .nan, count: m * n)
                        bias.withUnsafeBufferPointer { b in
                            ingot_q8p_gemm(q, s, z, Int64(m), Int64(kp), packed, ws, colsums, Int64(n), withBias ? b.baseAddress : nil,
                                           &fast, Int64(range.lowerBound), Int64(range.upperBound))
                        }
                        let twin = Int8ReferenceKernels.packedGemm(q: q, scales: s, zeros: z, m: m, kp: kp, w: w, ws: ws, n: n, k: k,
                                                                   bias: withBias ? bias : nil)
                        let columns = (range.lowerBound * 16)..<min(n, range.upperBound * 16)
                        var mismatches = 0, untouched = 0
                        for i in 0..<m {
                            for j in 0..<n {
                                if columns.contains(j) {
                                    if fast[i * n + j].bitPattern != twin[i * n + j].bitPattern { mismatches += 1 }
                                } else if !fast[i * n + j].isNaN { untouched += 1 }
                            }
                        }
                        XCTAssertEqual(mismatches, 0, "m \(m) n \(n) k \(k) panels \(range) bias \(withBias) levels \(levels) portable \(portable)")
                        XCTAssertEqual(untouched, 0, "columns outside the panels are left alone")
                    }
                }
            }
          }
        }
    }

    func testExtremesDoNotSaturate() {
        // q = 255 against w = ±63 (each vpmaddubsw pair ±2·255·63 = ±32130) and q = 127 against
        // w = ±127 (±2·127·127 = ±32258): the largest the kernel allows; the int32 sums must be
        // exact (k·q·w per column).
        let (m, n, k) = (5, 18, 1536)
        for (code, weight) in [(UInt8(255), Int8(63)), (UInt8(127), Int8(127))] {
            let q = [UInt8](repeating: code, count: m * k), s = [Float](repeating: 1, count: m), z = [Int32](repeating: 0, count: m)
            let w = (0..<n * k).map { $0 / k % 2 == 0 ? weight : -weight }
            let (packed, colsums) = PackedInt8Layout.pack(w, outputs: n, inputs: k)
            for portable in paths() {
                use(portable)
                var y = [Float](repeating: .nan, count: m * n)
                ingot_q8p_gemm(q, s, z, Int64(m), Int64(k), packed, [Float](repeating: 1, count: n), colsums, Int64(n), nil, &y, 0, 2)
                for i in 0..<m {
                    for j in 0..<n {
                        XCTAssertEqual(y[i * n + j], Float(j % 2 == 0 ? 1 : -1) * Float(k * Int(code) * Int(weight)), "row \(i) column \(j) code \(code)")
                    }
                }
            }
        }
    }
}
