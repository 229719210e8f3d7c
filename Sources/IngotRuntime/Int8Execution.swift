// Int8Execution: runs a linear_int8 node — divides by the SmoothQuant factors when the node
// has them, quantizes the input rows into the node's scratch buffer (dynamic: per row and
// group; static: the calibrated scale), then the int8 GEMM over column tiles split across
// the pool, then bias and activation on each tile. Weight-only mode feeds the float rows
// straight to the int8-weight GEMV. The kernels are in CKernels; this file only sequences them.

import CKernels
import IngotCore
import IngotIR
import IngotKernels

enum Int8Execution {
    /// Scratch bytes (Ops.LinearInt8.scratchBytes in Lowering/Int8Linear.swift): [m, k] int8, then [m, k/group] f32 scales, then [m, k] f32 when smoothed.
    static func scratchBytes(m: Int, k: Int, attributes a: Int8LinearAttributes) -> Int {
        if a.mode == .weightOnly {
            // Several rows: each thread widens a tile of weights to float for one sgemm.
            let tiles = m >= weightOnlyGemmRows ? Threads.pool.count * align(weightOnlyTile * k * 4) : 0
            return tiles + (a.smoothed ? align(m * k * 4) : 0)
        }
        return align(m * k) + align(m * (k / max(a.group, 1)) * 4) + (a.smoothed ? m * k * 4 : 0)
    }

    /// Weight-only layers with at least this many rows widen weights and use sgemm (prefill);
    /// fewer rows stream int8 weights through the GEMV (decode).
    static let weightOnlyGemmRows = 4
    /// Output columns one thread widens at a time.
    static let weightOnlyTile = 256

    static func align(_ n: Int) -> Int { (n + 63) / 64 * 64 }

    static func linear(x input: UnsafeMutablePointer<Float>, weights: UnsafeMutablePointer<Int8>, scales: UnsafeMutablePointer<Float>,
                       bias: UnsafePointer<Float>?, smooth: UnsafePointer<Float>?, out: UnsafeMutablePointer<Float>,
                       m: Int, n: Int, k: Int, attributes a: Int8LinearAttributes, activation: EpilogueActivation,
                       scratch: UnsafeMutableRawPointer?) throws {
        let groups = k / a.group
        let pool = Threads.pool
        var x = UnsafePointer(input)
        if a.mode == .weightOnly && smooth == nil {
            if m >= weightOnlyGemmRows {
                guard let scratch else { throw IngotError(.internal, location: "linear_int8", "no scratch buffer planned") }
                widenedGemm(x: x, weights: weights, scales: scales, bias: bias, out: out, m: m, n: n, k: k, group: a.group,
                            activation: activation, scratch: scratch)
            } else {
                weightOnly(x: x, weights: weights, scales: scales, bias: bias, out: out, m: m, n: n, k: k, group: a.group, activation: activation)
            }
            return
        }
        guard let scratch else { throw IngotError(.internal, location: "linear_int8", "no scratch buffer planned") }
        let q = scratch.assumingMemoryBound(to: Int8.self)
        let xs = (scratch + align(m * k)).assumingMemoryBound(to: Float.self)
        if let smooth {
            let divided = (scratch + align(m * k) + align(m * groups * 4)).assumingMemoryBound(to: Float.self)
            pool.parallelFor(m, minimumPerThread: 8) { rows in
                for r in rows {
                    let src = input + r * k, dst = divided + r * k
                    for j in 0..<k { dst[j] = src[j] / smooth[j] }
                }
            }
            x = UnsafePointer(divided)
        }
        let tiles = (n + 15) / 16
        switch a.mode {
        case .weightOnly:
            weightOnly(x: x, weights: weights, scales: scales, bias: bias, out: out, m: m, n: n, k: k, group: a.group, activation: activation)
            return
        case .dynamic:
            pool.parallelFor(m, minimumPerThread: 4) { rows in
                ingot_q8_quantize_rows(x + rows.lowerBound * k, Int64(rows.count), Int64(k), Int64(a.group),
                                       q + rows.lowerBound * k, xs + rows.lowerBound * groups)
            }
        case .static:
            let inv = 1 / a.inputScale
            pool.parallelFor(m, minimumPerThread: 4) { rows in
                for r in rows {
                    let src = x + r * k, dst = q + r * k
                    for j in 0..<k { dst[j] = Int8(max(-127, min(127, (src[j] * inv).rounded(.toNearestOrEven)))) }
                    for g in 0..<groups { xs[r * groups + g] = a.inputScale }
                }
            }
        }
        pool.parallelFor(tiles, minimumPerThread: 2) { t in
            let n0 = t.lowerBound * 16, n1 = min(n, t.upperBound * 16)
            ingot_q8_gemm(q, xs, Int64(m), weights, scales, Int64(n), Int64(k), Int64(a.group), bias, out, Int64(n0), Int64(n1))
            if activation != .none {
                var r = 0
                while r < m {
                    Kernels.epilogue(out, rows: r..<min(m, r + 16), cols: n0..<n1, ld: n, bias: nil, activation)
                    r += 16
                }
            }
        }
    }

    /// Scratch bytes of `linear_int8_packed`: [m, ⌈K/4⌉·4] u8 rows, [m] f32 scales, [m] i32 zero
    /// points, then [m, K] f32 when smoothed.
    static func packedScratchBytes(m: Int, k: Int, smoothed: Bool) -> Int {
        align(m * paddedInputs(k)) + 2 * align(m * 4) + (smoothed ? m * k * 4 : 0)
    }

