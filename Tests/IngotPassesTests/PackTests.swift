// pack: textual IR in → out after `quantize=int8` with 7-bit weights (u8 inputs) and 8-bit
// weights (7-bit inputs) on real weight data (the packed bytes and column sums checked against
// the layout), and the cases where it must not fire: 8-bit weights with `eight-bit=keep`,
// block-wise scales, weight-only and static layers, weights without data, and a pipeline
// that lists it before `quantize`.
import IngotCore
import IngotIR
import IngotPasses
import XCTest

final class PackTests: XCTestCase {
    let model = """
        graph m(%x: f32[batch, 8]) -> (%z) {
          @w1: f32[20, 8]
          @b1: f32[20]
          @w2: f32[3, 20]
          %y: f32[batch, 20] = linear(%x, @w1, @b1) {activation = gelu}
          %z: f32[batch, 3] = linear(%y, @w2) {activation = none}
          return %z
        }
        """

    func data() -> [String: [Float]] {
        var state: UInt64 = 5
        func next() -> Float {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Double(state >> 11) / Double(1 << 53)) * 2 - 1
        }
        return ["w1": (0..<160).map { _ in next() }, "b1": (0..<20).map { _ in next() }, "w2": (0..<60).map { _ in next() }]
    }

    func quantized(_ options: [String: String]) throws -> Graph {
        var g = try graphWithData(model, data())
        _ = try Pass.quantize.run(&g, options: ["min-inputs": "1"].merging(options) { $1 })
        return g
    }

    func bytes<T>(_ g: Graph, _ name: String, as: T.Type) throws -> [T] {
        try XCTUnwrap(g.constant(XCTUnwrap(g.value(named: name)))?.source).load().toArray(of: T.self)
    }

    func testPacksSevenBitDynamicLayers() throws {
        var g = try quantized(["weight-bits": "7"])
        let rowMajor1 = try bytes(g, "w1.q8", as: Int8.self), rowMajor2 = try bytes(g, "w2.q8", as: Int8.self)
        XCTAssertEqual(rowMajor1.map { abs(Int($0)) }.max(), 63, "weight-bits=7 uses the whole ±63 range")
        let scales1 = try bytes(g, "w1.q8.scales", as: Float.self)
        let record = try Pass.pack.run(&g)
        try g.verify()
        XCTAssertEqual(g.text, """
            graph m(%x: f32[batch, 8]) -> (%z) {
              @b1: f32[20]
              @w1.q8.packed: i8[2, 2, 64]
              @w1.q8.colsums: i32[20]
              @w1.q8.scales.n: f32[20]
              @w2.q8.packed: i8[1, 5, 64]
              @w2.q8.colsums: i32[3]
              @w2.q8.scales.n: f32[3]
              %y: f32[batch, 20] = linear_int8_packed(%x, @w1.q8.packed, @w1.q8.scales.n, @w1.q8.colsums, @b1) {activation = gelu, input_bits = 8, smoothed = false}
              %z: f32[batch, 3] = linear_int8_packed(%y, @w2.q8.packed, @w2.q8.scales.n, @w2.q8.colsums) {activation = none, input_bits = 8, smoothed = false}
              return %z
            }

            """)
        let packed1 = try bytes(g, "w1.q8.packed", as: Int8.self)
        XCTAssertEqual(PackedInt8Layout.unpack(packed1, outputs: 20, inputs: 8), rowMajor1)
        XCTAssertEqual(packed1.count, 2 * 2 * 64, "20 rows pad to two 16-column panels")
        XCTAssertEqual(try bytes(g, "w1.q8.colsums", as: Int32.self), (0..<20).map { j in (0..<8).reduce(Int32(0)) { $0 + Int32(rowMajor1[j * 8 + $1]) } })
        XCTAssertEqual(try bytes(g, "w1.q8.scales.n", as: Float.self), scales1)
        XCTAssertEqual(PackedInt8Layout.unpack(try bytes(g, "w2.q8.packed", as: Int8.self), outputs: 3, inputs: 20), rowMajor2)
        XCTAssertEqual(record.stat("layers_packed"), 2)
        XCTAssertEqual(record.stat("layers_skipped_8bit"), 0)
        XCTAssertEqual(record.stat("layers_7bit_inputs"), 0)
        XCTAssertEqual(record.stat("weight_bytes_before"), Double(160 + 20 * 4 + 60 + 3 * 4))
        XCTAssertEqual(record.stat("weight_bytes_after"), Double(256 + 20 * 8 + 320 + 3 * 8))
    }

    func testKeepsSmoothingFactorsAsTheLastInput() throws {
        var g = try graphWithData(model, data())
        var smoothed = g
        _ = try Pass.quantize.run(&g, options: ["min-inputs": "1", "weight-bits": "7"])
        // A smoothed layer: the SmoothQuant divisor follows the bias, and pack keeps that order.
        smoothed = try GraphParser.parse(g.text.replacingOccurrences(of: "@b1) {group = 8, activation = gelu, mode = dynamic, input_scale = 0.0, smoothed = false}",
                                                                     with: "@b1, @b1s) {group = 8, activation = gelu, mode = dynamic, input_scale = 0.0, smoothed = true}")
                                                .replacingOccurrences(of: "  @b1: f32[20]\n", with: "  @b1: f32[20]\n  @b1s: f32[8]\n"))
        for c in g.constants { smoothed.setSource(of: smoothed.value(named: g[c.value].name)!, c.source) }
        smoothed.setSource(of: smoothed.value(named: "b1s")!, ConstantSource(origin: "s", buffer: TensorBuffer(array: [Float](repeating: 2, count: 8))))
        _ = try Pass.pack.run(&smoothed)
        try smoothed.verify()
        XCTAssertTrue(smoothed.text.contains("linear_int8_packed(%x, @w1.q8.packed, @w1.q8.scales.n, @w1.q8.colsums, @b1, @b1s) {activation = gelu, input_bits = 8, smoothed = true}"),
                      smoothed.text)
    }

    func testPacksEightBitLayersWithSevenBitInputs() throws {
        var g = try quantized(["weight-bits": "8"])
        let rowMajor1 = try bytes(g, "w1.q8", as: Int8.self)
        XCTAssertEqual(rowMajor1.map { abs(Int($0)) }.max(), 127)
        let record = try Pass.pack.run(&g, options: ["eight-bit": "u7"])
        try g.verify()
        XCTAssertTrue(g.text.contains("= linear_int8_packed(%x, @w1.q8.packed, @w1.q8.scales.n, @w1.q8.colsums, @b1) {activation = gelu, input_bits = 7, smoothed = false}"), g.text)
        XCTAssertTrue(g.text.contains("{activation = none, input_bits = 7, smoothed = false}"), g.text)
        XCTAssertEqual(PackedInt8Layout.unpack(try bytes(g, "w1.q8.packed", as: Int8.self), outputs: 20, inputs: 8), rowMajor1)
        XCTAssertEqual(record.stat("layers_packed"), 2)
        XCTAssertEqual(record.stat("layers_7bit_inputs"), 2)
    }

    func testDoesNotFireOnEightBitWhenKeptBlockWiseWeightOnlyOrStaticLayers() throws {
        for (options, packOptions) in [(["weight-bits": "8"], [:]), (["weight-bits": "8"], ["eight-bit": "keep"]),
                                       (["weight-bits": "7", "mode": "weight-only"], ["eight-bit": "u7"])] {
            var g = try quantized(options)
            XCTAssertTrue(g.text.contains("linear_int8("), "\(options)")
            let before = g.text
            let record = try Pass.pack.run(&g, options: packOptions)
            XCTAssertEqual(g.text, before, "\(options)")
            XCTAssertEqual(record.stat("layers_packed"), 0, "\(options)")
            if options["weight-bits"] == "8" { XCTAssertEqual(record.stat("layers_skipped_8bit"), 2) }
        }
        let wide = """
            graph m(%x: f32[batch, 64]) -> (%y) {
              @w: f32[4, 64]
              %y: f32[batch, 4] = linear(%x, @w) {activation = none}
              return %y
            }
            """
        for options in [["group": "32"], ["mode": "static"]] {
            var g = try graphWithData(wide, ["w": (0..<256).map { Float($0 % 7) - 3 }])
            let calibrated = options["mode"] == "static"
            if calibrated {
                // Static mode needs a calibrator; write the node it would produce instead.
                g = try GraphParser.parse("""
                    graph m(%x: f32[batch, 64]) -> (%y) {
                      @w.q8: i8[4, 64]
                      @w.q8.scales: f32[4, 1]
                      %y: f32[batch, 4] = linear_int8(%x, @w.q8, @w.q8.scales) {group = 64, activation = none, mode = static, input_scale = 0.5, smoothed = false}
                      return %y
                    }
                    """)
                g.setSource(of: g.value(named: "w.q8")!, ConstantSource(origin: "q", buffer: TensorBuffer(array: [Int8](repeating: 1, count: 256))))
                g.setSource(of: g.value(named: "w.q8.scales")!, ConstantSource(origin: "s", buffer: TensorBuffer(array: [Float](repeating: 1, count: 4))))
            } else {
                _ = try Pass.quantize.run(&g, options: ["weight-bits": "7"].merging(options) { $1 })
                XCTAssertTrue(g.text.contains("group = 32"), g.text)
            }
            let before = g.text
            XCTAssertEqual(try Pass.pack.run(&g).stat("layers_packed"), 0, "\(options)")
            XCTAssertEqual(g.text, before, "\(options)")
        }
    }

    func testDoesNotFireWithoutWeightData() throws {
        try assertNoChange(.pack, """
            graph m(%x: f32[batch, 64]) -> (%y) {
              @w.q8: i8[4, 64]
              @w.q8.scales: f32[4, 1]
              %y: f32[batch, 4] = linear_int8(%x, @w.q8, @w.q8.scales) {group = 64, activation = none, mode = dynamic, input_scale = 0.0, smoothed = false}
              return %y
            }
            """)
    }

    func testMustComeAfterQuantize() throws {
        XCTAssertThrowsError(try Pipeline.parse("pack,quantize=int8:weight-bits=7")) { error in
            XCTAssertTrue("\(error)".contains("'pack' needs 'quantize' earlier in the pipeline"), "\(error)")
        }
        XCTAssertThrowsError(try Pipeline.parse("fuse,pack"))
        XCTAssertNoThrow(try Pipeline.parse("fuse,quantize=int8:weight-bits=7,pack"))
        XCTAssertThrowsError(try Pipeline.parse("quantize=int8:weight-bits=6")) { error in
            XCTAssertTrue("\(error)".contains("weight-bits"), "\(error)")
        }
    }

    func testSevenBitWeightsNeedPackLater() throws {
        XCTAssertThrowsError(try Pipeline.parse("fuse,quantize=int8:weight-bits=7")) { error in
            XCTAssertEqual("\(error)", "pass order: 'quantize' needs 'pack' later in the pipeline: weight-bits=7 exists for the packed kernel; order given: fuse, quantize")
        }
        XCTAssertNoThrow(try Pipeline.parse("fuse,quantize=int8:weight-bits=8"), "8-bit weights run without pack")
    }

    /// weight-bits=auto on dynamic per-channel layers may choose 7 bits, so `pack` follows
    /// unless listed; other modes, block-wise scales and explicit widths imply nothing.
    func testAutoWeightBitsImplyPackAtTheEnd() throws {
        func names(_ text: String) throws -> [String] { try Pipeline.parse(text).steps.map(\.pass.name) }
        XCTAssertEqual(try names("fuse,quantize=int8"), ["fuse", "quantize", "pack"])
        XCTAssertEqual(try names("quantize"), ["quantize", "pack"])
        XCTAssertEqual(try Pipeline.parse("fuse,quantize=int8").steps[2].options.values["eight-bit"], "keep")
        XCTAssertEqual(try names("fuse,quantize=int8,pack:eight-bit=u7"), ["fuse", "quantize", "pack"], "a listed pack is not added twice")
        XCTAssertEqual(try Pipeline.parse("fuse,quantize=int8,pack:eight-bit=u7").steps[2].options.values["eight-bit"], "u7")
        XCTAssertEqual(try names("fuse,quantize=int8:weight-bits=8"), ["fuse", "quantize"])
        XCTAssertEqual(try names("fuse,quantize=int8:mode=static"), ["fuse", "quantize"])
        XCTAssertEqual(try names("fuse,quantize=int8:mode=weight-only:group=32"), ["fuse", "quantize"])
        XCTAssertEqual(try names("fuse,quantize=int8:group=32"), ["fuse", "quantize"])
        let recipe = try Pipeline.recipe(try JSONValue.parse(#"{"passes": ["fuse", {"quantize": "int8"}]}"#), file: "r.json")
        XCTAssertEqual(recipe.steps.map(\.pass.name), ["fuse", "quantize", "pack"], "recipes imply the same")
        XCTAssertThrowsError(try Pipeline.parse("pack,quantize=int8")) { error in
            XCTAssertTrue("\(error)".contains("'pack' needs 'quantize' earlier in the pipeline"), "\(error)")
        }
    }
}
