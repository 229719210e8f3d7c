// Reports against Formats/report-v1.schema.json: every report in Fixtures/reports, and the
// schema validator of IngotTestSupport itself (a wrong type, a missing required field, an
// extra field where forbidden, a bad $ref target or an unknown keyword are each reported
// with the JSON path). Reports the CLI writes are checked where the tests write them
// (IngotCLITests/BuildPassesCLITests).
import Foundation
import XCTest
import IngotCore
import IngotTestSupport

final class ReportSchemaTests: XCTestCase {
    func testEveryFixtureReportMatchesTheSchema() throws {
        let folder = TestPaths.fixtures.appendingPathComponent("reports")
        let reports = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".json") }.sorted()
        XCTAssertGreaterThanOrEqual(reports.count, 3)
        for name in reports { try assertMatchesReportSchema(folder.appendingPathComponent(name).path) }
    }

    func testTheSchemaUsesOnlyKeywordsTheValidatorImplements() throws {
        let validator = try JSONSchemaValidator.reportV1()
        let minimal = try JSONValue.parse(#"{"schema": "ingot-report/1", "title": "t", "model": {"architecture": "bert", "parameters": 1, "source_bytes": 2}, "artifact": {"bytes": 3}, "passes": []}"#)
        XCTAssertEqual(validator.violations(of: minimal), [])
    }

    func testReportViolationsNameTheJSONPath() throws {
        let validator = try JSONSchemaValidator.reportV1()
        let fixture = try JSONValue.parse(try String(contentsOf: TestPaths.fixtures.appendingPathComponent("reports/minilm-int8.json"), encoding: .utf8))
        func edited(_ edit: (inout [(String, JSONValue)]) -> Void) -> JSONValue {
            var top = fixture.object!
            edit(&top)
            return .object(top)
        }
        func set(_ fields: inout [(String, JSONValue)], _ key: String, _ value: JSONValue) {
            if let i = fields.firstIndex(where: { $0.0 == key }) { fields[i].1 = value } else { fields.append((key, value)) }
        }
        let wrongType = edited { top in
            var model = top.first { $0.0 == "model" }!.1.object!
            set(&model, "parameters", .string("many"))
            set(&top, "model", .object(model))
        }
        XCTAssertEqual(validator.violations(of: wrongType).map(\.description), [#"$.model.parameters: string "many", expected integer"#])

        let missing = edited { top in top.removeAll { $0.0 == "artifact" } }
        XCTAssertEqual(validator.violations(of: missing).map(\.description), ["$: required field 'artifact' is missing"])

        let badStat = edited { top in
            var passes = top.first { $0.0 == "passes" }!.1.array!
            var first = passes[0].object!
            var stats = first.first { $0.0 == "stats" }!.1.object!
            set(&stats, "nodes", .string("3"))
            set(&first, "stats", .object(stats))
            passes[0] = .object(first)
            set(&top, "passes", .array(passes))
        }
        XCTAssertEqual(validator.violations(of: badStat).map(\.description), [#"$.passes[0].stats.nodes: string "3", expected number"#])

        let badLatency = edited { top in
            var latency = top.first { $0.0 == "latency" }!.1.object!
            var rows = latency.first { $0.0 == "rows" }!.1.array!
            var row = rows[0].object!
            var baseline = row.first { $0.0 == "baseline" }!.1.object!
            baseline.removeAll { $0.0 == "p50" }
            set(&row, "baseline", .object(baseline))
            set(&row, "unit", .string("s"))
            rows[0] = .object(row)
            set(&latency, "rows", .array(rows))
            set(&top, "latency", .object(latency))
        }
        XCTAssertEqual(Set(validator.violations(of: badLatency).map(\.description)),
                       [#"$.latency.rows[0].unit: value "s", expected one of "ms", "tok/s""#,
                        "$.latency.rows[0].baseline: required field 'p50' is missing"])

        let wrongSchema = edited { top in set(&top, "schema", .string("ingot-report/2")) }
        XCTAssertEqual(validator.violations(of: wrongSchema).map(\.description), [#"$.schema: value "ingot-report/2", expected "ingot-report/1""#])

        let sparsity = edited { top in
            var artifact = top.first { $0.0 == "artifact" }!.1.object!
            var tensors = artifact.first { $0.0 == "tensors" }!.1.array!
            var tensor = tensors[1].object!
            set(&tensor, "sparsity", .number(1.5))
            tensors[1] = .object(tensor)
            set(&artifact, "tensors", .array(tensors))
            set(&top, "artifact", .object(artifact))
        }
        XCTAssertEqual(validator.violations(of: sparsity).map(\.description), ["$.artifact.tensors[1].sparsity: value 1.5 is above the maximum 1"])
    }

    func testBuildTimeIsCheckedByTheSchema() throws {
        let validator = try JSONSchemaValidator.reportV1()
        let fixture = try JSONValue.parse(try String(contentsOf: TestPaths.fixtures.appendingPathComponent("reports/minilm-int8.json"), encoding: .utf8))
        XCTAssertNotNil(fixture["build_time"]?["phases"]?[0]?["seconds"]?.double, "the fixture carries a build_time")
        func withBuildTime(_ json: String) throws -> JSONValue {
            var top = fixture.object!
            let i = top.firstIndex { $0.0 == "build_time" }!
            top[i].1 = try JSONValue.parse(json)
            return .object(top)
        }
        XCTAssertEqual(validator.violations(of: try withBuildTime(#"{"seconds": 2, "phases": [{"name": "import", "seconds": 1}]}"#)), [])
        let negative = validator.violations(of: try withBuildTime(#"{"seconds": 2, "phases": [{"name": "import", "seconds": -1}]}"#)).map(\.description)
        XCTAssertEqual(negative.count, 1)
        XCTAssertTrue(negative.first?.hasPrefix("$.build_time.phases[0].seconds: ") == true && negative.first?.contains("below the minimum") == true, "\(negative)")
        XCTAssertEqual(validator.violations(of: try withBuildTime(#"{"seconds": 2, "phases": [{"seconds": 1}]}"#)).map(\.description),
                       ["$.build_time.phases[0]: required field 'name' is missing"])
        XCTAssertEqual(validator.violations(of: try withBuildTime(#"{"phases": []}"#)).map(\.description),
                       ["$.build_time: required field 'seconds' is missing"])
    }

    func testExtraFieldsAreRejectedWhereTheSchemaForbidsThem() throws {
        let schema = try JSONValue.parse(#"""
        {"type": "object", "required": ["a"], "additionalProperties": false,
         "properties": {"a": {"type": "integer", "minimum": 0},
                        "b": {"type": "array", "items": {"$ref": "#/$defs/point"}}},
         "$defs": {"point": {"type": "object", "required": ["x"], "additionalProperties": {"type": "number"},
                             "properties": {"x": {"type": ["number", "null"]}}}}}
        """#)
        let validator = JSONSchemaValidator(schema: schema)
        func check(_ text: String) throws -> [String] { validator.violations(of: try JSONValue.parse(text)).map(\.description) }
        XCTAssertEqual(try check(#"{"a": 1, "b": [{"x": 1.5, "y": 2}, {"x": null}]}"#), [])
        XCTAssertEqual(try check(#"{"a": 1, "c": true}"#), ["$.c: field 'c' is not allowed here"])
        XCTAssertEqual(try check(#"{"a": 1.5}"#), ["$.a: number 1.5, expected integer"])
        XCTAssertEqual(try check(#"{"a": 2.0}"#), [], "2.0 is an integer in JSON Schema")
        XCTAssertEqual(try check(#"{"a": -1}"#), ["$.a: value -1 is below the minimum 0"])
        XCTAssertEqual(try check(#"{"b": [{"x": 1}, {"y": "z"}]}"#),
                       ["$: required field 'a' is missing", "$.b[1]: required field 'x' is missing", #"$.b[1].y: string "z", expected number"#])
        XCTAssertEqual(try check(#"[1]"#), ["$: array [1], expected object"])
    }

    func testSchemasTheValidatorCannotCheckAreErrors() throws {
        let unknown = JSONSchemaValidator(schema: try JSONValue.parse(#"{"type": "string", "pattern": "^a"}"#))
        XCTAssertEqual(unknown.violations(of: .string("b")).map(\.description),
                       ["$: schema # uses keyword 'pattern', which this validator does not implement"])
        let dangling = JSONSchemaValidator(schema: try JSONValue.parse(##"{"$ref": "#/$defs/nothing"}"##))
        XCTAssertEqual(dangling.violations(of: .null).map(\.description),
                       [##"$: schema #: $ref "#/$defs/nothing" does not resolve in this document"##])
    }
}
