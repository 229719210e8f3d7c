// sparsify: textual IR in → out with real weight data; the cases where it must not fire
// (too few zeros, a weight another node also reads, int8 layers, no data).
import IngotCore
import IngotIR
import IngotPasses
import XCTest

final class SparsifyTests: XCTestCase {
    let model = """
        graph m(%x: f32[batch, 4], %ids: i32[batch]) -> (%y, %z) {
          @w: f32[3, 4]
          @b: f32[3]
          @e: f32[5, 4]
          %y: f32[batch, 3] = linear(%x, @w, @b) {activation = gelu}
          %z: f32[batch, 5] = matmul(%x, @e) {transpose_b = true}
          %g: f32[batch, 4] = gather(@e, %ids)
          return %y, %z
        }
        """
    // @w: 7 of 12 zero (58%); @e: 10 of 20 zero but also gathered.
    let data: [String: [Float]] = [
        "w": [0, 1.5, 0, 0, 2, 0, 0, -1, 0, 0, 3, 0.25],
        "b": [0.1, 0.2, 0.3],
        "e": [0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1],
    ]

    func testConvertsASparseLayerToCSR() throws {
        var g = try graphWithData(model, data)
        let record = try Pass.sparsify.run(&g, options: ["min-sparsity": "0.5"])
        try g.verify()
        XCTAssertEqual(g.text, """
            graph m(%x: f32[batch, 4], %ids: i32[batch]) -> (%y, %z) {
              @b: f32[3]
              @e: f32[5, 4]
              @w.values: f32[5]
              @w.columns: i16[5]
              @w.row_offsets: i32[4]
              %y: f32[batch, 3] = linear_sparse(%x, @w.values, @w.columns, @w.row_offsets, @b) {activation = gelu}
              %z: f32[batch, 5] = matmul(%x, @e) {transpose_b = true}
              %g: f32[batch, 4] = gather(@e, %ids)
              return %y, %z
            }

            """)
        XCTAssertEqual(record.stat("layers_converted"), 1)
        XCTAssertEqual(record.stat("dense_bytes"), 48)
        XCTAssertEqual(record.stat("sparse_bytes"), 5 * 6 + 4 * 4)
        XCTAssertEqual(record.layers.first?.sparsity ?? 0, 7.0 / 12, accuracy: 1e-9)
        XCTAssertEqual(try g.floats(of: g.value(named: "w.values")!), [1.5, 2, -1, 3, 0.25])
        let columns = try XCTUnwrap(g.constant(g.value(named: "w.columns")!)?.source).load().toArray(of: Int16.self)
        XCTAssertEqual(columns, [1, 0, 3, 2, 3])
        let offsets = try XCTUnwrap(g.constant(g.value(named: "w.row_offsets")!)?.source).load().toArray(of: Int32.self)
        XCTAssertEqual(offsets, [0, 1, 3, 5])
    }

    func testDoesNotFireBelowTheThresholdOrOnSharedWeights() throws {
        var g = try graphWithData(model, data)
        let before = g.text
        _ = try Pass.sparsify.run(&g, options: ["min-sparsity": "0.6"])
        XCTAssertEqual(g.text, before, "58% zeros is below 0.6; @e is read by gather too")
        // auto: an encoder (no KV cache) converts from 75% zeros only.
        let record = try Pass.sparsify.run(&g)
        XCTAssertEqual(record.stat("min_sparsity"), 0.75)
        XCTAssertEqual(g.text, before)
        XCTAssertThrowsError(try Pass.sparsify.run(&g, options: ["min-sparsity": "most"])) { error in
            XCTAssertTrue("\(error)".contains("value 'most', expected auto or a number in 0.0...0.999"), "\(error)")
        }
    }

    func testDoesNotFireWithoutWeightDataOrOnInt8Layers() throws {
        try assertNoChange(.sparsify, model)
        try assertNoChange(.sparsify, """
            graph m(%x: f32[batch, 4]) -> (%y) {
              @q: i8[3, 4]
              @s: f32[3, 1]
              %y: f32[batch, 3] = linear_int8(%x, @q, @s) {group = 4, activation = none, mode = dynamic, input_scale = 0.0, smoothed = false}
              return %y
            }
            """)
    }
}
