// linear_int8_packed in the runtime: a quantized, packed layer run by the executor gives
// exactly what the kernels' Swift twins compute from the same weights (asymmetric u8 rows,
// u8 × s7 sums, zero-point correction, bias), and stays close to float; hostile packed
// weights — bytes past ±63, wrong column sums, non-zero padding — are refused at load.
import XCTest
import IngotCore
import IngotIR
import IngotKernels
import IngotPasses
import IngotTestSupport
@testable import IngotRuntime

final class PackedInt8Tests: XCTestCase {
    func constants(_ g: Graph) throws -> [ValueID: TensorBuffer] {
        var out: [ValueID: TensorBuffer] = [:]
        for c in g.constants { out[c.value] = try XCTUnwrap(c.source).load() }
        return out
    }

    func testPackedLayerMatchesTheTwinsThroughTheExecutor() throws {
        let (n, k, m) = (37, 42, 9)
        var state: UInt64 = 11
        func next() -> Float {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Double(state >> 11) / Double(1 << 53)) * 2 - 1
        }
        let w = (0..<n * k).map { _ in next() * 0.2 }, b = (0..<n).map { _ in next() }, x = (0..<m * k).map { _ in next() * 3 }
        let text = """
            graph m(%x: f32[batch, \(k)]) -> (%y) {
              @w: f32[\(n), \(k)]
              @b: f32[\(n)]
              %y: f32[batch, \(n)] = linear(%x, @w, @b) {activation = none}
              return %y
            }
            """
        // 7-bit weights with u8 codes (input_bits 8), 8-bit weights with 7-bit codes (input_bits 7).
        for (weightBits, levels) in [("7", Int32(255)), ("8", Int32(127))] {
        var g = try GraphParser.parse(text)
        g.setSource(of: g.value(named: "w")!, ConstantSource(origin: "w", buffer: TensorBuffer(array: w)))
        g.setSource(of: g.value(named: "b")!, ConstantSource(origin: "b", buffer: TensorBuffer(array: b)))
        let float = g
        _ = try Pass.quantize.run(&g, options: ["min-inputs": "1", "weight-bits": weightBits])
        let q7 = try XCTUnwrap(g.constant(g.value(named: "w.q8")!)?.source).load().toArray(of: Int8.self)
        let ws = try XCTUnwrap(g.constant(g.value(named: "w.q8.scales")!)?.source).load().toArray(of: Float.self)
        XCTAssertEqual(try Pass.pack.run(&g, options: ["eight-bit": "u7"]).stat("layers_packed"), 1)
        XCTAssertTrue(g.text.contains("input_bits = \(levels == 255 ? 8 : 7)"), g.text)

        let model = try Model(graph: g, constants: try constants(g), tokenizerSpec: nil, label: "packed")
        let y = try XCTUnwrap(try model.makeSession().run(inputs: ["x": HostTensor(shape: [m, k], floats: x)])["y"]?.floats)
        let kp = (k + 3) / 4 * 4
        let rows = Int8ReferenceKernels.quantizeRowsAsymmetric(x, rows: m, k: k, kp: kp, levels: levels)
        let twin = Int8ReferenceKernels.packedGemm(q: rows.q, scales: rows.scales, zeros: rows.zeros, m: m, kp: kp, w: q7, ws: ws, n: n, k: k, bias: b)
        XCTAssertEqual(y.map(\.bitPattern), twin.map(\.bitPattern), "executor and twin differ, weight-bits \(weightBits)")

        let reference = try Model(graph: float, constants: try constants(float), tokenizerSpec: nil, label: "float")
        let exact = try XCTUnwrap(try reference.makeSession().run(inputs: ["x": HostTensor(shape: [m, k], floats: x)])["y"]?.floats)
        let scale = exact.map { abs($0) }.max()!
        XCTAssertLessThan(zip(y, exact).map { abs($0 - $1) }.max()! / scale, 0.03, "weight-bits \(weightBits) stays within a few percent")
        }
    }

    func testHostilePackedWeightsAreRejectedAtLoad() throws {
        func graph(inputBits: Int) throws -> Graph {
            try GraphParser.parse("""
                graph m(%x: f32[batch, 6]) -> (%y) {
                  @p: i8[1, 2, 64]
                  @s: f32[2]
                  @c: i32[2]
                  %y: f32[batch, 2] = linear_int8_packed(%x, @p, @s, @c) {activation = none, input_bits = \(inputBits), smoothed = false}
                  return %y
                }
                """)
        }
        var g = try graph(inputBits: 8)
        let good = [Int8](repeating: 1, count: 2 * 6)
        func load(_ mutate: (inout [Int8], inout [Int32]) -> Void) -> String {
            var (packed, colsums) = PackedInt8Layout.pack(good, outputs: 2, inputs: 6)
            mutate(&packed, &colsums)
            let constants: [ValueID: TensorBuffer] = [
                g.value(named: "p")!: TensorBuffer(array: packed), g.value(named: "s")!: TensorBuffer(array: [Float](repeating: 1, count: 2)),
                g.value(named: "c")!: TensorBuffer(array: colsums),
            ]
            do {
                _ = try Model(graph: g, constants: constants, tokenizerSpec: nil, label: "hostile.ingot")
                return "loaded"
            } catch {
                return "\(error)"
            }
        }
        XCTAssertEqual(load { _, _ in }, "loaded")
        let wide = load { p, _ in p[4] = 64 }
        XCTAssertTrue(wide.contains("hostile.ingot") && wide.contains("tensor 'p'") && wide.contains("byte 4 is 64, expected -63...63 for input_bits 8"), wide)
        let sums = load { _, c in c[1] = 5 }
        XCTAssertTrue(sums.contains("tensor 'c'") && sums.contains("colsums[1] is 5, but the packed row sums to 6"), sums)
        // Input 6 (byte t = 2 of block 1 for column 0) is padding past K = 6.
        let padding = load { p, c in p[(1 * 16 + 0) * 4 + 2] = 3; c[0] += 3 }
        XCTAssertTrue(padding.contains("padding byte 66 (input 6 ≥ K 6) is 3, expected 0"), padding)
        let row = load { p, _ in p[(0 * 16 + 5) * 4] = 2 }
        XCTAssertTrue(row.contains("padding row 5 (≥ N 2) sums to 2, expected 0"), row)
        // With 7-bit input codes the weights may use ±127, never −128.
        g = try graph(inputBits: 7)
        XCTAssertEqual(load { p, c in p[4] = 127; c[1] += 126 }, "loaded")
        let low = load { p, c in p[4] = -128; c[1] -= 129 }
        XCTAssertTrue(low.contains("byte 4 is -128, expected -127...127 for input_bits 7"), low)
    }
}
