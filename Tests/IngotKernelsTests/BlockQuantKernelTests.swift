// The block-quantized kernels (CKernels/blockq.c) against their twins for every block type on
// every instruction path this CPU has: decoded weights bit-identical to IngotCore's BlockQuant,
// the portable product bit-identical to the twin, the vector products within float
// reassociation; odd M and N, several K, all-zero blocks, bias and activation, 1–3 threads.
import XCTest
import IngotCore
@testable import IngotKernels

final class BlockQuantKernelTests: XCTestCase {
    static let types: [DType] = [.q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q4_K, .q5_K, .q6_K]
    var rng = Rand(state: 7)
    var byteState: UInt64 = 0x9E3779B97F4A7C15


    /// Byte offsets of a block's f16 scale fields.
    static func halfFields(_ t: DType) -> [Int] {
        switch t {
        case .q4_0, .q5_0, .q8_0: return [0]
        case .q4_1, .q5_1, .q4_K, .q5_K: return [0, 2]
        case .q6_K: return [208]
        default: return []
        }
    }

    /// `rows` rows of `k` weights of random blocks; the f16 fields hold small finite values.
    func randomBlocks(_ t: DType, rows: Int, k: Int) -> [UInt8] {
        let blocks = rows * k / t.blockSize
        var out = [UInt8](repeating: 0, count: blocks * t.byteSize)
        for i in out.indices { out[i] = byteSelf() }
        for b in 0..<blocks {
            for f in Self.halfFields(t) {
                let h = halfBitsFromFloat(rng.next() * 0.05)
                out[b * t.byteSize + f] = UInt8(h & 0xFF)
                out[b * t.byteSize + f + 1] = UInt8(h >> 8)
            }
        }
        return out
    }

    private func byteSelf() -> UInt8 {
        byteState = byteState &* 6364136223846793005 &+ 1442695040888963407
        return UInt8(truncatingIfNeeded: byteState >> 33)
    }

    override func tearDown() { XCTAssertNoThrow(try Int8KernelPath.use(Int8KernelPath.best)) }

    /// Every path this CPU has, each once per block-kernel path it maps to.
    var paths: [Int8KernelPath] { Int8KernelPath.available.filter { [.portable, .avx2, .avx512BW].contains($0) } }

    func testDecodedWeightsAreBitIdenticalToBlockQuantOnEveryPath() throws {
        for path in paths {
            try Int8KernelPath.use(path)
            for t in Self.types {
                let (n, k) = (5, 2 * t.blockSize)
                let w = randomBlocks(t, rows: n, k: k)
                let reference = BlockQuantReferenceKernels.dequantize(w, dtype: t, n: n, k: k)
                var fast = [Float](repeating: .nan, count: (n - 1) * k)
                w.withUnsafeBytes { BlockQuantKernels.dequantizeRows($0.baseAddress!, dtype: t, k: k, rows: 1..<n, &fast) }
                XCTAssertEqual(fast.map(\.bitPattern), reference[k...].map(\.bitPattern), "\(t) on \(path.rawValue) (\(BlockQuantKernels.pathName))")
                XCTAssertFalse(reference.contains { !$0.isFinite }, "\(t): random blocks decode to finite weights")
            }
        }
    }

    func testProductsAgainstTwinOnEveryPathOddSizes() throws {
        let pools = [ThreadPool(count: 1), ThreadPool(count: 2), ThreadPool(count: 3)]
        for path in paths {
            try Int8KernelPath.use(path)
            for t in Self.types {
                for (m, n, blocks) in [(1, 1, 1), (1, 37, 3), (2, 17, 2), (3, 65, 1), (5, 300, 2), (17, 257, 1)] {
                    let k = blocks * t.blockSize
                    let w = randomBlocks(t, rows: n, k: k), x = rng.array(m * k), bias = rng.array(n)
                    let decoded = BlockQuantReferenceKernels.dequantize(w, dtype: t, n: n, k: k)
                    let reference = BlockQuantReferenceKernels.linear(x: x, m: m, k: k, w: w, dtype: t, n: n, bias: bias)
                    for pool in pools {
                        let scratch = UnsafeMutableRawPointer.allocate(byteCount: max(1, BlockQuantKernels.scratchBytes(m: m, k: k, pool: pool)), alignment: 64)
                        defer { scratch.deallocate() }
                        var fast = [Float](repeating: .nan, count: m * n)
                        w.withUnsafeBytes { wb in
                            BlockQuantKernels.linear(x, wb.baseAddress!, dtype: t, bias: bias, &fast, m: m, n: n, k: k, activation: .none,
                                                     scratch: scratch, pool: pool)
                        }
                        for i in 0..<m {
                            for j in 0..<n {
                                var magnitude: Float = 0
                                for s in 0..<k { magnitude += abs(x[i * k + s] * decoded[j * k + s]) }
                                let (a, b) = (fast[i * n + j], reference[i * n + j])
                                if path == .portable && m < BlockQuantKernels.gemmRows {
                                    XCTAssertEqual(a.bitPattern, b.bitPattern, "\(t) portable m \(m) n \(n) k \(k) [\(i), \(j)]: in-order sums are the twin's")
                                } else {
                                    XCTAssertLessThanOrEqual(abs(a - b), 1e-5 * magnitude + 1e-6 * abs(bias[j]),
                                                             "\(t) \(path.rawValue) m \(m) n \(n) k \(k) threads \(pool.count) [\(i), \(j)]")
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    func testAllZeroBlocksGiveTheBiasAndActivationIsApplied() throws {
        let pool = ThreadPool(count: 2)
        for path in paths {
            try Int8KernelPath.use(path)
            for t in Self.types {
                for m in [1, 6] {
                    let (n, k) = (19, 2 * t.blockSize)
                    let w = [UInt8](repeating: 0, count: n * k / t.blockSize * t.byteSize)
                    let x = rng.array(m * k), bias = rng.array(n)
                    let scratch = UnsafeMutableRawPointer.allocate(byteCount: max(1, BlockQuantKernels.scratchBytes(m: m, k: k, pool: pool)), alignment: 64)
                    defer { scratch.deallocate() }
                    var y = [Float](repeating: .nan, count: m * n)
                    w.withUnsafeBytes { wb in
                        BlockQuantKernels.linear(x, wb.baseAddress!, dtype: t, bias: bias, &y, m: m, n: n, k: k, activation: .silu,
                                                 scratch: scratch, pool: pool)
                    }
                    for i in 0..<m {
                        for j in 0..<n {
                            let b = bias[j]
                            XCTAssertEqual(y[i * n + j], b / (1 + exp(-b)), accuracy: 1e-6, "\(t) \(path.rawValue) m \(m): silu(0 + bias)")
                        }
                    }
                }
            }
        }
    }

    func testBlockSizesAndBytesMatchTheDTypeTable() {
        for t in Self.types {
            XCTAssertEqual(BlockQuantKernels.blockSize(t), t.blockSize, "\(t)")
            XCTAssertEqual(BlockQuantKernels.blockBytes(t), t.byteSize, "\(t)")
        }
        XCTAssertEqual(BlockQuantKernels.blockSize(.f32), 0, "not a block type")
    }
}