    static func paddedInputs(_ k: Int) -> Int { (k + PackedInt8Layout.inputBlock - 1) / PackedInt8Layout.inputBlock * PackedInt8Layout.inputBlock }

    /// linear_int8_packed: x / smooth when smoothed, asymmetric u8 rows (codes up to 255 or 127 by
    /// input_bits), then the packed GEMM over
    /// panels of 16 columns split across the pool, then the activation on each panel.
    static func packedLinear(x input: UnsafeMutablePointer<Float>, weights: UnsafeMutablePointer<Int8>, scales: UnsafeMutablePointer<Float>,
                             colsums: UnsafeMutablePointer<Int32>, bias: UnsafePointer<Float>?, smooth: UnsafePointer<Float>?,
                             out: UnsafeMutablePointer<Float>, m: Int, n: Int, k: Int, inputBits: Int, activation: EpilogueActivation,
                             scratch: UnsafeMutableRawPointer?) throws {
        guard let scratch else { throw IngotError(.internal, location: "linear_int8_packed", "no scratch buffer planned") }
        let levels = PackedInt8Layout.inputLevels(inputBits: inputBits)
        let pool = Threads.pool
        let kp = paddedInputs(k)
        let q = scratch.assumingMemoryBound(to: UInt8.self)
        let xs = (scratch + align(m * kp)).assumingMemoryBound(to: Float.self)
        let xz = (scratch + align(m * kp) + align(m * 4)).assumingMemoryBound(to: Int32.self)
        var x = UnsafePointer(input)
        if let smooth {
            let divided = (scratch + align(m * kp) + 2 * align(m * 4)).assumingMemoryBound(to: Float.self)
            pool.parallelFor(m, minimumPerThread: 8) { rows in
                for r in rows {
                    let src = input + r * k, dst = divided + r * k
                    for j in 0..<k { dst[j] = src[j] / smooth[j] }
                }
            }
            x = UnsafePointer(divided)
        }
        pool.parallelFor(m, minimumPerThread: 4) { rows in
            ingot_q8p_quantize_rows(x + rows.lowerBound * k, Int64(rows.count), Int64(k), Int64(kp), levels,
                                    q + rows.lowerBound * kp, xs + rows.lowerBound, xz + rows.lowerBound)
        }
        let panels = (n + PackedInt8Layout.panel - 1) / PackedInt8Layout.panel
        pool.parallelFor(panels, minimumPerThread: 1) { p in
            ingot_q8p_gemm(q, xs, xz, Int64(m), Int64(kp), weights, scales, colsums, Int64(n), bias, out,
                           Int64(p.lowerBound), Int64(p.upperBound))
            if activation != .none {
                let cols = p.lowerBound * PackedInt8Layout.panel..<min(n, p.upperBound * PackedInt8Layout.panel)
                var r = 0
                while r < m {
                    Kernels.epilogue(out, rows: r..<min(m, r + 16), cols: cols, ld: n, bias: nil, activation)
                    r += 16
                }
            }
        }
    }

    /// Many rows × int8 weights: each thread widens 256-column tiles of the weights to float in
    /// its part of the scratch buffer and runs one sgemm per tile, then bias and activation.
    static func widenedGemm(x: UnsafePointer<Float>, weights: UnsafeMutablePointer<Int8>, scales: UnsafeMutablePointer<Float>,
                            bias: UnsafePointer<Float>?, out: UnsafeMutablePointer<Float>, m: Int, n: Int, k: Int, group: Int,
                            activation: EpilogueActivation, scratch: UnsafeMutableRawPointer) {
        let pool = Threads.pool
        let tiles = (n + weightOnlyTile - 1) / weightOnlyTile
        let stride = align(weightOnlyTile * k * 4)
        pool.run { p in
            let buffer = (scratch + p * stride).assumingMemoryBound(to: Float.self)
            var t = p
            while t < tiles {
                let n0 = t * weightOnlyTile, n1 = min(n, n0 + weightOnlyTile)
                ingot_q8_dequantize_rows(weights, scales, Int64(k), Int64(group), Int64(n0), Int64(n1), buffer)
                Kernels.linearRows(x, buffer, bias: bias.map { $0 + n0 }, out + n0, m: m, n: n1 - n0, k: k, ldOut: n, activation: activation)
                t += pool.count
            }
        }
    }

    /// Float rows × int8 weights, one GEMV per row over column tiles.
    static func weightOnly(x: UnsafePointer<Float>, weights: UnsafeMutablePointer<Int8>, scales: UnsafeMutablePointer<Float>,
                           bias: UnsafePointer<Float>?, out: UnsafeMutablePointer<Float>, m: Int, n: Int, k: Int, group: Int,
                           activation: EpilogueActivation) {
        let tiles = (n + 15) / 16
        for r in 0..<m {
            Threads.pool.parallelFor(tiles, minimumPerThread: 4) { t in
                let n0 = t.lowerBound * 16, n1 = min(n, t.upperBound * 16)
                ingot_q8_gemv_f32(x + r * k, weights, scales, Int64(n), Int64(k), Int64(group), bias, out + r * n, Int64(n0), Int64(n1))
                Kernels.epilogue(out, rows: r..<r + 1, cols: n0..<n1, ld: n, bias: nil, activation)
            }
        }
    }
}
