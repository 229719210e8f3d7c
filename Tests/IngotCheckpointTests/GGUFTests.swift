// GGUF reader: the real SmolLM2 file, synthetic files of every metadata type and quant
// layout with hand-computed values, and a hostile corpus (truncations, lying fields).
import Foundation
import XCTest
import IngotCore
import IngotTestSupport
@testable import IngotCheckpoint

func half(_ f: Float) -> [UInt8] { withUnsafeBytes(of: halfBitsFromFloat(f).littleEndian) { Array($0) } }

final class GGUFSyntheticTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws { dir = try TempDirectory.make("gguf") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func open(_ bytes: [UInt8], _ name: String = "t.gguf") throws -> GGUFFile {
        let url = dir.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return try GGUFFile(path: url.path)
    }

    func dequantized(_ type: GGMLType, _ block: [UInt8], count: Int) throws -> [Float] {
        var b = GGUFBuilder()
        b.tensors = [("w", [UInt64(count)], type.rawValue, block)]
        let f = try open(b.bytes())
        return try f.dequantize(f.tensors[0]).toArray(of: Float.self)
    }

    func testEveryMetadataTypeRoundTrips() throws {
        var b = GGUFBuilder()
        var w = ByteWriter()
        b.add("u8", type: 0, [200]); b.add("i8", type: 1, [0xFE])
        w = ByteWriter(); w.u16(60000); b.add("u16", type: 2, w.bytes)
        w = ByteWriter(); w.write(Int16(-300)); b.add("i16", type: 3, w.bytes)
        b.addU32("u32", 4_000_000_000)
        w = ByteWriter(); w.i32(-5); b.add("i32", type: 5, w.bytes)
        w = ByteWriter(); w.f32(1.5); b.add("f32", type: 6, w.bytes)
        b.add("bool", type: 7, [1])
        b.addString("str", "héllo")
        w = ByteWriter(); w.u64(1 << 40); b.add("u64", type: 10, w.bytes)
        w = ByteWriter(); w.i64(-(1 << 40)); b.add("i64", type: 11, w.bytes)
        w = ByteWriter(); w.f64(0.25); b.add("f64", type: 12, w.bytes)
        // Nested: array of 2 arrays of u32.
        w = ByteWriter(); w.u32(9); w.u64(2)
        for row in [[1, 2], [3]] { w.u32(4); w.u64(UInt64(row.count)); for v in row { w.u32(UInt32(v)) } }
        b.add("nested", type: 9, w.bytes)
        w = ByteWriter(); w.u32(8); w.u64(2); w.append(GGUFBuilder.str("a")); w.append(GGUFBuilder.str("bc"))
        b.add("strings", type: 9, w.bytes)
        let f = try open(b.bytes())
        XCTAssertEqual(f["u8"], .uint8(200))
        XCTAssertEqual(f["i8"], .int8(-2))
        XCTAssertEqual(f["u16"]?.int, 60000)
        XCTAssertEqual(f["i16"]?.int, -300)
        XCTAssertEqual(f["u32"]?.int, 4_000_000_000)
        XCTAssertEqual(f["i32"]?.int, -5)
        XCTAssertEqual(f["f32"]?.float, 1.5)
        XCTAssertEqual(f["bool"]?.bool, true)
        XCTAssertEqual(f["str"]?.string, "héllo")
        XCTAssertEqual(f["u64"]?.int, 1 << 40)
        XCTAssertEqual(f["i64"]?.int, -(1 << 40))
        XCTAssertEqual(f["f64"]?.float, 0.25)
        XCTAssertEqual(f["nested"]?.array?.map { $0.intArray ?? [] }, [[1, 2], [3]])
        XCTAssertEqual(f["strings"]?.stringArray, ["a", "bc"])
        XCTAssertEqual(f.metadata.map(\.key).first, "u8")
    }

    func testQ8_0() throws {
        let qs = (0..<32).map { Int8($0 - 16) }
        let y = try dequantized(.q8_0, half(0.5) + qs.map { UInt8(bitPattern: $0) }, count: 32)
        XCTAssertEqual(y, qs.map { Float($0) * 0.5 })
    }

