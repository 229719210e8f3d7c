// Safetensors reader: the real MiniLM checkpoint and reference file, dtype conversion,
// sharded checkpoints, and a hostile corpus of lying headers.
import Foundation
import XCTest
import IngotCore
import IngotTestSupport
@testable import IngotCheckpoint

final class SafetensorsTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws { dir = try TempDirectory.make("st") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func testRealMiniLM() throws {
        guard let model = TestPaths.require(TestPaths.miniLMDir) else {
            if TestPaths.isCI { XCTFail("MiniLM missing") }
            throw XCTSkip("MiniLM not cached")
        }
        let c = try SafetensorsCheckpoint(path: model.path)
        XCTAssertEqual(c.tensorNames.count, 104)
        let word = try XCTUnwrap(c.tensor(named: "embeddings.word_embeddings.weight"))
        XCTAssertEqual(word.shape, [30522, 384])
        XCTAssertEqual(word.dtype, .f32)
        XCTAssertEqual(c.tensor(named: "embeddings.position_ids")?.dtype, .i64)
        let positions = try c.floats("embeddings.position_ids").toArray(of: Float.self)
        XCTAssertEqual(Array(positions.prefix(4)), [0, 1, 2, 3], "i64 converts to float")
        XCTAssertEqual(positions.last, 511)
        XCTAssertEqual(c.shards[0].metadata.first?.0, "format")
    }

    func testDtypeConversion() throws {
        let url = dir.appendingPathComponent("mixed.safetensors")
        let f16: [UInt8] = [1.5, -2, 65504].flatMap { withUnsafeBytes(of: halfBitsFromFloat(Float($0)).littleEndian, Array.init) }
        let bf16: [UInt8] = [1, -3.5].flatMap { withUnsafeBytes(of: bfloat16BitsFromFloat(Float($0)).littleEndian, Array.init) }
        let i64: [UInt8] = [Int64(-7), 1 << 40].flatMap { withUnsafeBytes(of: $0.littleEndian, Array.init) }
        try SafetensorsWriter.write([
            TestTensor(name: "h", dtype: "F16", shape: [3], bytes: f16),
            TestTensor(name: "b", dtype: "BF16", shape: [2], bytes: bf16),
            TestTensor(name: "l", dtype: "I64", shape: [2], bytes: i64),
            TestTensor(name: "u", dtype: "U8", shape: [2], bytes: [0, 255]),
            TestTensor(name: "z", dtype: "F32", shape: [0], bytes: []),
        ], to: url, metadata: ["format": "pt"])
        let c = try SafetensorsCheckpoint(path: url.path)
        XCTAssertEqual(try c.floats("h").toArray(of: Float.self), [1.5, -2, 65504])
        XCTAssertEqual(try c.floats("b").toArray(of: Float.self), [1, -3.5])
        XCTAssertEqual(try c.floats("l").toArray(of: Float.self), [-7, 1_099_511_627_776])
        XCTAssertEqual(try c.floats("u").toArray(of: Float.self), [0, 255])
        XCTAssertEqual(try c.floats("z").byteCount, 0)
    }

