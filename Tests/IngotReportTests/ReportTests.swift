// Reports: reading and checking v1 documents, the printers (exact terminal and Markdown
// text against golden files, HTML structure and escaping), diffs and CI gates.
import Foundation
import IngotCore
import IngotTestSupport
import XCTest
@testable import IngotReport

func fixtureReport(_ name: String) throws -> Report {
    let url = TestPaths.fixtures.appendingPathComponent("reports/" + name)
    return try Report.parse(Array(try Data(contentsOf: url)), file: name)
}

func golden(_ name: String) throws -> String {
    try String(contentsOf: TestPaths.fixtures.appendingPathComponent("reports/" + name), encoding: .utf8)
}

final class ReportTests: XCTestCase {
    func message(_ body: () throws -> Any) -> String {
        do { _ = try body(); return "no error" } catch { return "\(error)" }
    }

    /// Issue 14, crash 6: a number beyond Int64 (`"parameters": 1e19`, bytes, latencies,
    /// sensitivities) trapped in the printers and diff. Every number must be within ±2⁵³;
    /// the first outside is named by its path, and nothing is printed.
    func testNumbersBeyondTwoToThe53AreRefusedByPath() throws {
        let text = try String(contentsOf: TestPaths.fixtures.appendingPathComponent("reports/minilm-int8.json"), encoding: .utf8)
        let fields = [("\"parameters\": ", "model.parameters"), ("\"source_bytes\": ", "model.source_bytes"),
                      ("\"sensitivity\": 1.3086631384218173e-05", "layers[0].sensitivity"), ("\"p50_ratio\": ", "latency.rows[0].p50_ratio")]
        for (prefix, path) in fields {
            guard let range = text.range(of: prefix) else { return XCTFail("\(prefix) not in the fixture") }
            // Replace the number after the prefix's key with 1e19.
            let keyEnd = text[range].firstIndex(of: ":").map { text.index(after: $0) } ?? range.upperBound
            let valueEnd = text[keyEnd...].firstIndex { $0 == "," || $0 == "\n" || $0 == "}" } ?? text.endIndex
            let hostile = String(text[..<keyEnd]) + " 1e19" + String(text[valueEnd...])
            XCTAssertThrowsError(try Report.parse(Array(hostile.utf8), file: "big.json"), path) { error in
                let e = error as! IngotError
                XCTAssertEqual(e.kind, .format)
                XCTAssertEqual(e.location, path)
                XCTAssertEqual(e.message, "value 1e+19, expected a number within ±9007199254740992")
            }
        }
        let largest = text.replacingOccurrences(of: "\"parameters\": 22565376", with: "\"parameters\": 9007199254740992")
        XCTAssertNotEqual(largest, text, "the fixture's parameter count changed")
        let r = try Report.parse(Array(largest.utf8), file: "largest.json")
        XCTAssertEqual(r.number("model.parameters"), Report.maxMagnitude)
        XCTAssertTrue(ReportPrinter.table(r).contains("9,007,199,254,740,992 parameters"))
    }

    func testReadsFixturesAndPaths() throws {
        let r = try fixtureReport("minilm-int8.json")
        XCTAssertEqual(r.title, "minilm int8")
        XCTAssertEqual(r.string("passes[1].name"), "quantize")
        XCTAssertEqual(r.value(at: "latency.rows[0].label")?.string, "seq16")
        XCTAssertNil(r.value(at: "latency.rows[9].label"))
        XCTAssertEqual(r.latencyRows.count, 2)
        XCTAssertEqual(r.latencyRows[0].baseline.count, 10)
    }

