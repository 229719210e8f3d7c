// Core types: checksums, half-precision conversion, bounds-checked reads.
import XCTest
@testable import IngotCore

final class XXH64Tests: XCTestCase {
    func testPublishedVectors() {
        XCTAssertEqual(XXH64.hash([UInt8]()), 0xEF46_DB37_51D8_E999)
        XCTAssertEqual(XXH64.hash(Array("a".utf8)), 0xD24E_C4F1_A98C_6E5B)
        XCTAssertEqual(XXH64.hash(Array("abc".utf8)), 0x44BC_2CF5_AD77_0999)
        XCTAssertEqual(XXH64.hash(Array("Nobody inspects the spammish repetition".utf8)), 0xFBCE_A83C_8A37_8BF1)
    }

    func testStreamingEqualsOneShot() {
        var rng = SystemRandomNumberGenerator()
        let data = (0..<1000).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let whole = XXH64.hash(data)
        for split in [0, 1, 7, 31, 32, 33, 64, 500, 999, 1000] {
            var s = XXH64()
            s.update(Array(data[..<split]))
            s.update(Array(data[split...]))
            XCTAssertEqual(s.finalize(), whole, "split at \(split)")
        }
    }
}

final class HalfTests: XCTestCase {
    func testRoundTripAllHalves() {
        for bits in UInt16.min...UInt16.max {
            let f = floatFromHalfBits(bits)
            if f.isNaN { continue }
            XCTAssertEqual(halfBitsFromFloat(f), bits, "bits \(bits)")
            XCTAssertEqual(f, Float(Float16(bitPattern: bits)))
        }
    }

    func testRoundingMatchesFloat16() {
        for f: Float in [0.1, -3.14159, 65504, 65520, 1e-8, 6e-5, -2.5e-7, 1e10] {
            XCTAssertEqual(halfBitsFromFloat(f), Float16(f).bitPattern, "\(f)")
        }
    }

    func testBFloat16() {
        XCTAssertEqual(floatFromBFloat16Bits(bfloat16BitsFromFloat(1.0)), 1.0)
        XCTAssertEqual(bfloat16BitsFromFloat(1.00390625), 0x3F80) // ties to even
        XCTAssertEqual(floatFromBFloat16Bits(0xC040), -3.0)
    }
}

final class ByteReaderTests: XCTestCase {
    func testTruncationNamesFieldAndOffsets() throws {
        let bytes: [UInt8] = [1, 0, 0, 0, 2, 0]
        try bytes.withUnsafeBytes { raw in
            var r = ByteReader(raw, file: "x.bin")
            XCTAssertEqual(try r.u32("header.version"), 1)
            XCTAssertThrowsError(try r.u32("header.count")) { error in
                let e = error as! IngotError
                XCTAssertEqual(e.kind, .format)
                XCTAssertEqual(e.description, "x.bin: header.count: truncated: needs 4 bytes at offset 4, only 2 left (file size 6)")
            }
        }
    }

    func testCountLimit() throws {
        var w = ByteWriter()
        w.u64(1 << 40)
        try w.bytes.withUnsafeBytes { raw in
            var r = ByteReader(raw)
            XCTAssertThrowsError(try r.count64("tensor_count", max: 1_000_000)) { error in
                XCTAssertEqual((error as! IngotError).description, "tensor_count: value 1099511627776, expected at most 1000000")
            }
        }
    }

    func testShapeProductOverflow() {
        XCTAssertNil(Shape.checkedProduct([1 << 40, 1 << 40]))
        XCTAssertEqual(Shape(fixed: [2, 3, 4]).elementCount, 24)
        XCTAssertEqual(Shape(["batch", "seq", 384]).description, "[batch, seq, 384]")
        XCTAssertEqual(Shape(["batch", 384]).resolved(["batch": 3]), [3, 384])
    }
}

final class TensorBufferTests: XCTestCase {
    func testImpossibleAllocationThrowsInsteadOfTrapping() {
        XCTAssertThrowsError(try TensorBuffer(uninitializedByteCount: Int.max / 2))
        XCTAssertThrowsError(try TensorBuffer(uninitializedByteCount: -1))
        XCTAssertEqual(try TensorBuffer(uninitializedByteCount: 100).byteCount, 100)
    }
}

