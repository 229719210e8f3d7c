// The quantize pass's fast search (sensitivity measured on a subset of the calibration data,
// widenings screened on it and confirmed on all of it) against the exhaustive search on a
// small encoder: the same per-layer decisions at budgets from loose to tight, with fewer
// full-data measurements.
import Foundation
import XCTest
import IngotCore
import IngotIR
import IngotImport
import IngotPasses
import IngotEval
import IngotTestSupport

final class QuantizeSearchTests: XCTestCase {
    func testFastSearchChoosesTheExhaustiveSearchsLayerDecisions() throws {
        let dir = try TempDirectory.make("quantize-search")
        try TinyCheckpoints.bert(in: dir, vocab: TinyCheckpoints.bertVocabulary(40), embeddingRows: 40, positions: 32, meanPooling: true)
        let imported = try ModelImporter.importModel(at: dir.path)
        var random = SplitMix64(seed: 7)
        let sentences: [[Int32]] = (0..<64).map { _ in
            [2] + (0..<(3 + Int(random.next() % 12))).map { _ in Int32(5 + random.next() % 35) } + [3]
        }
        func quantize(_ search: String, budget: Double) throws -> PassRecord {
            let calibrator = ModelCalibrator(data: .sentences(sentences), models: GraphModels(reference: imported.graph, tokenizerSpec: imported.tokenizer))
            var g = imported.graph
            let pipeline = try Pipeline.parse("fuse,quantize=int8:weight-bits=7:smooth=0.5:min-inputs=1:max-drop=\(budget):search=\(search),pack")
            let records = try pipeline.run(&g, context: PassContext(calibrator: calibrator, verifyBetweenPasses: true))
            return try XCTUnwrap(records.first { $0.name == "quantize" })
        }
        let reference = try quantize("exhaustive", budget: 1e-12)
        // Budgets spread over the range where the decisions change: from the error with every
        // layer int8 at 7 bits (the first full measurement) down.
        var mixed = 0
        for budget in [1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8] {
            let exhaustive = try quantize("exhaustive", budget: budget), fast = try quantize("fast", budget: budget)
            XCTAssertEqual(fast.layers.map(\.dtype), exhaustive.layers.map(\.dtype), "budget \(budget)")
            XCTAssertEqual(fast.layers.map(\.keptFloat), exhaustive.layers.map(\.keptFloat), "budget \(budget)")
            XCTAssertGreaterThan(fast.stat("subset_measurements") ?? 0, 0, "the fast search measured on the subset")
            XCTAssertLessThan(fast.stat("measurements") ?? 0, exhaustive.stat("measurements") ?? 0, "budget \(budget)")
            if Set(exhaustive.layers.filter { $0.kind != "embedding" }.map(\.dtype)).count > 1 { mixed += 1 }
        }
        XCTAssertGreaterThan(mixed, 0, "some budget leaves the layers at different widths, so the comparison decides something")
        XCTAssertEqual(reference.layers.filter { $0.kind != "embedding" }.map(\.dtype).filter { $0 != "f32" }, [],
                       "an unreachable budget keeps every linear float")
        XCTAssertEqual(reference.phases.map(\.0), ["statistics", "weights", "sensitivity", "widening", "keep_float", "convert"])
    }
}