    func testQ4_0AndQ4_1() throws {
        let qs = (0..<16).map { UInt8($0) | UInt8(15 - $0) << 4 }   // low nibble j, high nibble 15 − j
        let low = (0..<16).map(Float.init), high = (0..<16).map { Float(15 - $0) }
        XCTAssertEqual(try dequantized(.q4_0, half(2) + qs, count: 32), (low + high).map { ($0 - 8) * 2 })
        XCTAssertEqual(try dequantized(.q4_1, half(0.25) + half(-1) + qs, count: 32), (low + high).map { $0 * 0.25 - 1 })
    }

    func testQ5_0AndQ5_1UseTheHighBits() throws {
        let qs = [UInt8](repeating: 0x21, count: 16)                   // low 1, high 2
        let qh: UInt32 = 0b1 | (1 << 17)                              // 5th bit of weight 0 and of weight 17
        let qhBytes = withUnsafeBytes(of: qh.littleEndian) { Array($0) }
        var expected = [Float](repeating: 1, count: 16) + [Float](repeating: 2, count: 16)
        expected[0] += 16
        expected[17] += 16
        XCTAssertEqual(try dequantized(.q5_0, half(1) + qhBytes + qs, count: 32), expected.map { $0 - 16 })
        XCTAssertEqual(try dequantized(.q5_1, half(0.5) + half(3) + qhBytes + qs, count: 32), expected.map { $0 * 0.5 + 3 })
    }

    func testQ4_KScalesAndMins() throws {
        // Sub-block scales 1…8 and mins 0…7 packed in 12 bytes (6 bits each).
        let sc: [UInt8] = [1, 2, 3, 4, 5, 6, 7, 8], mn: [UInt8] = [0, 1, 2, 3, 4, 5, 6, 7]
        var scales = [UInt8](repeating: 0, count: 12)
        for j in 0..<4 { scales[j] = sc[j]; scales[j + 4] = mn[j] }
        for j in 4..<8 {
            scales[j + 4] = (sc[j] & 0x0F) | ((mn[j] & 0x0F) << 4)
            scales[j - 4] |= (sc[j] >> 4) << 6
            scales[j] |= (mn[j] >> 4) << 6
        }
        let qs: [UInt8] = (0..<128).map { (i: Int) -> UInt8 in UInt8(i % 16) | (UInt8((i + 3) % 16) << 4) }
        let block: [UInt8] = half(0.5) + half(0.25) + scales + qs
        let y = try dequantized(.q4_K, block, count: 256)
        for group in 0..<4 {
            let scaleLow = Float(sc[2 * group]), minLow = Float(mn[2 * group])
            let scaleHigh = Float(sc[2 * group + 1]), minHigh = Float(mn[2 * group + 1])
            for l in 0..<32 {
                let byte = qs[32 * group + l]
                let low = Float(byte & 15), high = Float(byte >> 4)
                XCTAssertEqual(y[64 * group + l], 0.5 * scaleLow * low - 0.25 * minLow)
                XCTAssertEqual(y[64 * group + 32 + l], 0.5 * scaleHigh * high - 0.25 * minHigh)
            }
        }
        XCTAssertEqual(try dequantized(.q4_K, [UInt8](repeating: 0, count: BlockQ4_K.size), count: 256), [Float](repeating: 0, count: 256))
    }

    func testQ6_K() throws {
        var ql = [UInt8](repeating: 0, count: 128), qh = [UInt8](repeating: 0, count: 64)
        ql[0] = 0x0F      // weight 0: low 15
        qh[0] = 0x03      // weight 0: high 3 → q = 63 − 32 = 31
        ql[32] = 0x50     // weight 96: low nibble of ql[32]'s high half → 5, high bits 0 → 5 − 32
        let scales: [Int8] = [2, 1, 1, 1, 1, 1, -1, 1, 1, 1, 1, 1, 1, 1, 1, 1]
        let y = try dequantized(.q6_K, ql + qh + scales.map { UInt8(bitPattern: $0) } + half(0.5), count: 256)
        XCTAssertEqual(y[0], 0.5 * 2 * 31)
        XCTAssertEqual(y[96], 0.5 * -1 * Float(5 - 32))
        XCTAssertEqual(y[1], 0.5 * 2 * -32)
    }

