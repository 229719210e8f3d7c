// Recipe limits (issue 14): a billion-laughs recipe, deep nesting and oversized files are
// refused with exit 64 before YAML is parsed; ordinary recipes, with comments and quoted
// text holding `*`, `&` and `[`, still load as the --passes text they stand for.
import Foundation
import IngotCore
import IngotPasses
import IngotTestSupport
import XCTest
@testable import IngotCLI

final class RecipeLimitsTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws { dir = try TempDirectory.make("recipe-limits") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func write(_ text: String, _ name: String = "r.yaml") throws -> String {
        let url = dir.appendingPathComponent(name)
        try Data(text.utf8).write(to: url)
        return url.path
    }

    /// Runs `ingot build` on a source that does not exist: the recipe must fail first.
    func build(recipe: String) throws -> CommandResult {
        try runIngot(["build", "/nonexistent/model", "-o", dir.appendingPathComponent("o.ingot").path, "--recipe", recipe])
    }

    /// Nine anchors of nine aliases each: 9⁹ values once expanded (8 GB and SIGABRT before).
    static let billionLaughs = """
        a0: &a0 [x, x, x, x, x, x, x, x, x]
        a1: &a1 [*a0, *a0, *a0, *a0, *a0, *a0, *a0, *a0, *a0]
        a2: &a2 [*a1, *a1, *a1, *a1, *a1, *a1, *a1, *a1, *a1]
        a3: &a3 [*a2, *a2, *a2, *a2, *a2, *a2, *a2, *a2, *a2]
        a4: &a4 [*a3, *a3, *a3, *a3, *a3, *a3, *a3, *a3, *a3]
        a5: &a5 [*a4, *a4, *a4, *a4, *a4, *a4, *a4, *a4, *a4]
        a6: &a6 [*a5, *a5, *a5, *a5, *a5, *a5, *a5, *a5, *a5]
        a7: &a7 [*a6, *a6, *a6, *a6, *a6, *a6, *a6, *a6, *a6]
        a8: &a8 [*a7, *a7, *a7, *a7, *a7, *a7, *a7, *a7, *a7]
        passes: *a8

        """

    func testBillionLaughsIsRefusedBeforeParsing() throws {
        let path = try write(RecipeLimitsTests.billionLaughs)
        let r = try build(recipe: path)
        XCTAssertEqual(r.status, 64)
        XCTAssertEqual(r.stderr, "ingot: error: \(path): line 1, column 5: anchor '&a0', expected a plain value (a recipe may not use anchors & or aliases *; write each value out, or quote text that starts with & or *)\n")
    }

    /// Found by the recipe fuzz target: a complex key (`? …`) holding a mapping made Yams'
    /// constructor trap (SIGILL, exit 132). The exact bytes of the fuzzer's input.
    func testAMappingUsedAsAKeyIsRefusedNamingIt() throws {
        let bytes: [UInt8] = Array("passes:\n  \n  - ? fuje:se  - quantize:8 {type.json8, mide: static, calibrate? ecerpn\n".utf8)
        XCTAssertEqual(bytes.count, 84)
        let url = dir.appendingPathComponent("fuzz.yaml")
        try Data(bytes).write(to: url)
        let r = try build(recipe: url.path)
        XCTAssertEqual(r.status, 64, r.stderr)
        XCTAssertEqual(r.stderr, "ingot: error: \(url.path): passes[0]: a mapping key is a mapping, expected a plain name\n")
        let twice = try write("passes:\n  - quantize: {type: int8, type: int8}\n")
        let d = try build(recipe: twice)
        XCTAssertEqual(d.status, 64, d.stderr)
        XCTAssertEqual(d.stderr, "ingot: error: \(twice): passes[0].quantize: key \"type\" appears twice\n")
    }

    func testAnAliasAloneIsRefusedNamingIt() throws {
        let path = try write("passes:\n  - fuse\n  - *q\n")
        XCTAssertThrowsError(try RecipeFile.load(path)) { error in
            let e = error as! IngotError
            XCTAssertEqual(e.kind, .invalidArgument)
            XCTAssertEqual(e.location, "line 3, column 5")
            XCTAssertTrue(e.message.hasPrefix("alias '*q', expected a plain value"), e.message)
        }
    }

