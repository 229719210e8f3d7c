// Fused float kernels against their unfused reference twins: linear with every activation
// on the GEMV, row-split and column-split paths; SwiGLU; add + LayerNorm / RMSNorm with
// the sum output checked too.
import Foundation
import XCTest
@testable import IngotKernels

final class FusedKernelTests: XCTestCase {
    let pools = [ThreadPool(count: 1), ThreadPool(count: 2), ThreadPool(count: 3)]
    var rng = Rand(state: 7)

    func testLinearEveryActivationAndSplit() {
        let activations: [EpilogueActivation] = [.none, .gelu, .geluTanh, .silu]
        for pool in pools {
            // m = 1 (GEMV), small m with many columns (column tiles, tail tile), large m with few columns (rows).
            for (m, n, k) in [(1, 77, 33), (5, 301, 19), (128, 40, 7), (17, 16, 1), (64, 520, 65)] {
                for activation in activations {
                    for withBias in [false, true] {
                        let x = rng.array(m * k, scale: 2), w = rng.array(n * k), b = rng.array(n)
                        var fast = [Float](repeating: .nan, count: m * n), ref = fast
                        b.withUnsafeBufferPointer { bp in
                            let bias = withBias ? bp.baseAddress : nil
                            Kernels.linear(x, w, bias: bias, &fast, m: m, n: n, k: k, activation: activation, pool: pool)
                            ReferenceKernels.linear(x, w, bias: bias, &ref, m: m, n: n, k: k, activation: activation)
                        }
                        XCTAssertLessThan(maxAbsDiff(fast, ref), 2e-5 * Float(k),
                                          "m \(m) n \(n) k \(k) \(activation) bias \(withBias) threads \(pool.count)")
                    }
                }
            }
        }
    }

    func testSwiGLU() {
        for pool in pools {
            for (rows, half) in [(1, 1), (3, 17), (130, 64)] {
                let x = rng.array(rows * 2 * half, scale: 4)
                var fast = [Float](repeating: .nan, count: rows * half), ref = fast
                Kernels.swiglu(x, &fast, rows: rows, half: half, pool: pool)
                ReferenceKernels.swiglu(x, &ref, rows: rows, half: half)
                XCTAssertLessThan(maxAbsDiff(fast, ref), 1e-5, "rows \(rows) half \(half)")
            }
        }
    }

    func testAddNormsWriteSumAndNorm() {
        for pool in pools {
            for (rows, cols) in [(1, 1), (5, 33), (40, 384)] {
                let a = rng.array(rows * cols, scale: 3), b = rng.array(rows * cols), g = rng.array(cols), beta = rng.array(cols)
                var n1 = [Float](repeating: .nan, count: a.count), s1 = n1, n2 = n1, s2 = n1
                Kernels.addLayerNorm(a, b, gamma: g, beta: beta, out: &n1, sum: &s1, rows: rows, cols: cols, eps: 1e-5, pool: pool)
                ReferenceKernels.addLayerNorm(a, b, gamma: g, beta: beta, out: &n2, sum: &s2, rows: rows, cols: cols, eps: 1e-5)
                XCTAssertTrue(s1 == s2, "sum output")
                XCTAssertLessThan(maxAbsDiff(n1, n2), 1e-4, "layer norm \(rows)×\(cols)")
                Kernels.addRMSNorm(a, b, weight: g, out: &n1, sum: &s1, rows: rows, cols: cols, eps: 1e-6, pool: pool)
                ReferenceKernels.addRMSNorm(a, b, weight: g, out: &n2, sum: &s2, rows: rows, cols: cols, eps: 1e-6)
                XCTAssertTrue(s1 == s2, "sum output")
                XCTAssertLessThan(maxAbsDiff(n1, n2), 1e-4, "rms norm \(rows)×\(cols)")
            }
        }
    }
}

final class FastMathTests: XCTestCase {
    func testFastExpMatchesExpOnTheSoftmaxRange() {
        // Relative error grows with |x| only through rounding x·log₂e to float (≈ |t|·6e-8·ln 2).
        var worstNear = 0.0, worstFar = 0.0
        var x: Float = -90
        while x <= 0 {
            let got = Double(Kernels.fastExpNonPositive(x)), want = Foundation.exp(Double(x))
            if want > 1e-30 {
                let e = abs(got - want) / want
                if x >= -10 { worstNear = max(worstNear, e) } else { worstFar = max(worstFar, e) }
            }
            x += 0.001
        }
        XCTAssertLessThan(worstNear, 1e-6)
        XCTAssertLessThan(worstFar, 5e-6)
        XCTAssertEqual(Kernels.fastExpNonPositive(0), 1)
        XCTAssertEqual(Kernels.fastExpNonPositive(-.infinity), 0)
        XCTAssertEqual(Kernels.fastExpNonPositive(-100), 0)
    }

    /// Lanes do not interact: each lane of a mixed vector equals that value computed alone.
    func testEightLaneFastExpLanesAreIndependent() {
        var x: Float = -95
        while x <= 0 {
            let lanes = SIMD8<Float>((0..<8).map { x + Float($0) * 0.0001 })
            let got = Kernels.fastExpNonPositive(lanes)
            for i in 0..<8 { XCTAssertEqual(got[i].bitPattern, Kernels.fastExpNonPositive(lanes[i]).bitPattern, "x = \(lanes[i])") }
            x += 0.0137
        }
        let edgeValues: [Float] = [0, -Float.infinity, -87, -87.5, -1e-30, -126, -0.5, -0.49999997]
        let edges = Kernels.fastExpNonPositive(SIMD8<Float>(edgeValues))
        for (i, e) in edgeValues.enumerated() {
            XCTAssertEqual(edges[i].bitPattern, Kernels.fastExpNonPositive(e).bitPattern, "x = \(e)")
        }
    }
}
