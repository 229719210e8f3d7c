// Pruning and reconstruction on small graphs with real data: exact zero patterns for
// magnitude, N:M and Wanda (with a fixed-statistics calibrator), structured pruning that shrinks the
// matrices and the values downstream, and the least-squares refit's guarantees.

import IngotCore
import IngotIR
import IngotPasses
import XCTest

/// A calibrator that reports given channel norms and rows, for pass tests without a runtime.
struct FixedCalibrator: Calibrator {
    var norms: [Float]
    var rowsData: [Float] = []
    func statistics(of values: [ValueID], in graph: Graph) throws -> [ValueID: ActivationStatistics] {
        Dictionary(uniqueKeysWithValues: values.map { ($0, ActivationStatistics(channelMaxAbs: norms, channelNorm: norms, samples: [], rows: 1)) })
    }
    func rows(of values: [ValueID], in graph: Graph, maxRows: Int) throws -> [ValueID: [Float]] {
        Dictionary(uniqueKeysWithValues: values.map { ($0, rowsData) })
    }
    func outputError(reference: Graph, candidate: Graph) throws -> Double { 0 }
}

func graphWithData(_ text: String, _ data: [String: [Float]]) throws -> Graph {
    var g = try GraphParser.parse(text)
    for (name, values) in data {
        let id = try XCTUnwrap(g.value(named: name))
        g.setSource(of: id, ConstantSource(origin: name, buffer: TensorBuffer(array: values)))
    }
    return g
}

final class PruneTests: XCTestCase {
    let oneLayer = """
        graph m(%x: f32[batch, 4]) -> (%z) {
          @w: f32[2, 4]
          %y: f32[batch, 2] = linear(%x, @w) {activation = none}
          %z: f32[batch, 2] = gelu(%y) {approximation = erf}
          return %z
        }
        """
    let weights: [Float] = [0.1, -0.5, 0.3, 0.05,
                            -2, 0.2, 0.01, 1]

    func prunedWeights(_ options: [String: String], calibrator: (any Calibrator)? = nil) throws -> [Float] {
        var g = try graphWithData(oneLayer, ["w": weights])
        _ = try Pass.prune.run(&g, options: options, context: PassContext(calibrator: calibrator))
        try g.verify()
        XCTAssertEqual(g.nodes[0].op.name, "linear")
        return try g.floats(of: g.nodes[0].inputs[1])
    }

    func testMagnitudePerLayerZerosTheSmallestHalf() throws {
        XCTAssertEqual(try prunedWeights(["method": "magnitude", "sparsity": "0.5"]), [0, -0.5, 0.3, 0, -2, 0, 0, 1])
    }

    func testNMKeepsTwoOfEveryFour() throws {
        XCTAssertEqual(try prunedWeights(["method": "nm"]), [0, -0.5, 0.3, 0, -2, 0, 0, 1])
        XCTAssertEqual(try prunedWeights(["method": "nm", "n": "1", "m": "2"]), [0, -0.5, 0.3, 0, -2, 0, 0, 1])
    }

    func testWandaWeighsByInputNormWithinEachRow() throws {
        // Channel 3 carries large activations, channel 1 tiny ones: Wanda keeps w[0,3] = 0.05 and drops w[0,1] = -0.5, which magnitude keeps.
        let fixed = FixedCalibrator(norms: [1, 0.01, 1, 100])
        XCTAssertEqual(try prunedWeights(["method": "wanda", "sparsity": "0.5"], calibrator: fixed), [0, 0, 0.3, 0.05, -2, 0, 0, 1])
    }

    func testBadOptionsFailBeforeWork() {
        func message(_ spec: String) -> String {
            do { _ = try Pipeline.parse(spec); return "no error" } catch { return "\(error)" }
        }
        XCTAssertEqual(message("prune=magnitude:1.0"), "pass 'prune' option 'sparsity': value '1.0', expected a number in 0.0...0.999")
        XCTAssertEqual(message("prune=magnitude:-0.1"), "pass 'prune' option 'sparsity': value '-0.1', expected a number in 0.0...0.999")
        XCTAssertEqual(message("prune=random:0.5"), "pass 'prune' option 'method': value 'random', expected one of magnitude, wanda, nm, structured")
        XCTAssertEqual(message("reconstruct"), "pass order: 'reconstruct' needs 'prune' earlier in the pipeline; order given: reconstruct")
        XCTAssertEqual(message("prune=wanda:0.5:0.3"), "pass 'prune': unexpected value '0.3'; write option=value")
        var g = try! graphWithData(oneLayer, ["w": weights])
        do {
            _ = try Pass.prune.run(&g, options: ["method": "nm", "n": "4", "m": "4"])
            XCTFail("n = m must fail")
        } catch {
            XCTAssertEqual("\(error)", "pass 'prune' option 'n': value 4, expected fewer than m = 4")
        }
    }

    func testStructuredFFNShrinksBothMatricesAndDownstreamTypes() throws {
        // Neuron 1 has zero weights in and out: it is the least important and goes first.
        var g = try graphWithData("""
            graph m(%x: f32[batch, 2]) -> (%y) {
              @up: f32[3, 2]
              @b: f32[3]
              @down: f32[2, 3]
              %h: f32[batch, 3] = linear(%x, @up, @b) {activation = gelu}
              %y: f32[batch, 2] = linear(%h, @down) {activation = none}
              return %y
            }
            """, ["up": [1, 2, 0, 0, 3, 4], "b": [0.1, 0.2, 0.3], "down": [1, 0, 2, 3, 0, 4]])
        let record = try Pass.prune.run(&g, options: ["method": "structured", "ffn": "0.34"])
        try g.verify()
        XCTAssertEqual(record.stat("ffn_neurons_removed"), 1)
        XCTAssertEqual(g.type(of: g.nodes[0].outputs[0]).description, "f32[batch, 2]")
        XCTAssertEqual(try g.floats(of: g.nodes[0].inputs[1]), [1, 2, 3, 4])
        XCTAssertEqual(try g.floats(of: g.nodes[0].inputs[2]), [0.1, 0.3])
        XCTAssertEqual(try g.floats(of: g.nodes[1].inputs[1]), [1, 2, 3, 4])
        XCTAssertEqual(record.stat("parameters_after"), 10)
    }

    func testRefitReproducesTheTeacherWhenNothingIsPrunedAndImprovesWhenPruned() throws {
        var rng = SplitMix64(seed: 7)
        let (rows, k, n) = (200, 6, 3)
        let x = (0..<rows * k).map { _ in Float.random(in: -1...1, using: &rng) }
        let wt = (0..<n * k).map { _ in Float.random(in: -1...1, using: &rng) }
        let full = try refitLayer(wt, wt, x, k)
        XCTAssertLessThan(full.errorAfter, 1e-3)
        var pruned = wt
        for j in 0..<n { pruned[j * k + j] = 0; pruned[j * k + (j + 1) % k] = 0 }
        let r = try refitLayer(pruned, wt, x, k)
        XCTAssertLessThan(r.errorAfter, r.errorBefore)
        for j in 0..<n { XCTAssertEqual(r.weights[j * k + j], 0, "the zero pattern is kept") }
    }
}

func refitLayer(_ w: [Float], _ wt: [Float], _ x: [Float], _ k: Int) throws -> LayerRefit {
    try Reconstructor.refit(pruned: w, teacher: wt, xs: x, xt: x, k: k, damping: 1e-5)
}
