// Typed pass options: each reader returns the declared option's value by type, and a value
// that is malformed, missing, undeclared or of another kind is an error naming the pass, the
// option, the value seen and what was expected — never a silent 0, false or empty list.

import IngotCore
import IngotIR
@testable import IngotPasses
import XCTest

final class PassOptionsTests: XCTestCase {
    static let probe = Pass(
        name: "probe", summary: "declares one option of each kind",
        options: [
            PassOption("ratio", .number(0...1), default: "0.5", "a number"),
            PassOption("threshold", .numberOrAuto(0...1), default: "auto", "auto or a number"),
            PassOption("count", .integer(1...8), default: "4", "an integer"),
            PassOption("group", .choice(["0", "32"]), default: "32", "a choice of integers"),
            PassOption("style", .choice(["plain", "fancy"]), default: "plain", "a choice"),
            PassOption("verbose", .flag, default: "false", "a flag"),
            PassOption("layers", .integerList, default: "", "a list of integers"),
            PassOption("path", .text, default: "", "text"),
        ],
        body: { _, _, _ in PassRecord(name: "probe") })

    func message<T>(_ body: () throws -> T) -> String {
        do { return "no error, got \(try body())" } catch { return "\(error)" }
    }

    func options(_ text: String) throws -> PassOptions {
        try Pipeline.parse(text, registry: PassRegistry([Self.probe])).steps[0].options
    }

    /// Options as a pass could be handed them without validation (a copy with values replaced).
    func unchecked(_ values: [String: String]) throws -> PassOptions {
        try options("probe").replacing(values)
    }

    func testEachReaderReturnsDefaults() throws {
        let o = try options("probe")
        XCTAssertEqual(try o.double("ratio"), 0.5)
        XCTAssertEqual(try o.numberOrAuto("threshold"), nil)
        XCTAssertEqual(try o.int("count"), 4)
        XCTAssertEqual(try o.int("group"), 32)
        XCTAssertEqual(try o["style"], "plain")
        XCTAssertEqual(try o.flag("verbose"), false)
        XCTAssertEqual(try o.integers("layers"), [])
        XCTAssertEqual(try o["path"], "")
        XCTAssertEqual(try o["ratio"], "0.5", "the subscript reads the text of any kind")
    }

    func testEachReaderReturnsGivenValues() throws {
        let o = try options("probe:ratio=0.25:threshold=0.75:count=8:group=0:style=fancy:verbose:layers=0,2,4:path=out.ckpt")
        XCTAssertEqual(try o.double("ratio"), 0.25)
        XCTAssertEqual(try o.numberOrAuto("threshold"), 0.75)
        XCTAssertEqual(try o.int("count"), 8)
        XCTAssertEqual(try o.int("group"), 0)
        XCTAssertEqual(try o["style"], "fancy")
        XCTAssertEqual(try o.flag("verbose"), true)
        XCTAssertEqual(try o.integers("layers"), [0, 2, 4])
        XCTAssertEqual(try o["path"], "out.ckpt")
        XCTAssertEqual(o.values["verbose"], "true", "provenance keeps flags as true/false")
    }

    func testMalformedValuesNameThePassTheOptionTheValueAndTheExpectation() throws {
        XCTAssertEqual(message { try self.unchecked(["ratio": "abc"]).double("ratio") },
                       "pass 'probe' option 'ratio': value 'abc', expected a number in 0.0...1.0")
        XCTAssertEqual(message { try self.unchecked(["ratio": ""]).double("ratio") },
                       "pass 'probe' option 'ratio': value '', expected a number in 0.0...1.0")
        XCTAssertEqual(message { try self.unchecked(["threshold": "most"]).numberOrAuto("threshold") },
                       "pass 'probe' option 'threshold': value 'most', expected auto or a number in 0.0...1.0")
        XCTAssertEqual(message { try self.unchecked(["count": "9"]).int("count") },
                       "pass 'probe' option 'count': value '9', expected an integer in 1...8")
        XCTAssertEqual(message { try self.unchecked(["group": "48"]).int("group") },
                       "pass 'probe' option 'group': value '48', expected one of 0, 32")
        XCTAssertEqual(message { try self.unchecked(["style": "bold"])["style"] },
                       "pass 'probe' option 'style': value 'bold', expected one of plain, fancy")
        XCTAssertEqual(message { try self.unchecked(["verbose": "maybe"]).flag("verbose") },
                       "pass 'probe' option 'verbose': value 'maybe', expected true or false")
        XCTAssertEqual(message { try self.unchecked(["layers": "0,x"]).integers("layers") },
                       "pass 'probe' option 'layers': value '0,x', expected a list of non-negative integers like 0,2,4")
    }

