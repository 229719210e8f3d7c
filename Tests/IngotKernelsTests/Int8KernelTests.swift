// The C int8 kernels (AVX2 and portable paths) against their Swift twins: bit-identical
// quantization and GEMM on odd sizes, group tails, all-zero groups, ±127 extremes that would
// saturate a careless vpmaddubsw, column sub-ranges; the weight-only GEMV within rounding.
import CKernels
import XCTest
@testable import IngotKernels

final class Int8KernelTests: XCTestCase {
    var rng = Rand(state: 99)

    override func tearDown() { ingot_q8_set_portable(0) }

    func paths() -> [Int32] { ingot_cpu_has_avx2_fma() == 1 ? [0, 1] : [1] }

    func quantize(_ x: [Float], rows: Int, k: Int, group: Int) -> ([Int8], [Float]) {
        var q = [Int8](repeating: 99, count: rows * k), s = [Float](repeating: .nan, count: rows * (k / group))
        ingot_q8_quantize_rows(x, Int64(rows), Int64(k), Int64(group), &q, &s)
        return (q, s)
    }

    func testQuantizeRowsIsBitIdenticalToTheTwin() {
        for portable in paths() {
            ingot_q8_set_portable(portable)
            for (rows, k, group) in [(1, 1, 1), (3, 7, 7), (2, 100, 100), (5, 96, 32), (4, 384, 128), (1, 33, 11)] {
                var x = rng.array(rows * k, scale: 3)
                for t in 0..<group { x[t] = 0 } // an all-zero group
                let (q, s) = quantize(x, rows: rows, k: k, group: group)
                let twin = Int8ReferenceKernels.quantizeRows(x, rows: rows, k: k, group: group)
                XCTAssertTrue(q == twin.q, "q rows \(rows) k \(k) group \(group) portable \(portable)")
                XCTAssertTrue(s.map(\.bitPattern) == twin.scales.map(\.bitPattern), "scales \(rows)×\(k)/\(group)")
                XCTAssertEqual(s[0], 0, "all-zero group → scale 0")
                XCTAssertFalse(q.contains(-128))
                for i in x.indices { // dequantization error ≤ half a step
                    let scale = s[(i / k) * (k / group) + (i % k) / group]
                    XCTAssertLessThanOrEqual(abs(Float(q[i]) * scale - x[i]), scale / 2 * 1.0001 + 1e-12)
                }
            }
        }
    }

    func testGemmIsBitIdenticalToTheTwinOnOddSizesAndRanges() {
        let shapes = [(1, 1, 1, 1), (1, 5, 33, 33), (3, 17, 64, 32), (2, 67, 100, 100), (17, 33, 96, 32), (128, 40, 384, 128),
                      (5, 9, 31, 31), (7, 384, 7, 7), (4, 8, 4096, 4096)]
        for portable in paths() {
            ingot_q8_set_portable(portable)
            for (m, n, k, group) in shapes {
                var xq = (0..<m * k).map { _ in Int8(truncatingIfNeeded: Int(rng.next() * 127)) }
                var wq = (0..<n * k).map { _ in Int8(truncatingIfNeeded: Int(rng.next() * 127)) }
                if k == 4096 { // extremes: every product 127·127 or −127·127
                    xq = (0..<m * k).map { $0 % 2 == 0 ? 127 : -127 }
                    wq = (0..<n * k).map { $0 % 3 == 0 ? -127 : 127 }
                }
                let xs = rng.array(m * (k / group)).map { abs($0) * 0.01 }, ws = rng.array(n * (k / group)).map { abs($0) * 0.01 }
                let bias = rng.array(n)
                for withBias in [false, true] {
                    for columns in [0..<n, (n / 2)..<n] where !columns.isEmpty {
                        var fast = [Float](repeating: .nan, count: m * n), twin = fast
                        bias.withUnsafeBufferPointer { b in
                            ingot_q8_gemm(xq, xs, Int64(m), wq, ws, Int64(n), Int64(k), Int64(group), withBias ? b.baseAddress : nil,
                                          &fast, Int64(columns.lowerBound), Int64(columns.upperBound))
                        }
                        Int8ReferenceKernels.gemm(xq: xq, xs: xs, m: m, wq: wq, ws: ws, n: n, k: k, group: group,
                                                  bias: withBias ? bias : nil, y: &twin, columns: columns)
                        let same = zip(fast, twin).allSatisfy { $0.bitPattern == $1.bitPattern || ($0.isNaN && $1.isNaN) }
                        let first = zip(fast, twin).enumerated().first { $0.element.0.bitPattern != $0.element.1.bitPattern && !$0.element.0.isNaN }
                        XCTAssertTrue(same, "m \(m) n \(n) k \(k) g \(group) cols \(columns) bias \(withBias) portable \(portable): first difference at \(first.map { String($0.offset) } ?? "-")")
                    }
                }
            }
        }
    }

