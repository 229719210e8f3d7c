// Op registry: every op kind is registered once (codes and names unique, lookups by name and
// code agree with `Op.definition`), every definition's samples cover its names and round-trip
// through the textual and binary forms, and the shared broadcast rule. A new `Op` case cannot
// be left out: `Op.definition` and `OpCode.definition` are exhaustive switches, and these
// tests fail when a case of `Op` (read from Op.swift) has no registered definition with a
// sample, or a definition claims another's code or name.

import Foundation
import IngotCore
import IngotTestSupport
import XCTest
@testable import IngotIR

final class OpRegistryTests: XCTestCase {
    func id(_ d: any OpDefinition.Type) -> ObjectIdentifier { ObjectIdentifier(d) }

    func testEveryCodeListsItsOwnDefinitionOnce() {
        XCTAssertEqual(Ops.all.count, OpCode.allCases.count)
        XCTAssertEqual(Set(Ops.all.map(id)).count, Ops.all.count, "a definition is listed under two codes")
        for code in OpCode.allCases {
            XCTAssertEqual(code.definition.code, code, "\(code.definition) is listed under \(code) but declares \(code.definition.code)")
            XCTAssertEqual(Ops.definition(code: code.rawValue).map(id), id(code.definition))
        }
        XCTAssertEqual(OpCode.allCases.map(\.rawValue), Array(1...OpCode.highest), "codes are 1, 2, … in order")
        XCTAssertNil(Ops.definition(code: 0))
        XCTAssertNil(Ops.definition(code: OpCode.highest + 1))
    }

    /// Swift cannot list the cases of an enum with payloads, so they are read from the source.
    func testEveryOpCaseHasARegisteredDefinitionWithASample() throws {
        let source = try String(contentsOf: TestPaths.packageRoot.appendingPathComponent("Sources/IngotIR/Op.swift"), encoding: .utf8)
        guard let start = source.range(of: "public enum Op: ") else { return XCTFail("no `public enum Op` in Op.swift") }
        var cases: [String] = []
        for line in source[start.upperBound...].split(separator: "\n") {
            if line.hasPrefix("}") { break }
            guard line.hasPrefix("    case ") else { continue }
            let name = line.dropFirst("    case ".count).prefix { $0.isLetter || $0.isNumber || $0 == "_" }
            cases.append(String(name))
        }
        XCTAssertFalse(cases.isEmpty, "no cases read from Op.swift")
        XCTAssertEqual(cases.count, Ops.all.count, "one registered definition per Op case")
        func caseName(_ op: Op) -> String { Mirror(reflecting: op).children.first?.label ?? "\(op)" }
        let sampled = Set(Ops.all.flatMap { $0.samples }.map(caseName))
        XCTAssertEqual(Set(cases).subtracting(sampled), [], "Op cases without a registered definition or a sample")
        XCTAssertEqual(sampled.subtracting(cases), [], "sampled cases not found in Op.swift")
    }

    func testNamesAreUniqueAndLookUpTheirDefinition() {
        var owner: [String: any OpDefinition.Type] = [:]
        for d in Ops.all {
            XCTAssertFalse(d.names.isEmpty, "\(d) has no name")
            for name in d.names {
                if let other = owner[name] { XCTFail("'\(name)' is claimed by \(other) and \(d)") }
                owner[name] = d
                XCTAssertEqual(Ops.definition(named: name).map(id), id(d), name)
            }
        }
        XCTAssertNil(Ops.definition(named: "frobnicate"))
    }

    func testSamplesMapBackToTheirDefinitionAndCoverEveryName() {
        for d in Ops.all {
            XCTAssertFalse(d.samples.isEmpty, "\(d) has no samples")
            XCTAssertTrue(d.arity.lowerBound >= 0, "\(d)")
            // Checked first: the other facts of an op reach its definition through `Op.definition`.
            let misrouted = d.samples.filter { id($0.definition) != id(d) }
            guard misrouted.isEmpty else {
                XCTFail("\(misrouted) are samples of \(d) but Op.definition maps them elsewhere")
                continue
            }
            for op in d.samples {
                XCTAssertEqual(Ops.definition(named: op.name).map(id), id(d), "\(op) prints as '\(op.name)'")
                let claimants = Ops.all.filter { $0.claims(op) }.map { "\($0)" }
                XCTAssertEqual(claimants, ["\(d)"], "\(op) must be held by exactly one definition")
            }
            XCTAssertEqual(Set(d.samples.map(\.name)), Set(d.names), "\(d)'s samples must print every name it has")
        }
    }

