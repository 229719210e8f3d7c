// LinearFixture: the inputs of one linear layer at an all-MiniLM-L6-v2 shape, prepared once
// for the three kernels timed on it — float32 weights for Kernels.linear, per-row int8
// weights for ingot_q8_gemm, and 7-bit weights in the packed panel layout for
// ingot_q8p_gemm — plus the activation scratch each kernel quantizes into. Weight
// preparation happens here, outside the timed region; activation quantization is timed.
// It does not check accuracy beyond a coarse guard that the three outputs agree.

import CKernels
import IngotIR
import IngotKernels
import IngotPasses

/// One linear layer y[m, n] = x[m, k] · w[n, k]ᵀ + bias[n].
struct LinearShape {
    let name: String
    let m: Int
    let k: Int
    let n: Int

    /// Rows of one 128-token sentence through all-MiniLM-L6-v2 (hidden 384, FFN 1536).
    static let sentenceRows = 128
    static let miniLM: [LinearShape] = [
        LinearShape(name: "qkv", m: sentenceRows, k: 384, n: 1152),
        LinearShape(name: "ffn-in", m: sentenceRows, k: 384, n: 1536),
        LinearShape(name: "ffn-out", m: sentenceRows, k: 1536, n: 384),
    ]

    var label: String { "\(name) m\(m) k\(k) n\(n)" }
}

/// Lives for the whole process: the benchmark closures hold raw pointers into it.
final class LinearFixture {
    let shape: LinearShape
    /// Inputs shared by all kernels: x [m, k], bias [n].
    let x: UnsafeMutablePointer<Float>
    let bias: UnsafeMutablePointer<Float>
    /// Float32 weights [n, k] and the single-participant pool Kernels.linear requires.
    let weights: UnsafeMutablePointer<Float>
    let pool = ThreadPool(count: 1)
    /// Dynamic int8: weights [n, k] in [-127, 127] with one scale per row; activation
    /// scratch xq [m, k] and xs [m] (one group per row: group = k).
    let q8Weights: UnsafeMutablePointer<Int8>
    let q8WeightScales: UnsafeMutablePointer<Float>
    let q8Rows: UnsafeMutablePointer<Int8>
    let q8RowScales: UnsafeMutablePointer<Float>
    /// Packed 7-bit: weights [⌈n/16⌉, kp/4, 16, 4], scales [n], colsums [n]; activation
    /// scratch u8 rows [m, kp], scales [m], zero points [m].
    let kp: Int
    let packedWeights: UnsafeMutablePointer<Int8>
    let packedColsums: UnsafeMutablePointer<Int32>
    let packedWeightScales: UnsafeMutablePointer<Float>
    let packedRows: UnsafeMutablePointer<UInt8>
    let packedRowScales: UnsafeMutablePointer<Float>
    let packedRowZeros: UnsafeMutablePointer<Int32>
    /// Output y [m, n], written by every kernel.
    let out: UnsafeMutablePointer<Float>

    var panels: Int { (shape.n + PackedInt8Layout.panel - 1) / PackedInt8Layout.panel }

    init(_ shape: LinearShape, seed: UInt64) {
        self.shape = shape
        let (m, k, n) = (shape.m, shape.k, shape.n)
        var generator = LCG(seed: seed)
        x = .allocate(capacity: m * k)
        for i in 0..<m * k { x[i] = generator.nextSigned() }
        bias = .allocate(capacity: n)
        for j in 0..<n { bias[j] = 0.1 * generator.nextSigned() }
        // Uniform in ±1/√k keeps outputs near unit scale, as in a trained layer.
        let weightRange = 1 / Float(k).squareRoot()
        weights = .allocate(capacity: n * k)
        for i in 0..<n * k { weights[i] = weightRange * generator.nextSigned() }

        q8Weights = .allocate(capacity: n * k)
        q8WeightScales = .allocate(capacity: n)
        ingot_q8_quantize_rows(weights, Int64(n), Int64(k), Int64(k), q8Weights, q8WeightScales)
        q8Rows = .allocate(capacity: m * k)
        q8RowScales = .allocate(capacity: m)

        kp = (k + PackedInt8Layout.inputBlock - 1) / PackedInt8Layout.inputBlock * PackedInt8Layout.inputBlock
        let sevenBit = WeightQuantizer.quantize(Array(UnsafeBufferPointer(start: weights, count: n * k)), rows: n, cols: k, group: k,
                                                limit: Float(PackedInt8Layout.maxWeight(inputBits: 8)))
        let packed = PackedInt8Layout.pack(sevenBit.values, outputs: n, inputs: k)
        packedWeights = .allocate(capacity: packed.packed.count)
        packedWeights.initialize(from: packed.packed, count: packed.packed.count)
        packedColsums = .allocate(capacity: n)
        packedColsums.initialize(from: packed.colsums, count: n)
        packedWeightScales = .allocate(capacity: n)
        packedWeightScales.initialize(from: sevenBit.scales, count: n)
        packedRows = .allocate(capacity: m * kp)
        packedRowScales = .allocate(capacity: m)
        packedRowZeros = .allocate(capacity: m)

        out = .allocate(capacity: m * n)
        checkAgreement()
    }

    /// Kernels.linear: OpenBLAS sgemm over all columns, bias in the epilogue.
    @inline(__always)
    func runFloat32() {
        Kernels.linear(x, weights, bias: bias, out, m: shape.m, n: shape.n, k: shape.k, activation: .none, pool: pool)
    }

    /// Symmetric per-row int8 activations, then the int8 × int8 GEMM over all columns.
    @inline(__always)
    func runDynamicInt8() {
        let (m, k, n) = (Int64(shape.m), Int64(shape.k), Int64(shape.n))
        ingot_q8_quantize_rows(x, m, k, k, q8Rows, q8RowScales)
        ingot_q8_gemm(q8Rows, q8RowScales, m, q8Weights, q8WeightScales, n, k, k, bias, out, 0, n)
    }

    /// Asymmetric per-row u8 activations, then the u8 × s7 GEMM over all panels.
    @inline(__always)
    func runPackedInt8() {
        let (m, k) = (Int64(shape.m), Int64(shape.k))
        ingot_q8p_quantize_rows(x, m, k, Int64(kp), 255, packedRows, packedRowScales, packedRowZeros)
        ingot_q8p_gemm(packedRows, packedRowScales, packedRowZeros, m, Int64(kp), packedWeights, packedWeightScales,
                       packedColsums, Int64(shape.n), bias, out, 0, Int64(panels))
    }

    /// Stops the run if either int8 kernel's output is more than 5% (relative RMS) away from
    /// float32: a wrong packing or argument order shows up here, not as a fast wrong number.
    private func checkAgreement() {
        let count = shape.m * shape.n
        runFloat32()
        let reference = Array(UnsafeBufferPointer(start: out, count: count))
        for (kernel, run) in [("int8 dynamic", runDynamicInt8), ("int8 packed", runPackedInt8)] {
            out.update(repeating: .nan, count: count)
            run()
            var errorSquares = 0.0, referenceSquares = 0.0
            for i in 0..<count {
                let d = Double(out[i]) - Double(reference[i])
                errorSquares += d * d
                referenceSquares += Double(reference[i]) * Double(reference[i])
            }
            let relative = (errorSquares / referenceSquares).squareRoot()
            precondition(relative < 0.05, "\(shape.label) \(kernel): relative RMS error \(relative) against float32")
        }
    }
}
