// The packed u8 × s7 (and u7 × s8) kernels (ingot_q8packed.h) on every Int8KernelPath this CPU
// has (portable, AVX2, AVX2-VNNI, AVX-512BW, AVX-512 VNNI) against their Swift twins:
// bit-identical asymmetric quantization and GEMM on odd sizes — row tails around the 8- and
// 4-row tiles, column tails around the 16-column panel, input tails around the 4-byte block,
// k = 1 — all-zero and one-signed rows, all-zero weights, and the extremes (codes 0 and 255
// with w ±63, 127 with w ±127) where a saturating vpmaddubsw would show; the path API's
// errors; plus the layout's pack/unpack round trip. (scripts/kernel-paths-emulated.sh runs
// the paths a CPU lacks through SIMDe.)
import CKernels
import IngotCore
import IngotIR
import XCTest
@testable import IngotKernels

final class PackedInt8KernelTests: XCTestCase {
    var rng = Rand(state: 7)

    override func tearDown() {
        XCTAssertNoThrow(try Int8KernelPath.use(Int8KernelPath.best))
    }

    /// Kernel paths this CPU has.
    func paths() -> [Int8KernelPath] { Int8KernelPath.available }

    func use(_ path: Int8KernelPath) {
        XCTAssertNoThrow(try Int8KernelPath.use(path))
        XCTAssertEqual(Int8KernelPath.current, path)
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
        for path in paths() {
          for levels: Int32 in [255, 127] {
            use(path)
            for (rows, k) in [(1, 1), (3, 7), (2, 100), (5, 384), (4, 33), (1, 1536)] {
                let kp = padded(k)
                var x = rng.array(rows * k, scale: 3)
                for t in 0..<k { x[t] = 0 } // a row of zeros
                if rows > 1 { for t in 0..<k { x[k + t] = abs(x[k + t]) } } // a row ≥ 0 (GELU-like): zero point 0
                if rows > 2 { for t in 0..<k { x[2 * k + t] = -abs(x[2 * k + t]) } } // a row ≤ 0: zero point 255
                var q = [UInt8](repeating: 99, count: rows * kp), s = [Float](repeating: .nan, count: rows), z = [Int32](repeating: -1, count: rows)
                ingot_q8p_quantize_rows(x, Int64(rows), Int64(k), Int64(kp), levels, &q, &s, &z)
                let twin = Int8ReferenceKernels.quantizeRowsAsymmetric(x, rows: rows, k: k, kp: kp, levels: levels)
                XCTAssertTrue(q == twin.q, "q rows \(rows) k \(k) levels \(levels) path \(path)")
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
        let shapes = [(1, 1, 1), (2, 17, 1), (1, 16, 4), (3, 17, 5), (4, 15, 33), (5, 33, 100), (7, 48, 384), (8, 16, 8), (9, 1, 7),
                      (13, 31, 9), (15, 47, 63), (17, 40, 65), (128, 40, 384), (6, 20, 1536)]
        // u8 codes with 7-bit weights, and 7-bit codes with 8-bit weights.
        for (levels, wMax) in [(Int32(255), Float(63)), (Int32(127), Float(127))] {
          for path in paths() {
            use(path)
            for (m, n, k) in shapes {
                let kp = padded(k)
                let x = rng.array(m * k, scale: 2)
                var w = (0..<n * k).map { _ in Int8(Int(rng.next() * wMax)) }
                if n > 2 { for t in 0..<k { w[2 * k + t] = 0 } } // an all-zero output row
                var xz = x
                if m > 1 { for t in 0..<k { xz[k + t] = 0 } } // an all-zero input row: codes 0, scale 0, zero point 0
                let (q, s, z) = Int8ReferenceKernels.quantizeRowsAsymmetric(xz, rows: m, k: k, kp: kp, levels: levels)
                if m > 1 { XCTAssertEqual(s[1], 0) }
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
                        XCTAssertEqual(mismatches, 0, "m \(m) n \(n) k \(k) panels \(range) bias \(withBias) levels \(levels) path \(path)")
                        XCTAssertEqual(untouched, 0, "columns outside the panels are left alone")
                    }
                }
            }
          }
        }
    }

    func testExtremesDoNotSaturate() {
        // q = 255 against w = ±63 (each vpmaddubsw pair ±2·255·63 = ±32130) and q = 127 against
        // w = ±127 (±2·127·127 = ±32258): the largest the kernel allows; q = 0 against either
        // bound gives 0. The int32 sums must be exact (k·q·w per column). m = 13 covers the
        // 8-, 4- and 1-row tiles.
        let (m, n, k) = (13, 18, 1536)
        for (code, weight) in [(UInt8(255), Int8(63)), (UInt8(127), Int8(127)), (UInt8(0), Int8(63)), (UInt8(0), Int8(127))] {
            let q = [UInt8](repeating: code, count: m * k), s = [Float](repeating: 1, count: m), z = [Int32](repeating: 0, count: m)
            let w = (0..<n * k).map { $0 / k % 2 == 0 ? weight : -weight }
            let (packed, colsums) = PackedInt8Layout.pack(w, outputs: n, inputs: k)
            for path in paths() {
                use(path)
                var y = [Float](repeating: .nan, count: m * n)
                ingot_q8p_gemm(q, s, z, Int64(m), Int64(k), packed, [Float](repeating: 1, count: n), colsums, Int64(n), nil, &y, 0, 2)
                for i in 0..<m {
                    for j in 0..<n {
                        XCTAssertEqual(y[i * n + j], Float(j % 2 == 0 ? 1 : -1) * Float(k * Int(code) * Int(weight)),
                                       "row \(i) column \(j) code \(code) path \(path)")
                    }
                }
            }
        }
    }

    func testEveryPathGivesTheSameBitsOnARandomLayer() {
        // One MiniLM-sized layer (m 37, n 1536 → 96 panels, k 384) on every path: all equal the twin.
        let (m, n, k) = (37, 1536, 384)
        let x = rng.array(m * k, scale: 4)
        let w = (0..<n * k).map { _ in Int8(Int(rng.next() * 63)) }
        let (q, s, z) = Int8ReferenceKernels.quantizeRowsAsymmetric(x, rows: m, k: k, kp: k, levels: 255)
        let ws = rng.array(n).map { abs($0) * 0.01 }, bias = rng.array(n)
        let (packed, colsums) = PackedInt8Layout.pack(w, outputs: n, inputs: k)
        let twin = Int8ReferenceKernels.packedGemm(q: q, scales: s, zeros: z, m: m, kp: k, w: w, ws: ws, n: n, k: k, bias: bias)
        for path in paths() {
            use(path)
            var y = [Float](repeating: .nan, count: m * n)
            ingot_q8p_gemm(q, s, z, Int64(m), Int64(k), packed, ws, colsums, Int64(n), bias, &y, 0, Int64(n / 16))
            XCTAssertTrue(y.map(\.bitPattern) == twin.map(\.bitPattern), "path \(path)")
        }
    }

    func testPathTableAndErrors() throws {
        XCTAssertEqual(Int8KernelPath.allCases.map(\.rawValue), ["portable", "avx2", "avx2-vnni", "avx512bw", "avx512-vnni"])
        XCTAssertEqual(Int8KernelPath.allCases.map(\.traits.cValue), [0, 1, 2, 3, 4], "the values of ingot_q8packed.h")
        XCTAssertEqual(Int8KernelPath.allCases.filter(\.traits.needsPairSumBound), [.avx2, .avx512BW])
        XCTAssertTrue(Int8KernelPath.available.contains(.portable))
        XCTAssertEqual(Int8KernelPath.available.last, Int8KernelPath.best, "the default is the fastest path this CPU has")
        // The CPU flags decide the paths.
        let flags = Int8KernelPath.cpuFlags
        XCTAssertEqual(Int8KernelPath.avx2.isAvailable, flags.contains("avx2"))
        XCTAssertEqual(Int8KernelPath.avx512BW.isAvailable, flags.contains("avx512bw"))
        XCTAssertEqual(Int8KernelPath.avx512VNNI.isAvailable, flags.contains("avx512vnni"))
        XCTAssertEqual(Int8KernelPath.avx2VNNI.isAvailable, flags.contains("avxvnni") || flags.contains("avx512vnni"))
        for path in paths() { XCTAssertEqual(try Int8KernelPath.parse(path.rawValue, source: "test"), path) }

        func message(_ body: () throws -> Void) -> (Int32, String) {
            do {
                try body()
                return (0, "")
            } catch let e as IngotError {
                return (e.kind.exitCode, e.description)
            } catch {
                return (-1, "\(error)")
            }
        }
        let has = Int8KernelPath.available.map(\.rawValue).joined(separator: ", ")
        let unknown = message { _ = try Int8KernelPath.parse("avx9", source: "INGOT_KERNEL_PATH") }
        XCTAssertEqual(unknown.0, 64)
        XCTAssertTrue(unknown.1.contains("INGOT_KERNEL_PATH") && unknown.1.contains("'avx9'") && unknown.1.contains("this CPU has \(has)"), unknown.1)
        let before = Int8KernelPath.current
        for missing in Int8KernelPath.allCases where !missing.isAvailable {
            let refused = message { _ = try Int8KernelPath.parse(missing.rawValue, source: "--kernel-path") }
            XCTAssertEqual(refused.0, 64)
            XCTAssertTrue(refused.1.contains("'\(missing.rawValue)' is not available on this CPU; it has \(has)"), refused.1)
            XCTAssertEqual(message { try Int8KernelPath.use(missing) }.0, 64)
            XCTAssertEqual(Int8KernelPath.current, before, "a refused path changes nothing")
        }
        XCTAssertEqual(ingot_q8p_set_path(99), -1)
        XCTAssertEqual(ingot_q8p_path_available(-1), 0)
    }
}