    func testFiveThousandNestedBracketsAreRefusedBeforeParsing() throws {
        let path = try write("passes: " + String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000) + "\n")
        let r = try build(recipe: path)
        XCTAssertEqual(r.status, 64)
        XCTAssertEqual(r.stderr, "ingot: error: \(path): line 1, column 40: nesting 33 levels deep, expected at most 32\n")
    }

    func testAHundredThousandNestedBracketsAreRefusedBySize() throws {
        let path = try write("passes: " + String(repeating: "[", count: 100_000) + "\n")
        let r = try build(recipe: path)
        XCTAssertEqual(r.status, 64)
        XCTAssertEqual(r.stderr, "ingot: error: \(path): recipe size: value 100009 bytes, expected at most 65536 bytes (a recipe lists passes and their options)\n")
    }

    func testOversizedJSONRecipeIsRefused() throws {
        let path = try write(#"{"passes": ["fuse"]}"# + String(repeating: " ", count: 70_000), "r.json")
        XCTAssertThrowsError(try RecipeFile.load(path)) { error in
            XCTAssertEqual((error as! IngotError).description,
                           "\(path): recipe size: value 70020 bytes, expected at most 65536 bytes (a recipe lists passes and their options)")
        }
    }

    func testDeepBlockNestingIsRefused() throws {
        // Block sequences nest by "- " on one line, and mappings by indentation.
        let dashes = try write("passes:\n" + String(repeating: "- ", count: 5000) + "fuse\n", "dashes.yaml")
        let r = try build(recipe: dashes)
        XCTAssertEqual(r.status, 64)
        XCTAssertEqual(r.stderr, "ingot: error: \(dashes): line 2, column 65: nesting 33 levels deep, expected at most 32\n")
        let indented = try write((0..<40).map { String(repeating: " ", count: $0) + "k\($0):\n" }.joined(), "indented.yaml")
        XCTAssertThrowsError(try RecipeFile.load(indented)) { error in
            XCTAssertEqual((error as! IngotError).location, "line 33, column 33")
        }
    }

    func testNestingHiddenBehindATagOrADocumentMarkerIsCounted() throws {
        let deep = String(repeating: "[", count: 40) + String(repeating: "]", count: 40)
        for text in ["passes: !!seq " + deep + "\n", "--- " + deep + "\n"] {
            XCTAssertThrowsError(try RecipeFile.load(try write(text)), text) { error in
                XCTAssertEqual((error as! IngotError).message, "nesting 33 levels deep, expected at most 32")
            }
        }
    }

    func testOrdinaryRecipesStillLoad() throws {
        let expected = try Pipeline.parse("fuse,quantize=int8:weight-bits=7:smooth=0.5:max-drop=0.00105,pack:eight-bit=u7")
        let recipes = [
            """
            # The encoder recipe: *packed* & [7-bit] weights; "quotes" and 'apostrophes' in a comment.
            passes:   # comment with * and & and [ and {
              - fuse
              - quantize: {type: int8, weight_bits: 7, smooth: 0.5, max_drop: 0.00105}   # &not-an-anchor *nor-an-alias
              - pack:
                  eight_bit: "u7"
            """,
            """
            ---
            passes:
            - 'fuse'
            - "quantize": {"type": 'int8', "weight-bits": 7, smooth: 0.5, max-drop: 0.00105}
            - pack: {eight-bit: u7}
            ...
            """,
            """
            passes: [fuse, {quantize: {type: int8, weight-bits: 7,
                                       smooth: 0.5, max-drop: 0.00105}}, {pack: {eight-bit: 'u7'}}]
            """,
        ]
        for (i, text) in recipes.enumerated() {
            let p = try RecipeFile.load(try write(text + "\n", "ordinary\(i).yaml"))
            XCTAssertEqual(p.steps.map(\.pass.name), expected.steps.map(\.pass.name), text)
            XCTAssertEqual(p.steps.map(\.options), expected.steps.map(\.options), text)
        }
        let json = try RecipeFile.load(try write(#"{"passes": ["fuse", {"quantize": {"type": "int8", "weight_bits": 7, "smooth": 0.5, "max_drop": 0.00105}}, {"pack": {"eight_bit": "u7"}}]}"#, "r.json"))
        XCTAssertEqual(json.steps.map(\.options), expected.steps.map(\.options))
    }

    func testTextHoldingIndicatorsIsNotMistakenForThem() throws {
        // Quoted scalars (over lines, with escapes), plain scalars and block scalars are text.
        let text = """
            a: 'it''s *not* an &alias [or a list'
            b: "an \\"escaped\\" quote, then *text* & [more
              on a second line"
            c: plain text with a *star, an & and a [bracket
            d: |
              a block scalar: *x &y [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[
                # not a comment
            e: >-
              folded *text* [
            f: [x, 'a [ b', "c { d"]
            passes: [fuse]

            """
        XCTAssertNoThrow(try Array(text.utf8).withUnsafeBytes { try RecipeLimits.check($0, path: "t.yaml") })
        XCTAssertThrowsError(try Array("a: 'never closed\n".utf8).withUnsafeBytes { try RecipeLimits.check($0, path: "t.yaml") }) { error in
            XCTAssertEqual((error as! IngotError).description, "t.yaml: line 1, column 4: quoted value never closed, expected a closing '")
        }
    }
}