    func testAnOptionNotDeclaredCannotBeRead() throws {
        let o = try options("probe")
        XCTAssertEqual(message { try o.double("alpha") },
                       "pass 'probe' option 'alpha': read but not declared; options: ratio, threshold, count, group, style, verbose, layers, path")
        XCTAssertEqual(message { try o["alpha"] },
                       "pass 'probe' option 'alpha': read but not declared; options: ratio, threshold, count, group, style, verbose, layers, path")
        let quantize = try Pipeline.parse("quantize").steps[0].options
        XCTAssertEqual(message { try quantize.flag("sensitive") },
                       "pass 'quantize' option 'sensitive': read but not declared; options: type, mode, group, weight-bits, scale-type, embeddings, lm-head, calibrate, percentile, smooth, sensitivity, max-drop, min-inputs, search")
        let fuse = try Pipeline.parse("fuse").steps[0].options
        XCTAssertEqual(message { try fuse.int("level") }, "pass 'fuse' option 'level': read but not declared; the pass declares no options")
    }

    func testAMissingValueIsAnError() throws {
        let o = PassOptions(pass: "probe", declarations: Self.probe.options, values: [:])
        XCTAssertEqual(message { try o.int("count") }, "pass 'probe' option 'count': not set and no default, expected an integer in 1...8")
        XCTAssertEqual(message { try o["path"] }, "pass 'probe' option 'path': not set and no default, expected text")
    }

    func testReadingAnOptionAsAnotherKindIsAnError() throws {
        let o = try options("probe")
        XCTAssertEqual(message { try o.double("count") }, "pass 'probe' option 'count': read as a number, declared as an integer in 1...8")
        XCTAssertEqual(message { try o.int("ratio") }, "pass 'probe' option 'ratio': read as an integer, declared as a number in 0.0...1.0")
        XCTAssertEqual(message { try o.int("style") }, "pass 'probe' option 'style': read as an integer, declared as one of plain, fancy")
        XCTAssertEqual(message { try o.double("threshold") }, "pass 'probe' option 'threshold': read as a number, declared as auto or a number in 0.0...1.0")
        XCTAssertEqual(message { try o.numberOrAuto("ratio") }, "pass 'probe' option 'ratio': read as auto or a number, declared as a number in 0.0...1.0")
        XCTAssertEqual(message { try o.flag("path") }, "pass 'probe' option 'path': read as a flag, declared as text")
        XCTAssertEqual(message { try o.integers("count") }, "pass 'probe' option 'count': read as a list of integers, declared as an integer in 1...8")
    }

    func testAPassGivenAMalformedValueFailsInsteadOfReadingZero() throws {
        var g = try GraphParser.parse("""
            graph m(%x: f32[batch, 64]) -> (%y) {
              @w: f32[8, 64]
              %y: f32[batch, 8] = linear(%x, @w) {activation = none}
              return %y
            }
            """)
        let defaults = try Pipeline.parse("quantize").steps[0].options
        XCTAssertEqual(message { try Pass.quantize.body(&g, defaults.replacing(["smooth": "x"]), PassContext()) },
                       "pass 'quantize' option 'smooth': value 'x', expected auto or a number in 0.0...1.0")
        XCTAssertEqual(message { try Pass.quantize.needsCalibration(defaults.replacing(["max-drop": ""])) },
                       "pass 'quantize' option 'max-drop': value '', expected auto or a number in 0.0...1.0")
        XCTAssertEqual(message { try Pass.prune.body(&g, try Pipeline.parse("prune=nm").steps[0].options.replacing(["n": "two"]), PassContext()) },
                       "pass 'prune' option 'n': value 'two', expected an integer in 1...64")
        XCTAssertEqual(message { try Pass.distill.check(g, try Pipeline.parse("distill").steps[0].options.replacing(["layers": "1,,2"])) },
                       "pass 'distill' option 'layers': value '1,,2', expected a list of non-negative integers like 0,2,4")
    }
}