/// Issue 14 audit of the tokenizer readers: TOKN counts are checked against the bytes left
/// before anything is reserved, and a build holds a tokenizer to the decoder's limits.
final class TokenizerSpecLimitTests: XCTestCase {
    func spec() -> TokenizerSpec {
        TokenizerSpec(kind: .byteLevelBPE, tokens: ["a", "b", "ab", "<|x|>"], merges: ["a b"], tokenTypes: [1, 1, 1, 3],
                      preTokenizer: "gpt2", lowercase: false, stripAccents: false, splitCJK: false,
                      continuingSubwordPrefix: "", maxInputCharsPerWord: 0, maxLength: 8192,
                      specialTokens: ["eos": 3], addBOS: false, addEOS: false, chatTemplate: nil)
    }

    func decodeError(_ bytes: [UInt8]) -> String {
        do {
            _ = try bytes.withUnsafeBytes { try TokenizerSpec(decoding: $0, file: "t.ingot") }
            return "no error"
        } catch {
            return "\(error)"
        }
    }

    /// The header of a TOKN section up to token_count: version 1, byte-level BPE, no flags,
    /// pre_tokenizer "gpt2", no prefix, max_input_chars 0, max_length 8.
    let head: [UInt8] = [1, 0, 2, 0, 4, 0, 0, 0] + Array("gpt2".utf8) + [0, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0]

    func testHostileCountsAreRefusedBeforeAnythingIsReserved() {
        // token_count 0xFFFFFFFF with nothing after it: at most 0 tokens fit.
        XCTAssertEqual(decodeError(head + [0xFF, 0xFF, 0xFF, 0xFF]),
                       "t.ingot: tokenizer.token_count: value 4294967295, expected at most 0")
        // 2 tokens fit in the 8 bytes left, 3 are claimed.
        XCTAssertEqual(decodeError(head + [3, 0, 0, 0] + [1, 0, 0, 0, 0x61, 0, 0, 0]),
                       "t.ingot: tokenizer.token_count: value 3, expected at most 2")
        // One token "a", no merges, merge_count 0x40000000 in the 4 bytes left.
        XCTAssertEqual(decodeError(head + [1, 0, 0, 0, 1, 0, 0, 0, 0x61] + [0, 0, 0, 0x40, 0, 0, 0, 0]),
                       "t.ingot: tokenizer.merge_count: value 1073741824, expected at most 1")
        // token_type_count equal to the token count, but no room for the types.
        XCTAssertEqual(decodeError(head + [1, 0, 0, 0, 1, 0, 0, 0, 0x61, 0, 0, 0, 0, 1, 0, 0, 0]),
                       "t.ingot: tokenizer.token_types: truncated: needs 4 bytes at offset 41, only 0 left (file size 41)")
        // A token length of 2^32 − 1.
        XCTAssertEqual(decodeError(head + [1, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF]),
                       "t.ingot: tokenizer.tokens[0].length: value 4294967295, expected at most 65536")
    }