    func testShardedCheckpoint() throws {
        try SafetensorsWriter.write([.f32("a", [2]), .f32("b", [3])], to: dir.appendingPathComponent("model-00001-of-00002.safetensors"))
        try SafetensorsWriter.write([.f32("c", [4])], to: dir.appendingPathComponent("model-00002-of-00002.safetensors"))
        try #"{"metadata": {}, "weight_map": {"a": "model-00001-of-00002.safetensors", "b": "model-00001-of-00002.safetensors", "c": "model-00002-of-00002.safetensors"}}"#
            .write(to: dir.appendingPathComponent("model.safetensors.index.json"), atomically: true, encoding: .utf8)
        let c = try SafetensorsCheckpoint(path: dir.path)
        XCTAssertEqual(c.tensorNames, ["a", "b", "c"])
        XCTAssertEqual(c.shardPaths.count, 2)
        XCTAssertEqual(try c.floats("c").byteCount, 16)

        try #"{"weight_map": {"a": "../escape.safetensors"}}"#.write(to: dir.appendingPathComponent("model.safetensors.index.json"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try SafetensorsCheckpoint(path: dir.path)) { error in
            XCTAssertEqual((error as! IngotError).location, "weight_map.a")
        }
        try #"{"weight_map": {"a": "model-00002-of-00002.safetensors"}}"#.write(to: dir.appendingPathComponent("model.safetensors.index.json"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try SafetensorsCheckpoint(path: dir.path)) { error in
            XCTAssertEqual((error as! IngotError).message, "model-00002-of-00002.safetensors has no tensor 'a'")
        }
        try #"{"weight_map": {"a": "missing.safetensors"}}"#.write(to: dir.appendingPathComponent("model.safetensors.index.json"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try SafetensorsCheckpoint(path: dir.path)) { error in
            XCTAssertEqual((error as! IngotError).kind, .io)
        }
    }

    /// A file with the given raw header text and `dataBytes` bytes of data.
    func file(header: String, dataBytes: Int) throws -> URL {
        let url = dir.appendingPathComponent("h.safetensors")
        var bytes = withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian, Array.init)
        bytes += Array(header.utf8) + [UInt8](repeating: 0, count: dataBytes)
        try Data(bytes).write(to: url)
        return url
    }

    func expectError(header: String, dataBytes: Int, location: String, kind: IngotError.Kind = .format, line: UInt = #line) throws {
        let url = try file(header: header, dataBytes: dataBytes)
        XCTAssertThrowsError(try SafetensorsFile(path: url.path), line: line) { error in
            let e = error as! IngotError
            XCTAssertEqual(e.kind, kind, "\(e)", line: line)
            XCTAssertEqual(e.location, location, "\(e)", line: line)
        }
    }

    func testHostileHeaders() throws {
        try expectError(header: #"{"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 12]}}"#, dataBytes: 12, location: "tensor 'w'.data_offsets")
        try expectError(header: #"{"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "v": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}"#, dataBytes: 12, location: "tensor 'v'.data_offsets")
        try expectError(header: #"{"w": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}"#, dataBytes: 8, location: "tensor 'w'.data_offsets")
        try expectError(header: #"{"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}"#, dataBytes: 8, location: "tensor 'w'.data_offsets")
        try expectError(header: #"{"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 0]}}"#, dataBytes: 0, location: "tensor 'w'.shape[0]")
        try expectError(header: #"{"w": {"dtype": "F32", "shape": [2147483647, 2147483647, 2147483647], "data_offsets": [0, 4]}}"#, dataBytes: 4, location: "tensor 'w'.shape")
        try expectError(header: #"{"w": {"dtype": "F8_E4M3", "shape": [1], "data_offsets": [0, 1]}}"#, dataBytes: 1, location: "tensor 'w'.dtype", kind: .unsupported)
        try expectError(header: #"{"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "w": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}"#, dataBytes: 8, location: "JSON line 1 column 63")
        try expectError(header: #"[1, 2]"#, dataBytes: 0, location: "header")
        try expectError(header: #"{"w": 3}"#, dataBytes: 0, location: "tensor 'w'")
        try expectError(header: #"{"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4], "extra": 1}}"#, dataBytes: 4, location: "tensor 'w'")
        try expectError(header: #"{"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}"#, dataBytes: 6, location: "data")
    }

    func testLyingHeaderLength() throws {
        let url = dir.appendingPathComponent("l.safetensors")
        for length in [UInt64(0), 1, 1 << 40, UInt64.max] {
            var bytes = withUnsafeBytes(of: length.littleEndian, Array.init)
            bytes += Array("{}".utf8)
            try Data(bytes).write(to: url)
            XCTAssertThrowsError(try SafetensorsFile(path: url.path)) { error in
                XCTAssertEqual((error as! IngotError).location, "header_length")
            }
        }
    }

    func testTruncationAndFlipsNeverCrash() throws {
        let url = dir.appendingPathComponent("ok.safetensors")
        try SafetensorsWriter.write([.f32("a", [3]), .f32("b.c", [2, 2])], to: url)
        let original = [UInt8](try Data(contentsOf: url))
        let probe = dir.appendingPathComponent("p.safetensors")
        for n in 0..<original.count {
            try Data(original[0..<n]).write(to: probe)
            XCTAssertThrowsError(try SafetensorsFile(path: probe.path), "prefix \(n)")
        }
        for i in 0..<original.count {
            var b = original
            b[i] ^= 0xA5
            try Data(b).write(to: probe)
            if let f = try? SafetensorsFile(path: probe.path) {
                for t in f.tensors { _ = try f.bytes(t.name) }
            }
        }
    }
}

final class JSONTests: XCTestCase {
    func testValidDocuments() throws {
        let v = try JSONValue.parse(#" {"a": [1, -2.5e3, true, false, null, "x\n\u00e9\ud83d\ude00"], "big": 9007199254740993, "o": {}} "#)
        XCTAssertEqual(v["a"]?[1]?.double, -2500)
        XCTAssertEqual(v["a"]?[5]?.string, "x\né😀")
        XCTAssertEqual(v["big"]?.int, 9_007_199_254_740_993, "integers stay exact beyond 2^53")
        XCTAssertEqual(v["o"]?.object?.count, 0)
        XCTAssertEqual(v.serialized(), #"{"a":[1,-2500,true,false,null,"x\né😀"],"big":9007199254740993,"o":{}}"#)
    }

    func testRoundTrip() throws {
        let text = #"{"k":[0.1,1e-12,"q\"\\\t",[[]],{"z":-0}],"n":null}"#
        let v = try JSONValue.parse(text)
        XCTAssertEqual(try JSONValue.parse(v.serialized()), v)
        XCTAssertEqual(try JSONValue.parse(v.serialized(pretty: true)), v)
    }

    func testInvalidDocumentsNameLineAndColumn() {
        let cases: [(String, String)] = [
            ("", "JSON line 1 column 1: unexpected end of input, expected a value"),
            ("{\"a\": 1,}", "JSON line 1 column 9: unexpected '}', expected a string key"),
            ("[1, 2", "JSON line 1 column 6: unexpected end of input, expected ',' or ']'"),
            ("{\"a\": 1, \"a\": 2}", "JSON line 1 column 10: duplicate key \"a\""),
            ("01", "JSON line 1 column 2: leading zero in a number"),
            ("\"\\x\"", "JSON line 1 column 3: invalid escape \\'x'"),
            ("\"\\ud800\"", "JSON line 1 column 8: unpaired high surrogate \\ud800"),
            ("nul", "JSON line 1 column 1: truncated literal, expected null"),
            ("1e999", "JSON line 1 column 6: number 1e999 is out of range"),
            ("{\n  \"a\": tru\n}", "JSON line 2 column 8: invalid literal, expected true"),
            ("[1] 2", "JSON line 1 column 5: unexpected '2' after the JSON value"),
            ("\"a\u{01}\"", "JSON line 1 column 3: control character 0x1 inside a string"),
        ]
        for (text, expected) in cases {
            XCTAssertThrowsError(try JSONValue.parse(text), text) { error in
                XCTAssertEqual("\(error)", expected, text)
            }
        }
    }

    /// Keys compare by code points: "é" composed (U+00E9) and decomposed (e + U+0301) are two
    /// keys, as in Gemma's tokenizer.json vocabulary, though Swift's String equality merges them.
    func testCanonicallyEquivalentKeysAreDistinct() throws {
        let v = try JSONValue.parse("{\"\u{E9}\": 1, \"e\u{301}\": 2}")
        XCTAssertEqual(v.object?.count, 2)
        XCTAssertEqual(v.object?.map { Array($0.0.unicodeScalars.map(\.value)) }, [[0xE9], [0x65, 0x301]])
    }

    func testDeepNestingIsRejected() {
        let deep = String(repeating: "[", count: 200) + String(repeating: "]", count: 200)
        XCTAssertThrowsError(try JSONValue.parse(deep)) { error in
            XCTAssertTrue("\(error)".hasSuffix("nesting deeper than 128 levels"))
        }
        let ok = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        XCTAssertNoThrow(try JSONValue.parse(ok))
    }
}
