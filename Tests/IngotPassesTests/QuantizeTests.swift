// quantize pass: textual IR in → out (which nodes convert, shared tied weights, where it
// must not fire), and the weight quantizer's arithmetic on data.

import IngotCore
import IngotIR
import IngotPasses
import XCTest

final class QuantizeTests: XCTestCase {
    let tiedLM = """
        graph lm(%ids: i32[1, seq]) -> (%logits) {
          @embed: f32[32, 64]
          @w1: f32[64, 64]
          @small: f32[64, 16]
          %x: f32[1, seq, 64] = gather(@embed, %ids)
          %h: f32[1, seq, 64] = linear(%x, @w1) {activation = silu}
          %s: f32[1, seq, 16] = slice(%h) {axis = -1, start = 0, end = 16}
          %t: f32[1, seq, 64] = linear(%s, @small) {activation = none}
          %logits: f32[1, seq, 32] = matmul(%t, @embed) {transpose_b = true}
          return %logits
        }
        """

    func testConvertsLinearsEmbeddingAndTiedHeadSharingOneInt8Copy() throws {
        try assertPass(.quantize, tiedLM, """
            graph lm(%ids: i32[1, seq]) -> (%logits) {
              @small: f32[64, 16]
              @embed.q8: i8[32, 64]
              @embed.q8.scales: f32[32, 2]
              @w1.q8: i8[64, 64]
              @w1.q8.scales: f32[64, 2]
              %x: f32[1, seq, 64] = gather_int8(@embed.q8, @embed.q8.scales, %ids) {group = 32}
              %h: f32[1, seq, 64] = linear_int8(%x, @w1.q8, @w1.q8.scales) {group = 32, activation = silu, mode = dynamic, input_scale = 0.0, smoothed = false}
              %s: f32[1, seq, 16] = slice(%h) {axis = -1, start = 0, end = 16}
              %t: f32[1, seq, 64] = linear(%s, @small) {activation = none}
              %logits: f32[1, seq, 32] = linear_int8(%t, @embed.q8, @embed.q8.scales) {group = 32, activation = none, mode = dynamic, input_scale = 0.0, smoothed = false}
              return %logits
            }

            """, options: ["group": "32"])
    }

    func testKeepsEmbeddingsAndHeadInFloatWhenAsked() throws {
        try assertPass(.quantize, tiedLM, """
            graph lm(%ids: i32[1, seq]) -> (%logits) {
              @embed: f32[32, 64]
              @small: f32[64, 16]
              @w1.q8: i8[64, 64]
              @w1.q8.scales: f32[64, 1]
              %x: f32[1, seq, 64] = gather(@embed, %ids)
              %h: f32[1, seq, 64] = linear_int8(%x, @w1.q8, @w1.q8.scales) {group = 64, activation = silu, mode = weight_only, input_scale = 0.0, smoothed = false}
              %s: f32[1, seq, 16] = slice(%h) {axis = -1, start = 0, end = 16}
              %t: f32[1, seq, 64] = linear(%s, @small) {activation = none}
              %logits: f32[1, seq, 32] = matmul(%t, @embed) {transpose_b = true}
              return %logits
            }

            """, options: ["embeddings": "f32", "lm-head": "f32", "mode": "weight-only"])
    }

    func testDoesNotFireOnComputedWeightsOrNarrowInputs() throws {
        try assertNoChange(.quantize, """
            graph m(%x: f32[4, 16], %k: f32[8, 16]) -> (%y, %z) {
              @narrow: f32[8, 16]
              %y: f32[4, 8] = matmul(%x, %k) {transpose_b = true}
              %z: f32[4, 8] = linear(%x, @narrow) {activation = none}
              return %y, %z
            }
            """)
    }

    func testWeightQuantizerRoundTripsWithinHalfAScale() {
        var rng = SplitMix64(seed: 42) // seeded: the error bound below is a property of these weights, not of luck
        let (n, k, group) = (7, 96, 32)
        var w = (0..<n * k).map { _ in Float.random(in: -0.2...0.2, using: &rng) }
        for j in 32..<64 { w[2 * k + j] = 0 } // an all-zero group
        w[5 * k + 3] = 3.5 // an outlier: only its own group's scale grows
        let q = WeightQuantizer.quantize(w, rows: n, cols: k, group: group)
        XCTAssertEqual(q.scales.count, n * k / group)
        XCTAssertEqual(q.scales[2 * 3 + 1], 0, "all-zero group → scale 0, no NaN")
        XCTAssertEqual(q.scales[5 * 3 + 0], 3.5 / 127, accuracy: 1e-9)
        XCTAssertLessThan(q.scales[5 * 3 + 1], 0.2 / 127 + 1e-9)
        for i in w.indices {
            let s = q.scales[(i / k) * 3 + (i % k) / group]
            XCTAssertLessThanOrEqual(abs(w[i] - Float(q.values[i]) * s), s / 2 + 1e-7)
            XCTAssertGreaterThanOrEqual(q.values[i], -127)
        }
        // Expected ≈ 0.0104: rounding error s/√12 per weight, dominated by the 31 ordinary
        // weights sharing the outlier's group (s = 3.5/127), over ‖w‖ ≈ 4.6. The old bound of
        // 0.01 sat on that mean and failed for about half of all random draws.
        XCTAssertLessThan(WeightQuantizer.relativeError(w, q, cols: k, group: group), 0.015)
    }

    func testActivationScaleEstimators() {
        var samples = (0..<10_000).map { Float($0 % 100) / 100 }
        samples.append(50) // one outlier
        XCTAssertEqual(WeightQuantizer.activationScale(samples, method: "minmax", percentile: 0), 50 / 127)
        XCTAssertLessThan(WeightQuantizer.activationScale(samples, method: "percentile", percentile: 99.9), 1.0 / 127)
        let mse = WeightQuantizer.activationScale(samples, method: "mse", percentile: 0)
        XCTAssertLessThan(mse, 50 / 127, "clipping the lone outlier lowers the squared error")
    }
}