    func testRejectsOtherSchemasAndMissingFieldsNamingThePath() {
        XCTAssertEqual(message { try Report(json: try JSONValue.parse(#"{"schema": "ingot-report/2"}"#), file: "r.json") },
                       "r.json: schema: value \"ingot-report/2\", expected \"ingot-report/1\"")
        XCTAssertEqual(message { try Report(json: try JSONValue.parse(#"[1]"#), file: "r.json") }, "r.json: $: expected a JSON object")
        XCTAssertEqual(message { try Report(json: try JSONValue.parse(#"{"schema": "ingot-report/1", "title": "t", "model": {"architecture": "bert", "parameters": "many"}}"#), file: "r.json") },
                       "r.json: model.parameters: has the wrong type; expected a number")
        XCTAssertEqual(message { try Report(json: try JSONValue.parse(#"{"schema": "ingot-report/1", "title": "t"}"#), file: "r.json") },
                       "r.json: model: missing; expected an object")
    }

    func testTableAndMarkdownMatchGoldenText() throws {
        let r = try fixtureReport("minilm-int8.json")
        XCTAssertEqual(ReportPrinter.table(r), try golden("minilm-int8.table.txt"))
        XCTAssertEqual(ReportPrinter.markdown(r), try golden("minilm-int8.md"))
    }

    func testHTMLIsSelfContainedWithChartsAndEscapesHostileText() throws {
        let r = try fixtureReport("minilm-int8.json")
        var json = r.json
        if case .object(var fields) = json {
            fields = fields.map { $0.0 == "title" ? ($0.0, .string("<script>alert(1)</script>")) : $0 }
            json = .object(fields)
        }
        let hostile = try Report(json: json, file: "h.json")
        let html = ReportPrinter.html(hostile)
        XCTAssertFalse(html.contains("<script"))
        XCTAssertTrue(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        XCTAssertFalse(html.contains("src=\""), "no external resources")
        XCTAssertEqual(html.components(separatedBy: "<svg").count - 1, 2, "latency strips and sensitivity bars")
        XCTAssertEqual(html.components(separatedBy: "<circle").count - 1, 40, "one dot per timed run: 2 rows × 2 models × 10")
    }

    /// A real distillation report (3-layer MiniLM student, 400 updates): teacher vs student and the loss curve.
    func testDistillationReportShowsTeacherStudentAndTheCurve() throws {
        let r = try fixtureReport("minilm-l3-student.json")
        XCTAssertTrue(ReportPrinter.table(r).contains(
            "training  teacher 22,565,376 → student 17,242,752 parameters (76.4%); loss 0.6205 → 0.0712 over 400 updates\n"))
        XCTAssertTrue(ReportPrinter.markdown(r).contains("teacher 22,565,376 → student 17,242,752 parameters"))
        let html = ReportPrinter.html(r)
        XCTAssertTrue(html.contains("<h2>Training loss</h2>"))
        let curve = try XCTUnwrap(html.components(separatedBy: "<h2>Training loss</h2>").last?.components(separatedBy: "</svg>").first)
        XCTAssertTrue(curve.contains("<polyline"), "the loss curve is drawn")
    }

    func testDiffMarksTheBestAndChangesAgainstTheFirst() throws {
        let a = try fixtureReport("minilm-fp32.json"), b = try fixtureReport("minilm-int8.json")
        let (rows, _, best) = ReportDiff.rows([a, b])
        let bytes = try XCTUnwrap(rows.firstIndex { $0[0] == "artifact bytes" })
        XCTAssertTrue(best.contains([bytes, 2]) && !best.contains([bytes, 1]), "smaller is better")
        XCTAssertTrue(rows[bytes][2].hasSuffix("(-71.0%)"), rows[bytes][2])
        let cosine = try XCTUnwrap(rows.firstIndex { $0[0] == "cosine mean" })
        XCTAssertTrue(best.contains([cosine, 1]), "higher is better")
        XCTAssertEqual(ReportDiff.render([a, b], .table), try golden("diff-fp32-int8.txt"))
    }

    func testGatesParseAndEvaluate() throws {
        let r = try fixtureReport("minilm-int8.json")
        let g = try GateExpression(parsing: "accuracy.cosine_mean < 0.9995")
        XCTAssertEqual(g.comparison, .lt)
        XCTAssertTrue(try g.evaluate(r).holds)
        XCTAssertFalse(try GateExpression(parsing: "latency.rows[1].p50_ratio >= 1.05").evaluate(r).holds)
        XCTAssertTrue(try GateExpression(parsing: "artifact.bytes<=30000000").evaluate(r).holds)
        XCTAssertEqual(message { try GateExpression(parsing: "accuracy.cosine_mean ~ 1") },
                       "--fail-if: 'accuracy.cosine_mean ~ 1': expected FIELD OP NUMBER with OP one of < <= > >= == !=")
        XCTAssertEqual(message { try GateExpression(parsing: "accuracy.cosine_mean < high") },
                       "--fail-if: 'accuracy.cosine_mean < high': expected a number after <, got 'high'")
        XCTAssertEqual(message { try GateExpression(parsing: "accuracy.cosine < 1").evaluate(r) },
                       "minilm-int8.json: accuracy.cosine: no such field in the report; top-level fields: schema, title, model, artifact, size_ratio, passes, layers, build_time, accuracy, latency, machine, build, created_by")
        XCTAssertEqual(message { try GateExpression(parsing: "title > 1").evaluate(r) }, "minilm-int8.json: title: is not a number")
    }
}
