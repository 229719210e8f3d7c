// `ingot build` with passes, recipes and reports, run as the real binary: bad pipelines fail
// with exit 64 before any work and leave no file; a recipe and --passes give the same
// artifact; a report is written with the fields CI gates read.
import Foundation
import IngotCore
import IngotTestSupport
import XCTest

final class BuildPassesCLITests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws { dir = try TempDirectory.make("cli-passes") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func testBadPipelinesExit64BeforeAnyWork() throws {
        let out = dir.appendingPathComponent("o.ingot").path
        let cases: [([String], String)] = [
            (["--passes", "fuse,densify"], "ingot: error: --passes: unknown pass 'densify'; passes: fuse, fold-constants, fuse-attention, fuse-swiglu, fuse-linear, fuse-qkv, fuse-add-norm, remove-dead, quantize, pack, prune, reconstruct, distill, sparsify\n"),
            (["--passes", "quantize=int8:mode=static"], "ingot: error: --calibration: missing; pass quantize needs calibration data\n"),
            (["--passes", "reconstruct,prune"], "ingot: error: pass order: 'reconstruct' needs 'prune' earlier in the pipeline; order given: reconstruct, prune\n"),
            (["--passes", "fuse,quantize=int8:weight-bits=7"],
             "ingot: error: pass order: 'quantize' needs 'pack' later in the pipeline: weight-bits=7 exists for the packed kernel; order given: fuse, quantize\n"),
        ]
        for (args, expected) in cases {
            // The source does not exist: the pipeline must be rejected before it is opened.
            let r = try runIngot(["build", "/nonexistent/model", "-o", out] + args)
            XCTAssertEqual(r.status, 64, args.joined(separator: " "))
            XCTAssertEqual(r.stderr, expected)
            XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        }
        let recipe = dir.appendingPathComponent("r.yaml")
        try "passes:\n  - fuse\n  - quantize: {mode: fast}\n".write(to: recipe, atomically: true, encoding: .utf8)
        let r = try runIngot(["build", "/nonexistent/model", "-o", out, "--recipe", recipe.path])
        XCTAssertEqual(r.status, 64)
        XCTAssertEqual(r.stderr, "ingot: error: \(recipe.path): pass 'quantize' option 'mode': value 'fast', expected one of dynamic, static, weight-only\n")
        let both = try runIngot(["build", "/nonexistent/model", "-o", out, "--recipe", recipe.path, "--passes", "fuse"])
        XCTAssertEqual(both.status, 64)
    }

    func testDistillOptionsThatDoNotFitTheModelExit64BeforeAnyPassRuns() throws {
        let model = try requireModel(TestPaths.miniLMDir)
        let out = dir.appendingPathComponent("d.ingot").path
        let cal = TestPaths.fixtures.appendingPathComponent("eval/calibration-sentences.txt").path
        let r = try runIngot(["build", model.path, "-o", out, "--passes", "prune=structured:ffn=0.3,distill=student:layers=0,6",
                              "--calibration", cal, "-v"])
        XCTAssertEqual(r.status, 64, r.stderr)
        XCTAssertTrue(r.stderr.hasSuffix("ingot: error: pass 'distill': layer 6 does not exist; the model has layers 0...5\n"), r.stderr)
        XCTAssertFalse(r.stderr.contains("pass prune"), "prune ran before the distill options were checked")
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
    }

