// `ingot report` and `ingot diff` as the real binary: formats, output files, and the exit
// codes CI gates rely on.
import Foundation
import IngotTestSupport
import XCTest

final class ReportCLITests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws { dir = try TempDirectory.make("cli-report") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    let fp32 = TestPaths.fixtures.appendingPathComponent("reports/minilm-fp32.json").path
    let int8 = TestPaths.fixtures.appendingPathComponent("reports/minilm-int8.json").path

    func testReportFormatsAndOutputFile() throws {
        let table = try runIngot(["report", int8])
        XCTAssertEqual(table.status, 0, table.stderr)
        XCTAssertEqual(table.stdout, try String(contentsOf: TestPaths.fixtures.appendingPathComponent("reports/minilm-int8.table.txt"), encoding: .utf8))
        let out = dir.appendingPathComponent("r.html").path
        let html = try runIngot(["report", int8, "--format", "html", "-o", out])
        XCTAssertEqual(html.status, 0, html.stderr)
        XCTAssertEqual(html.stdout, "")
        XCTAssertTrue(try String(contentsOfFile: out, encoding: .utf8).hasPrefix("<!DOCTYPE html>"))
        XCTAssertEqual(try runIngot(["report", int8, "--format", "pdf"]).status, 64)
    }

    func testDiffGatesExitOneWhenAConditionHolds() throws {
        let pass = try runIngot(["diff", fp32, int8, "--fail-if", "accuracy.cosine_mean < 0.995", "--fail-if", "latency.p50_ratio > 1.05"])
        XCTAssertEqual(pass.status, 0, pass.stderr)
        XCTAssertEqual(pass.stdout, try String(contentsOf: TestPaths.fixtures.appendingPathComponent("reports/diff-fp32-int8.txt"), encoding: .utf8))
        let fail = try runIngot(["diff", fp32, int8, "--fail-if", "accuracy.top1_agreement < 0.97", "--fail-if", "artifact.bytes > 1e9"])
        XCTAssertEqual(fail.status, 1)
        XCTAssertEqual(fail.stderr, "ingot: gate failed: accuracy.top1_agreement < 0.97 (value 0.96)\n")
        XCTAssertFalse(fail.stdout.isEmpty, "the comparison is still printed")
    }

    func testDiffErrorsHaveTheirExitCodes() throws {
        XCTAssertEqual(try runIngot(["diff", fp32]).status, 64)
        let bad = try runIngot(["diff", fp32, int8, "--fail-if", "accuracy.cosine_mean"])
        XCTAssertEqual(bad.status, 64)
        XCTAssertEqual(bad.stderr, "ingot: error: --fail-if: 'accuracy.cosine_mean': expected FIELD OP NUMBER with OP one of < <= > >= == !=\n")
        XCTAssertEqual(try runIngot(["diff", fp32, int8, "--fail-if", "accuracy.nope > 1"]).status, 64)
        XCTAssertEqual(try runIngot(["diff", fp32, "/nonexistent/r.json"]).status, 66)
        let broken = dir.appendingPathComponent("broken.json")
        try #"{"schema": "ingot-report/1", "title": 3}"#.write(to: broken, atomically: true, encoding: .utf8)
        let r = try runIngot(["diff", fp32, broken.path])
        XCTAssertEqual(r.status, 65)
        XCTAssertEqual(r.stderr, "ingot: error: \(broken.path): title: has the wrong type; expected a string\n")
        XCTAssertEqual(try runIngot(["diff", fp32, int8, "-o", "/nonexistent-dir/d.txt"]).status, 74)
    }
}
