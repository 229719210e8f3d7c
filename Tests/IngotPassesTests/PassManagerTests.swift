// Pass manager tests: --passes text and recipes become the same pipeline; bad recipes
// (unknown pass, bad option, impossible order) fail before any work with a message that
// names the problem; records carry options and statistics.

import IngotCore
import IngotIR
import IngotPasses
import XCTest

final class PassManagerTests: XCTestCase {
    func message(_ body: () throws -> Any) -> String {
        do { _ = try body(); return "no error" } catch { return "\(error)" }
    }

    func testPassesTextParsesNamesPositionalValuesAndOptions() throws {
        let p = try Pipeline.parse("fuse,quantize=int8:mode=static:group=32:smooth=0.5")
        XCTAssertEqual(p.steps.map(\.pass.name), ["fuse", "quantize"])
        let q = p.steps[1].options
        XCTAssertEqual(try q["type"], "int8")
        XCTAssertEqual(try q["mode"], "static")
        XCTAssertEqual(try q.int("group"), 32)
        XCTAssertEqual(try q.numberOrAuto("smooth"), 0.5)
        XCTAssertEqual(try q["calibrate"], "minmax", "defaults fill options not given")
        XCTAssertTrue(p.needsCalibration)
    }

    func testRecipeMatchesPassesText() throws {
        let json = try JSONValue.parse(#"{"passes": ["fuse", {"quantize": {"type": "int8", "mode": "static", "group": 32, "max_drop": 0.002}}]}"#)
        let r = try Pipeline.recipe(json, file: "r.json")
        let t = try Pipeline.parse("fuse,quantize=int8:mode=static:group=32:max-drop=0.002")
        XCTAssertEqual(r.steps.map(\.pass.name), t.steps.map(\.pass.name))
        XCTAssertEqual(r.steps.map(\.options), t.steps.map(\.options))
    }

    func testBadPipelinesFailBeforeAnyWork() {
        XCTAssertEqual(message { try Pipeline.parse("fuse,densify") },
                       "--passes: unknown pass 'densify'; passes: fuse, fold-constants, fuse-attention, fuse-swiglu, fuse-linear, fuse-qkv, fuse-add-norm, remove-dead, quantize, pack, prune, reconstruct, distill, sparsify")
        XCTAssertEqual(message { try Pipeline.parse("quantize=int4") },
                       "pass 'quantize' option 'type': value 'int4', expected one of int8")
        XCTAssertEqual(message { try Pipeline.parse("quantize:group=48") },
                       "pass 'quantize' option 'group': value '48', expected one of 0, 32, 64, 128")
        XCTAssertEqual(message { try Pipeline.parse("quantize:smooth=1.5") },
                       "pass 'quantize' option 'smooth': value '1.5', expected auto or a number in 0.0...1.0")
        XCTAssertEqual(message { try Pipeline.parse("quantize:alpha=1") },
                       "pass 'quantize': unknown option 'alpha'; options: type, mode, group, weight-bits, scale-type, embeddings, lm-head, calibrate, percentile, smooth, sensitivity, max-drop, min-inputs, search")
        XCTAssertEqual(message { try Pipeline.parse("fuse=yes") }, "pass 'fuse': takes no value after '=', got 'yes'")
        XCTAssertEqual(message { try Pipeline.parse("fuse,fuse") }, "pass order: 'fuse' appears twice")
        XCTAssertEqual(message { try Pipeline.parse("fuse,,quantize") }, "--passes: empty pass name in 'fuse,,quantize'")
        XCTAssertEqual(message { try Pipeline.recipe(try JSONValue.parse(#"{"passes": [{"quantize": {"mode": "fast"}}]}"#), file: "r.yaml") },
                       "r.yaml: pass 'quantize' option 'mode': value 'fast', expected one of dynamic, static, weight-only")
        XCTAssertEqual(message { try Pipeline.recipe(try JSONValue.parse(#"{"steps": []}"#), file: "r.yaml") },
                       "r.yaml: passes: missing or not a list")
        XCTAssertEqual(message { try Pipeline.recipe(try JSONValue.parse(#"{"passes": ["reconstruct", "fuse"]}"#), file: "r.yaml") },
                       "r.yaml: pass order: 'reconstruct' needs 'prune' earlier in the pipeline; order given: reconstruct, fuse")
        XCTAssertEqual(message { try Pipeline.recipe(try JSONValue.parse(#"{"passes": ["fuse", "fuse"]}"#), file: "r.json") },
                       "r.json: pass order: 'fuse' appears twice")
    }

    func testCalibrationIsRequiredWhereNeeded() throws {
        var g = try GraphParser.parse("""
            graph m(%x: f32[batch, 64]) -> (%y) {
              @w: f32[8, 64]
              %y: f32[batch, 8] = linear(%x, @w) {activation = none}
              return %y
            }
            """)
        XCTAssertEqual(message { try Pass.quantize.run(&g, options: ["mode": "static"]) },
                       "pass 'quantize': mode=static, smooth, sensitivity and max-drop need calibration data (--calibration FILE)")
    }

    func testRunRecordsEveryPassWithItsOptions() throws {
        var g = try GraphParser.parse("""
            graph m(%x: f32[batch, 8]) -> (%y) {
              @w: f32[16, 8]
              @b: f32[16]
              %m: f32[batch, 16] = matmul(%x, @w) {transpose_b = true}
              %y: f32[batch, 16] = add(%m, @b)
              return %y
            }
            """)
        let records = try Pipeline.parse("fuse-linear,remove-dead").run(&g, context: PassContext(verifyBetweenPasses: true))
        XCTAssertEqual(records.map(\.name), ["fuse-linear", "remove-dead"])
        XCTAssertEqual(records[0].stat("nodes_rewritten"), 2)
        XCTAssertEqual(g.nodes.map(\.op.name), ["linear"])
    }
}
