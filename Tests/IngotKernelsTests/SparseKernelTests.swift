// The CSR sparse linear kernel (AVX2 and portable C paths) against its Double twin: one
// token (decode) and token counts around the 64-wide register tile and its 8-wide tail,
// empty rows, rows with one nonzero, every activation, with and without bias.
import XCTest
@testable import IngotKernels

final class SparseKernelTests: XCTestCase {
    var rng = Rand(state: 11)

    /// A random [n, k] matrix with about `density` nonzeros and rows 0 and n/2 empty, in CSR.
    func csr(n: Int, k: Int, density: Float) -> (values: [Float], columns: [Int16], offsets: [Int32]) {
        var values: [Float] = [], columns: [Int16] = [], offsets: [Int32] = [0]
        for r in 0..<n {
            for c in 0..<k where r != 0 && r != n / 2 && (rng.next() + 1) / 2 < density {
                values.append(rng.next())
                columns.append(Int16(c))
            }
            if r == 1 && values.isEmpty { values.append(0.5); columns.append(Int16(k - 1)) }
            offsets.append(Int32(values.count))
        }
        return (values, columns, offsets)
    }

    func testSparseLinearMatchesItsTwin() {
        let activations: [EpilogueActivation] = [.none, .gelu, .geluTanh, .silu]
        for portable in [false, true] {
            Kernels.setSparsePortable(portable)
            defer { Kernels.setSparsePortable(false) }
            for pool in [ThreadPool(count: 1), ThreadPool(count: 3)] {
                for (m, n, k, density) in [(1, 37, 29, Float(0.5)), (1, 9, 300, 0.1), (3, 21, 17, 0.3), (8, 5, 8, 0.9),
                                           (63, 11, 40, 0.5), (64, 13, 33, 0.25), (65, 7, 19, 0.5), (130, 17, 71, 0.05)] {
                    let (values, columns, offsets) = csr(n: n, k: k, density: density)
                    for activation in activations {
                        for withBias in [false, true] {
                            let x = rng.array(m * k, scale: 2), b = rng.array(n)
                            var fast = [Float](repeating: .nan, count: m * n), ref = fast
                            var scratch = [Float](repeating: .nan, count: Kernels.sparseScratchFloats(m: m, n: n, k: k))
                            b.withUnsafeBufferPointer { bp in
                                let bias = withBias ? bp.baseAddress : nil
                                scratch.withUnsafeMutableBufferPointer { sp in
                                    Kernels.linearSparse(x, values: values, columns: columns, rowOffsets: offsets, bias: bias, &fast,
                                                         m: m, n: n, k: k, activation: activation, scratch: sp.baseAddress, pool: pool)
                                }
                                ReferenceKernels.linearSparse(x, values: values, columns: columns, rowOffsets: offsets, bias: bias, &ref,
                                                              m: m, n: n, k: k, activation: activation)
                            }
                            XCTAssertLessThan(maxAbsDiff(fast, ref), 1e-5 * Float(max(k, 8)),
                                              "m \(m) n \(n) k \(k) \(activation) bias \(withBias) portable \(portable) threads \(pool.count)")
                        }
                    }
                }
            }
        }
    }

    func testRowsSplitEvenlyByNonzeros() {
        let offsets: [Int32] = [0, 0, 10, 10, 11, 30, 30, 40]
        let chunks = Kernels.balancedRowChunks(offsets, rows: 7, parts: 4)
        XCTAssertEqual(chunks.first?.lowerBound, 0)
        XCTAssertEqual(chunks.last?.upperBound, 7)
        XCTAssertTrue(zip(chunks, chunks.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound })
        XCTAssertLessThanOrEqual(chunks.count, 4)
    }
}