    func testBlockSizesMatchTheTraitsTable() {
        XCTAssertEqual(GGMLType.q4_0.traits.typeSize, 18)
        XCTAssertEqual(GGMLType.q4_1.traits.typeSize, 20)
        XCTAssertEqual(GGMLType.q5_0.traits.typeSize, 22)
        XCTAssertEqual(GGMLType.q5_1.traits.typeSize, 24)
        XCTAssertEqual(GGMLType.q8_0.traits.typeSize, 34)
        XCTAssertEqual(GGMLType.q4_K.traits.typeSize, 144)
        XCTAssertEqual(GGMLType.q5_K.traits.typeSize, 176)
        XCTAssertEqual(GGMLType.q6_K.traits.typeSize, 210)
        // The artifact dtypes that keep these blocks agree with the GGUF table.
        let kept = GGMLType.allCases.compactMap { t in t.blockDType.map { (t, $0) } }
        XCTAssertEqual(kept.count, 8)
        for (ggml, dtype) in kept {
            XCTAssertEqual(dtype.byteSize, ggml.traits.typeSize, "\(ggml.name)")
            XCTAssertEqual(dtype.blockSize, ggml.traits.blockSize, "\(ggml.name)")
            XCTAssertEqual(dtype.description, ggml.name.lowercased())
        }
    }

    func testUndequantizableTypeIsUnsupported() throws {
        var b = GGUFBuilder()
        b.tensors = [("w", [256], GGMLType.q2_K.rawValue, [UInt8](repeating: 0, count: 84))]
        let f = try open(b.bytes())
        XCTAssertThrowsError(try f.dequantize(f.tensors[0])) { error in
            XCTAssertEqual((error as! IngotError).description, dir.appendingPathComponent("t.gguf").path + ": tensor 'w': type Q2_K cannot be dequantized by Ingot")
        }
    }
}

final class GGUFHostileTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws { dir = try TempDirectory.make("gguf-hostile") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func expectError(_ bytes: [UInt8], location: String, kind: IngotError.Kind = .format, file: StaticString = #filePath, line: UInt = #line) {
        let url = dir.appendingPathComponent("h.gguf")
        try! Data(bytes).write(to: url)
        XCTAssertThrowsError(try GGUFFile(path: url.path), file: file, line: line) { error in
            let e = error as! IngotError
            XCTAssertEqual(e.kind, kind, "\(e)", file: file, line: line)
            XCTAssertEqual(e.location, location, "\(e)", file: file, line: line)
        }
    }

    func valid() -> GGUFBuilder {
        var b = GGUFBuilder()
        b.addString("general.architecture", "llama")
        b.tensors = [("a", [32], GGMLType.q8_0.rawValue, half(1) + [UInt8](repeating: 1, count: 32)),
                     ("b", [4, 2], GGMLType.f32.rawValue, [UInt8](repeating: 0, count: 32))]
        return b
    }

    /// Issue 14: the real SmolLM2 file with `tokenizer.ggml.token_type`'s element type set to
    /// u8 and its count to ≈ the file size took 48 s and 3.8 GB before failing. Counts are now
    /// bounded before allocating: by 4,194,304 and by the bytes left ÷ the element's size.
    func testHugeMetadataArrayCountIsRefusedBeforeAllocating() throws {
        let path = try requireModel(TestPaths.smolLM2GGUF)
        let original = [UInt8](try Data(contentsOf: path))
        let key = Array("tokenizer.ggml.token_type".utf8)
        let at = try XCTUnwrap((0..<4_000_000).first { original[$0..<$0 + key.count].elementsEqual(key) }, "key not found")
        // key · u32 value type (9, array) · u32 element type · u64 count
        XCTAssertEqual(original[at + key.count], 9)
        let elementType = at + key.count + 4, countAt = elementType + 4
        var bytes = original
        bytes[elementType] = 0 // u8
        withUnsafeBytes(of: UInt64(97_000_000).littleEndian) { for i in 0..<8 { bytes[countAt + i] = $0[i] } }
        expectError(bytes, location: "metadata 'tokenizer.ggml.token_type'.count")
        // A count the bytes left could hold one byte each, but not as f32s: refused at the count.
        var b = valid()
        var w = ByteWriter()
        w.u32(6)
        w.u64(100)
        b.add("x", type: 9, w.bytes + [UInt8](repeating: 0, count: 200))
        let synthetic = b.bytes()
        XCTAssertGreaterThan(synthetic.count, 300)
        expectError(synthetic, location: "metadata 'x'.count")
    }