    func testEverySampleRoundTripsThroughTextAndBinary() throws {
        let ops = Ops.all.flatMap { d in d.samples.filter { id($0.definition) == id(d) } }
        var g = Graph(name: "samples")
        let x = g.addInput("x", TensorType(.f32, [2, 3]))
        for (i, op) in ops.enumerated() {
            // Structure only: neither the parser nor the codec type-checks.
            g.nodes.append(Node(op: op, inputs: [x], outputs: [g.addValue("o\(i)", TensorType(.f32, [2, 3]))]))
        }
        g.markOutput(x)
        let parsed = try GraphParser.parse(g.text)
        XCTAssertEqual(parsed.nodes.map(\.op), ops, "text round trip")
        XCTAssertEqual(parsed.text, g.text)
        let bytes = GraphCodec.encode(g)
        let decoded = try bytes.withUnsafeBytes { try GraphCodec.decode($0) }
        XCTAssertEqual(decoded.nodes.map(\.op), ops, "binary round trip")
        XCTAssertEqual(GraphCodec.encode(decoded), bytes)
    }

    /// Each definition's attribute bytes, decoded alone, give back the op and consume exactly what was written.
    func testEachDefinitionDecodesWhatItEncodes() throws {
        for d in Ops.all {
            for op in d.samples where id(op.definition) == id(d) {
                var w = ByteWriter()
                GraphCodec.writeOp(op, &w)
                XCTAssertEqual(Array(w.bytes.prefix(2)), [UInt8(d.code.rawValue & 0xFF), UInt8(d.code.rawValue >> 8)], "\(op): u16 code first")
                try w.bytes.withUnsafeBytes { raw in
                    var r = ByteReader(raw, file: nil)
                    XCTAssertEqual(try GraphCodec.readOp(&r, "node"), op)
                    XCTAssertEqual(r.remaining, 0, "\(op) left bytes unread")
                }
            }
        }
    }

    func testUnknownOpCodeNamesTheRange() throws {
        var g = Graph(name: "g")
        let x = g.addInput("x", TensorType(.f32, [4]))
        g.nodes.append(Node(op: .silu, inputs: [x], outputs: [g.addValue("y", TensorType(.f32, [4]))]))
        g.markOutput(x)
        var bytes = GraphCodec.encode(g)
        // The node is `u16 op, u8 1, u32 input, u8 1, u32 output`; silu has no attributes.
        let at = bytes.count - 12
        XCTAssertEqual(bytes[at], UInt8(OpCode.silu.rawValue))
        bytes[at] = UInt8(OpCode.highest + 1)
        XCTAssertThrowsError(try bytes.withUnsafeBytes { try GraphCodec.decode($0, file: "g.ingot") }) { error in
            XCTAssertEqual("\(error)", "g.ingot: graph.nodes[0].op: value \(OpCode.highest + 1), expected an op code 1...\(OpCode.highest)")
        }
    }

    func testParserReportsUnknownAttributesAndDuplicates() {
        func message(_ node: String) -> String {
            do { _ = try GraphParser.parse("graph g(%x: f32[4]) -> (%y) {\n  %y: f32[4] = \(node)\n  return %y\n}\n"); return "no error" }
            catch { return "\(error)" }
        }
        XCTAssertEqual(message("softmax(%x) {axis = 0, axis = 1}"), "line 2, column 16: softmax: attribute 'axis' given twice")
        XCTAssertEqual(message("softmax(%x)"), "line 2, column 16: softmax: missing attribute 'axis'")
        XCTAssertEqual(message("add(%x, %x) {b = 1, a = 2}"), "line 2, column 16: add: unknown attributes a, b")
        XCTAssertEqual(message("split(%x) {axis = 0, sizes = [1, x]}"), "line 2, column 16: split: attribute 'sizes' = [1, x], expected a list of integers")
    }

    func testBroadcastRule() throws {
        XCTAssertEqual(try Shape.broadcast(Shape(["batch", "seq", 8]), Shape([8])), Shape(["batch", "seq", 8]))
        let sizes: ([Int], [Int]) throws -> [Int] = Shape.broadcast
        XCTAssertEqual(try sizes([2, 1, 4], [3, 1]), [2, 3, 4])
        XCTAssertEqual(try sizes([0], [1]), [0])
        XCTAssertEqual(try sizes([], [5]), [5])
        XCTAssertThrowsError(try sizes([2, 3], [4])) { error in
            XCTAssertEqual(error as? IngotError, IngotError(.shape, location: "broadcast", "shapes [2, 3] and [4] do not broadcast (dimension 1: 3 vs 4)"))
        }
        XCTAssertThrowsError(try Shape.broadcast(Shape(["seq", 1]), Shape(["batch", 4]))) { error in
            XCTAssertEqual((error as? IngotError)?.message, "shapes [seq, 1] and [batch, 4] do not broadcast (dimension 0: seq vs batch)")
        }
        var g = Graph(name: "b")
        let a = g.addInput("a", TensorType(.f32, ["batch", 3]))
        let b = g.addInput("b", TensorType(.f32, [4]))
        XCTAssertThrowsError(try g.add(.binary(.mul), [a, b], name: "y")) { error in
            XCTAssertEqual((error as? IngotError)?.message,
                           "mul(f32[batch, 3], f32[4]): shapes [batch, 3] and [4] do not broadcast (dimension 1: 3 vs 4)")
        }
    }
}

extension OpDefinition {
    /// Whether this kind holds `op`.
    static func claims(_ op: Op) -> Bool { attributes(of: op) != nil }
}