    func testCheckEncodableRefusesWhatTheDecoderRefuses() throws {
        XCTAssertNoThrow(try spec().checkEncodable(file: "m.gguf"))
        func refusal(_ change: (inout TokenizerSpec) -> Void) -> String {
            var s = spec()
            change(&s)
            do {
                try s.checkEncodable(file: "m.gguf")
                return "no error"
            } catch {
                return "\(error)"
            }
        }
        XCTAssertEqual(refusal { $0.maxLength = (1 << 24) + 1 }, "m.gguf: tokenizer.max_length: value 16777217, expected at most 16777216")
        var tooLong = spec()
        tooLong.maxLength = (1 << 24) + 1
        XCTAssertEqual(decodeError(tooLong.encoded()), "t.ingot: tokenizer.max_length: value 16777217, expected at most 16777216")
        XCTAssertEqual(refusal { $0.maxInputCharsPerWord = -1 },
                       "m.gguf: tokenizer.max_input_chars_per_word: value -1, expected at most 1048576")
        XCTAssertEqual(refusal { $0.tokens[2] = String(repeating: "x", count: 65_537) },
                       "m.gguf: tokenizer.tokens[2]: value 65537 bytes, expected at most 65536 bytes")
        XCTAssertEqual(refusal { $0.merges.append(String(repeating: "y", count: 65_537)) },
                       "m.gguf: tokenizer.merges[1]: value 65537 bytes, expected at most 65536 bytes")
        XCTAssertEqual(refusal { $0.tokenTypes.removeLast() }, "m.gguf: tokenizer.token_type_count: value 3, expected 0 or 4")
        XCTAssertEqual(refusal { $0.specialTokens["eos"] = 4 }, "m.gguf: tokenizer.special[eos]: value 4, expected a token id in 0..<4")
        XCTAssertEqual(refusal { $0.chatTemplate = String(repeating: "t", count: (1 << 20) + 1) },
                       "m.gguf: tokenizer.chat_template: value 1048577 bytes, expected at most 1048576 bytes")
        XCTAssertEqual(refusal { $0.preTokenizer = String(repeating: "p", count: 257) },
                       "m.gguf: tokenizer.pre_tokenizer: value 257 bytes, expected at most 256 bytes")
        XCTAssertEqual(refusal { for i in 0..<65 { $0.specialTokens["s\(i)"] = 0 } },
                       "m.gguf: tokenizer.special_count: value 66, expected at most 64")
    }

    /// Version 2 adds SentencePiece (kind 3), scores, add_space_prefix (flag bit 5) and the
    /// built-in template's family; version 1 sections still read.
    func testVersion2RoundTripAndVersion1StillReads() throws {
        var v2 = spec()
        v2.kind = .sentencePiece
        v2.scores = [0, -1.5, 2, -1000]
        v2.addSpacePrefix = true
        v2.chatTemplate = "{{ bos_token }}"
        v2.chatTemplateBuiltIn = "gemma"
        let bytes = v2.encoded()
        XCTAssertEqual(Array(bytes[0..<2]), [2, 0])
        XCTAssertEqual(try bytes.withUnsafeBytes { try TokenizerSpec(decoding: $0, file: "t.ingot") }, v2)
        // A version-1 section: the same fields less the version-2 tail.
        var v1 = spec()
        v1.chatTemplate = "t"
        var old = v1.encoded()
        old[0] = 1
        old.removeLast(5)
        XCTAssertEqual(try old.withUnsafeBytes { try TokenizerSpec(decoding: $0, file: "t.ingot") }, v1)
        // Version 1 knows neither kind 3 nor flag bit 5.
        var sp = v2.encoded()
        sp[0] = 1
        XCTAssertEqual(decodeError(sp), "t.ingot: tokenizer.kind: value 3, expected 1 (wordpiece) or 2 (byte-level BPE)")
        var flag = v1.encoded()
        flag[0] = 1
        flag[3] = 32
        XCTAssertEqual(decodeError(flag), "t.ingot: tokenizer.flags: value 32, expected bits 0...4 only")
        XCTAssertEqual(decodeError([3, 0]), "t.ingot: tokenizer.version: value 3, expected 1 or 2")
    }

    func testVersion2HostileScoreCounts() {
        var s = spec()
        s.scores = [1, 2, 3, 4]
        var bytes = s.encoded()
        // score_count sits 4 × 4 bytes + 4 before the end: claim 5 (one more than the tokens).
        let at = bytes.count - 20
        bytes[at] = 5
        XCTAssertEqual(decodeError(bytes), "t.ingot: tokenizer.score_count: value 5, expected at most 4")
        bytes[at] = 3
        XCTAssertEqual(decodeError(bytes), "t.ingot: tokenizer.score_count: value 3, expected 0 or 4")
        var truncated = s.encoded()
        truncated.removeLast(2)
        XCTAssertTrue(decodeError(truncated).hasPrefix("t.ingot: tokenizer.scores: truncated"), decodeError(truncated))
        var short = spec()
        short.scores = [1]
        XCTAssertThrowsError(try short.checkEncodable(file: "m.gguf")) { error in
            XCTAssertEqual("\(error)", "m.gguf: tokenizer.score_count: value 1, expected 0 or 4")
        }
    }
}