    func testWeightOnlyGemvMatchesItsTwinWithinRounding() {
        for portable in paths() {
            ingot_q8_set_portable(portable)
            for (n, k, group) in [(1, 1, 1), (5, 33, 33), (67, 96, 32), (40, 1536, 64), (3, 100, 100)] {
                let x = rng.array(k, scale: 2)
                let wq = (0..<n * k).map { _ in Int8(truncatingIfNeeded: Int(rng.next() * 127)) }
                let ws = rng.array(n * (k / group)).map { abs($0) * 0.01 }, bias = rng.array(n)
                var y = [Float](repeating: .nan, count: n)
                ingot_q8_gemv_f32(x, wq, ws, Int64(n), Int64(k), Int64(group), bias, &y, 0, Int64(n))
                let twin = Int8ReferenceKernels.gemvWeightOnly(x: x, wq: wq, ws: ws, n: n, k: k, group: group, bias: bias)
                for j in 0..<n {
                    var magnitude = 0.0
                    for t in 0..<k { magnitude += abs(Double(x[t]) * Double(wq[j * k + t]) * Double(ws[j * (k / group) + t / group])) }
                    XCTAssertLessThanOrEqual(abs(Double(y[j]) - twin[j]), 1e-5 * magnitude + 1e-6, "n \(n) k \(k) g \(group) j \(j)")
                }
            }
        }
    }

    func testDequantizeRowsIsExact() {
        for portable in paths() {
            ingot_q8_set_portable(portable)
            for (n, k, group) in [(3, 7, 7), (5, 96, 32), (4, 100, 50)] {
                let wq = (0..<n * k).map { _ in Int8(truncatingIfNeeded: Int(rng.next() * 127)) }
                let ws = rng.array(n * (k / group))
                var out = [Float](repeating: .nan, count: (n - 1) * k)
                ingot_q8_dequantize_rows(wq, ws, Int64(k), Int64(group), 1, Int64(n), &out)
                let expected = (k..<n * k).map { Float(wq[$0]) * ws[($0 / k) * (k / group) + ($0 % k) / group] }
                XCTAssertTrue(out == expected, "n \(n) k \(k) group \(group) portable \(portable)")
            }
        }
    }

    func testDynamicLinearEndToEndAgainstFloat() {
        // quantize → GEMM approximates the float product within the quantization error bound.
        let (m, n, k) = (9, 13, 64)
        let x = rng.array(m * k), w = rng.array(n * k)
        let (xq, xs) = quantize(x, rows: m, k: k, group: k), (wq, wsc) = quantize(w, rows: n, k: k, group: k)
        var y = [Float](repeating: 0, count: m * n)
        ingot_q8_gemm(xq, xs, Int64(m), wq, wsc, Int64(n), Int64(k), Int64(k), nil, &y, 0, Int64(n))
        for i in 0..<m {
            for j in 0..<n {
                var exact = 0.0
                for t in 0..<k { exact += Double(x[i * k + t]) * Double(w[j * k + t]) }
                XCTAssertEqual(Double(y[i * n + j]), exact, accuracy: 0.05)
            }
        }
    }
}