    func testDistilledStudentIsSmallerAndItsReportHasTheTrainingCurve() throws {
        let model = try requireModel(TestPaths.miniLMDir)
        let out = dir.appendingPathComponent("s.ingot").path, report = dir.appendingPathComponent("s.json").path
        let cal = TestPaths.fixtures.appendingPathComponent("eval/calibration-sentences.txt").path
        let r = try runIngot(["build", model.path, "-o", out, "--passes", "distill=student:layers=0,5:steps=4:batch=4:seq=24:warmup=1",
                              "--calibration", cal, "--report", report, "--report-runs", "2"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("distill step 4/4 loss "), r.stderr)
        try assertMatchesReportSchema(report)
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: report))) as! [String: Any]
        let training = try XCTUnwrap(json["training"] as? [String: Any])
        XCTAssertEqual((training["steps"] as? [[String: Any]])?.map { $0["step"] as? Int }, [1, 2, 3, 4])
        let teacher = try XCTUnwrap(training["teacher_parameters"] as? Int), student = try XCTUnwrap(training["student_parameters"] as? Int)
        XCTAssertEqual(teacher, 22_565_376)
        XCTAssertEqual(teacher - student, 4 * (4 * 384 * 384 + 2 * 384 * 1536 + 4 * 384 + 1536 + 384 + 4 * 384))
        let latency = try XCTUnwrap(json["latency"] as? [String: Any])
        let modelPeak = try XCTUnwrap(latency["model_peak_rss_bytes"] as? Int), buildPeak = try XCTUnwrap(latency["peak_rss_bytes"] as? Int)
        XCTAssertGreaterThan(modelPeak, 16 << 20, "a real process with the weights it touched")
        XCTAssertLessThan(modelPeak, buildPeak, "one artifact run alone needs less than the whole build")
        XCTAssertNotNil(latency["model_peak_rss_bytes_baseline"] as? Int)
        let html = try runIngot(["report", report, "--format", "html"])
        XCTAssertTrue(html.stdout.contains("<h2>Training loss</h2>"))
    }

    func testRecipeAndPassesGiveTheSameArtifactAndAReport() throws {
        let model = try requireModel(TestPaths.miniLMDir)
        let recipe = dir.appendingPathComponent("fuse.yaml")
        try "passes:\n  - fuse\n".write(to: recipe, atomically: true, encoding: .utf8)
        let a = dir.appendingPathComponent("a.ingot").path, b = dir.appendingPathComponent("b.ingot").path
        let report = dir.appendingPathComponent("a.json").path
        let eval = TestPaths.fixtures.appendingPathComponent("eval/minilm-dev-sentences.txt").path
        let ra = try runIngot(["build", model.path, "-o", a, "--passes", "fuse", "--eval", eval, "--report", report, "--report-runs", "2"])
        XCTAssertEqual(ra.status, 0, ra.stderr)
        XCTAssertTrue(ra.stdout.contains("pass fuse: nodes_before=116"), ra.stdout)
        try assertMatchesReportSchema(report)
        let rb = try runIngot(["build", model.path, "-o", b, "--recipe", recipe.path, "-q"])
        XCTAssertEqual(rb.status, 0, rb.stderr)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: a)), try Data(contentsOf: URL(fileURLWithPath: b)),
                       "same pipeline, same bytes")
        let json = try JSONValue.parse(try String(contentsOfFile: report, encoding: .utf8))
        XCTAssertEqual(json["schema"]?.string, "ingot-report/1")
        XCTAssertEqual(json["passes"]?[0]?["name"]?.string, "fuse")
        XCTAssertEqual(json["passes"]?[0]?["stats"]?["nodes_after"]?.int, 55)
        XCTAssertEqual(json["accuracy"]?["samples"]?.int, 300, "--eval alone: every sentence is evaluated")
        XCTAssertGreaterThan(json["accuracy"]?["cosine_min"]?.double ?? 0, 0.99999)
        XCTAssertEqual(json["latency"]?["rows"]?.array?.count, 2)
        XCTAssertEqual(json["latency"]?["rows"]?[0]?["baseline"]?["samples"]?.array?.count, 2)
        let phases = json["build_time"]?["phases"]?.array ?? []
        XCTAssertEqual(phases.compactMap { $0["name"]?.string }, ["import", "read_text", "fuse", "write"])
        let total = try XCTUnwrap(json["build_time"]?["seconds"]?.double)
        XCTAssertLessThanOrEqual(phases.compactMap { $0["seconds"]?.double }.reduce(0, +), total, "the phases are parts of the build")
        XCTAssertTrue(try runIngot(["report", report]).stdout.contains("build time"))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.contains("baseline") || $0.contains("tmp") }
        XCTAssertEqual(leftovers, [], "the report's baseline artifact and temporary files are removed")
    }

    /// Without passes the report compares the artifact with itself: no "slower than float32"
    /// warning from timing noise (2 runs a side make a > 2% difference likely).
    func testPlainBuildReportNeverWarnsAboutItself() throws {
        let model = try requireModel(TestPaths.miniLMDir)
        let out = dir.appendingPathComponent("plain.ingot").path, report = dir.appendingPathComponent("plain.json").path
        let eval = TestPaths.fixtures.appendingPathComponent("eval/minilm-dev-sentences.txt").path
        let r = try runIngot(["build", model.path, "-o", out, "--eval", eval, "--report", report, "--report-runs", "2", "-q"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertFalse(r.stderr.contains("warning"), r.stderr)
        try assertMatchesReportSchema(report)
        let json = try JSONValue.parse(try String(contentsOfFile: report, encoding: .utf8))
        XCTAssertEqual(json["latency"]?["rows"]?.array?.count, 2)
    }
}