    /// Issue 14: a tensor's type edited to a smaller one (F32 → Q4_0) left its shape × type
    /// short of its data and built garbage; the data must fill the space up to the next tensor.
    func testTensorTypeEditedToASmallerOneIsRefused() throws {
        var b = GGUFBuilder()
        b.tensors = [("n", [64], GGMLType.q4_0.rawValue, [UInt8](repeating: 0x3F, count: 256)),
                     ("m", [8], GGMLType.f32.rawValue, [UInt8](repeating: 0, count: 32))]
        let url = dir.appendingPathComponent("retyped.gguf")
        try Data(b.bytes()).write(to: url)
        XCTAssertThrowsError(try GGUFFile(path: url.path)) { error in
            let e = error as! IngotError
            XCTAssertEqual(e.kind.exitCode, 65)
            XCTAssertEqual(e.description, "\(url.path): tensor 'n': Q4_0 [64] needs 36 bytes, but 256 lie between its offset and tensor 'm' at 256; expected a gap under the 32-byte alignment (type or shape edited?)")
        }
        // The last tensor is measured against the end of the file.
        b.tensors = [("m", [8], GGMLType.f32.rawValue, [UInt8](repeating: 0, count: 32)),
                     ("n", [64], GGMLType.q4_0.rawValue, [UInt8](repeating: 0x3F, count: 256))]
        try Data(b.bytes()).write(to: url)
        XCTAssertThrowsError(try GGUFFile(path: url.path)) { error in
            XCTAssertTrue((error as! IngotError).description.hasSuffix("tensor 'n': Q4_0 [64] needs 36 bytes, but 256 lie between its offset and the end of the file; expected a gap under the 32-byte alignment (type or shape edited?)"), "\(error)")
        }
    }

