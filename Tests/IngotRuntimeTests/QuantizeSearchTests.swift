// The quantize pass's fast search (sensitivity measured on a subset of the calibration data,
// widenings screened on it and confirmed on all of it) against the exhaustive search on a
// small encoder: the same per-layer decisions at budgets from loose to tight, with fewer
// full-data measurements. Resumed runs (a candidate run only from its first node that differs
// from the reference, on the reference's kept activations) give the errors whole runs give.
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

    /// The tiny encoder after `fuse`, its calibration sentences and a calibrator over them.
    func fusedEncoder(resumes: Bool) throws -> (Graph, ModelCalibrator, [[Int32]]) {
        let dir = try TempDirectory.make("quantize-resume")
        try TinyCheckpoints.bert(in: dir, vocab: TinyCheckpoints.bertVocabulary(40), embeddingRows: 40, positions: 32, meanPooling: true)
        let imported = try ModelImporter.importModel(at: dir.path)
        var random = SplitMix64(seed: 11)
        let sentences: [[Int32]] = (0..<40).map { _ in
            [2] + (0..<(3 + Int(random.next() % 12))).map { _ in Int32(5 + random.next() % 35) } + [3]
        }
        var g = imported.graph
        _ = try Pipeline.parse("fuse").run(&g, context: PassContext(verifyBetweenPasses: true))
        let calibrator = ModelCalibrator(data: .sentences(sentences), models: GraphModels(reference: g, tokenizerSpec: imported.tokenizer))
        calibrator.resumesRuns = resumes
        return (g, calibrator, sentences)
    }

    func testResumedRunsGiveTheWholeRunsErrors() throws {
        let (float, whole, _) = try fusedEncoder(resumes: false)
        let (_, resumed, _) = try fusedEncoder(resumes: true)
        // One candidate per node that reads a 2-D float weight: that weight scaled by 1.01 and shifted.
        var candidates: [Graph] = []
        for node in float.nodes {
            guard let w = node.inputs.first(where: { id in
                float.isConstant(id) && float.type(of: id).dtype == .f32 && float.type(of: id).shape.rank == 2
            }) else { continue }
            let changed = try float.floats(of: w).enumerated().map { $0.element * 1.01 + ($0.offset % 3 == 0 ? 0.002 : -0.001) }
            var g = float
            let at = g.constants.firstIndex { $0.value == w }!
            g.constants[at] = Constant(value: w, source: ConstantSource(origin: "changed", loader: { TensorBuffer(array: changed) }))
            candidates.append(g)
        }
        XCTAssertGreaterThan(candidates.count, 6)
        var resumable = 0
        for (i, candidate) in candidates.enumerated() {
            if firstDifference(float, candidate) > 0 { resumable += 1 }
            for samples in [10, 40] {
                let expected = try whole.outputError(reference: float, candidate: candidate, samples: samples)
                let got = try resumed.outputError(reference: float, candidate: candidate, samples: samples)
                XCTAssertGreaterThan(expected, 0, "candidate \(i)")
                XCTAssertEqual(got, expected, "candidate \(i), \(samples) sentences")
            }
        }
        XCTAssertEqual(whole.resumedRuns, 0)
        XCTAssertEqual(resumed.resumedRuns, 2 * resumable)
        XCTAssertGreaterThan(resumable, candidates.count / 2, "most candidates share a prefix with the reference")
    }

    func testQuantizeMakesTheSameDecisionsWithResumedRuns() throws {
        func quantize(resumes: Bool) throws -> (PassRecord, Int) {
            let (float, calibrator, _) = try fusedEncoder(resumes: resumes)
            var g = float
            let pipeline = try Pipeline.parse("quantize=int8:weight-bits=7:smooth=0.5:min-inputs=1:max-drop=1e-6:sensitivity,pack")
            let records = try pipeline.run(&g, context: PassContext(calibrator: calibrator, verifyBetweenPasses: true))
            return (try XCTUnwrap(records.first { $0.name == "quantize" }), calibrator.resumedRuns)
        }
        let (whole, noResumes) = try quantize(resumes: false), (resumed, resumes) = try quantize(resumes: true)
        XCTAssertEqual(noResumes, 0)
        XCTAssertGreaterThan(resumes, 0)
        XCTAssertEqual(resumed.layers.map(\.sensitivity), whole.layers.map(\.sensitivity))
        XCTAssertEqual(resumed.layers.map(\.dtype), whole.layers.map(\.dtype))
        XCTAssertEqual(resumed.layers.map(\.keptFloat), whole.layers.map(\.keptFloat))
    }

    /// The first node index at which the candidate's computation differs (the constant's source).
    func firstDifference(_ reference: Graph, _ candidate: Graph) -> Int {
        let changed = Set(zip(reference.constants, candidate.constants).filter { $0.0.source !== $0.1.source }.map(\.1.value))
        return candidate.nodes.firstIndex { $0.inputs.contains(where: changed.contains) } ?? candidate.nodes.count
    }
}