    /// The real SmolLM2 header with blk.0.attn_norm.weight's type F32 (0) edited to Q4_0 (2).
    func testRealNormTensorRetypedAsQ4_0IsRefused() throws {
        let path = try requireModel(TestPaths.smolLM2GGUF)
        var bytes = [UInt8](try Data(contentsOf: path))
        let name = Array("blk.0.attn_norm.weight".utf8)
        let at = try XCTUnwrap((8..<4_000_000).first { bytes[$0..<$0 + name.count].elementsEqual(name) && bytes[$0 - 8] == UInt8(name.count) })
        // name · u32 n_dims (1) · u64 ne[0] (576) · u32 type
        let typeAt = at + name.count + 4 + 8
        XCTAssertEqual(Array(bytes[(at + name.count)..<typeAt + 4]), [1, 0, 0, 0, 0x40, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
        bytes[typeAt] = 2
        expectError(bytes, location: "tensor 'blk.0.attn_norm.weight'")
        let url = dir.appendingPathComponent("h.gguf")
        XCTAssertThrowsError(try GGUFFile(path: url.path)) { error in
            XCTAssertTrue((error as! IngotError).message.hasPrefix("Q4_0 [576] needs 324 bytes, but 2304 lie between its offset and tensor 'blk.0.ffn_down.weight'"), "\(error)")
        }
    }

    func testValidFileOpens() throws {
        let url = dir.appendingPathComponent("ok.gguf")
        try Data(valid().bytes()).write(to: url)
        let f = try GGUFFile(path: url.path)
        XCTAssertEqual(f.tensors.map(\.shape), [[32], [2, 4]])
    }

    func testTruncationAtEveryByteIsAnError() throws {
        let bytes = valid().bytes()
        let url = dir.appendingPathComponent("t.gguf")
        for n in 0..<bytes.count {
            try Data(bytes[0..<n]).write(to: url)
            XCTAssertThrowsError(try GGUFFile(path: url.path), "prefix \(n)")
        }
    }

    func testEveryByteFlipEitherFailsCleanlyOrOpens() throws {
        let bytes = valid().bytes()
        let url = dir.appendingPathComponent("f.gguf")
        for i in 0..<bytes.count {
            var b = bytes
            b[i] ^= 0xFF
            try Data(b).write(to: url)
            if let f = try? GGUFFile(path: url.path) {
                for t in f.tensors where t.type.traits.dequantizable { _ = try f.dequantize(t) }
            }
        }
    }

    func testLyingFields() {
        var b = valid()
        b.version = 7
        expectError(b.bytes(), location: "header.version", kind: .unsupported)
        var bad = valid().bytes()
        bad[0] = 0x00
        expectError(bad, location: "header.magic")
        var counts = valid().bytes()
        for i in 8..<16 { counts[i] = 0xFF }
        expectError(counts, location: "header.tensor_count")
        expectError(valid().bytes(dims: [[32], [0, 2]]), location: "tensor 'b'.ne[0]")
        expectError(valid().bytes(dims: [[33], [4, 2]]), location: "tensor 'a'.ne[0]")
        expectError(valid().bytes(dims: [[32], [1 << 31, 2]]), location: "tensor 'b'.ne[0]")
        expectError(valid().bytes(offsets: [0, 8]), location: "tensor 'b'.offset")
        expectError(valid().bytes(offsets: [0, 1 << 20]), location: "tensor 'b'.offset")
        expectError(valid().bytes(offsets: [32, 32]), location: "tensor 'b'.offset")
        var unknownType = valid()
        unknownType.tensors[1].2 = 99
        expectError(unknownType.bytes(), location: "tensor 'b'.type", kind: .unsupported)
        var dupTensor = valid()
        dupTensor.tensors[1].0 = "a"
        expectError(dupTensor.bytes(), location: "tensor 'a'")
        var dupKey = valid()
        dupKey.addString("general.architecture", "bert")
        expectError(dupKey.bytes(), location: "metadata 'general.architecture'")
        var badBool = valid()
        badBool.add("flag", type: 7, [2])
        expectError(badBool.bytes(), location: "metadata 'flag'")
        var badType = valid()
        badType.add("x", type: 13, [0])
        expectError(badType.bytes(), location: "metadata 'x'.type")
        var hugeArray = valid()
        var w = ByteWriter(); w.u32(4); w.u64(1 << 40)
        hugeArray.add("arr", type: 9, w.bytes)
        expectError(hugeArray.bytes(), location: "metadata 'arr'.count")
        var deep = valid()
        var d = ByteWriter()
        for _ in 0..<10 { d.u32(9); d.u64(1) }
        d.u32(0); d.u64(0)
        deep.add("deep", type: 9, d.bytes)
        expectError(deep.bytes(), location: "metadata 'deep'[0][0][0][0][0][0][0][0]")
        var align = valid()
        align.addU32("general.alignment", 24)
        expectError(align.bytes(), location: "metadata 'general.alignment'")
    }
}

final class GGUFRealModelTests: XCTestCase {
    func testSmolLM2LoadsCompletely() throws {
        guard let url = TestPaths.require(TestPaths.smolLM2GGUF) else {
            if TestPaths.isCI { XCTFail("SmolLM2 GGUF missing") }
            throw XCTSkip("SmolLM2 GGUF not cached")
        }
        let f = try GGUFFile(path: url.path)
        XCTAssertEqual(f.version, 3)
        XCTAssertEqual(f.tensors.count, 272)
        XCTAssertEqual(f["general.architecture"]?.string, "llama")
        XCTAssertEqual(f["llama.block_count"]?.int, 30)
        XCTAssertEqual(f["llama.embedding_length"]?.int, 576)
        XCTAssertEqual(f["llama.attention.head_count"]?.int, 9)
        XCTAssertEqual(f["llama.attention.head_count_kv"]?.int, 3)
        XCTAssertEqual(f["llama.rope.freq_base"]?.float, 100000)
        XCTAssertEqual(f["tokenizer.ggml.pre"]?.string, "smollm")
        XCTAssertEqual(f["tokenizer.ggml.tokens"]?.stringArray?.count, 49152)
        XCTAssertEqual(f["tokenizer.ggml.merges"]?.stringArray?.count, 48900)
        var types: [String: Int] = [:]
        for t in f.tensors {
            types[t.type.name, default: 0] += 1
            let values = try f.dequantize(t)
            XCTAssertTrue(values.withFloats { $0.allSatisfy(\.isFinite) }, t.name)
        }
        XCTAssertEqual(types, ["Q8_0": 1, "Q4_1": 210, "F32": 61])
        // Independent check: values decoded from the raw bytes by a separate numpy script.
        let samples = try JSONValue.parse(try Array(Data(contentsOf: TestPaths.fixtures.appendingPathComponent("gguf/smollm2-dequant-samples.json"))))
        for s in try XCTUnwrap(samples.array) {
            let name = try XCTUnwrap(s["tensor"]?.string)
            let values = try f.dequantize(try XCTUnwrap(f.tensor(named: name))).toArray(of: Float.self)
            for pair in try XCTUnwrap(s["values"]?.array) {
                let index = try XCTUnwrap(pair[0]?.int), expected = try XCTUnwrap(pair[1]?.double)
                XCTAssertEqual(Double(values[index]), expected, accuracy: 1e-6 * max(1, abs(expected)), "\(name)[\(index)]")
            }
        }
    }
}
