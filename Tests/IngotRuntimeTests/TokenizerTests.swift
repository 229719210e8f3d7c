// Tokenizers against the reference ids: WordPiece for all 300 MiniLM dev sentences,
// byte-level BPE (smollm pre-tokenizer) for the whole SmolLM2 dev text and both greedy
// prompts, the chat template, round trips and the streaming decoder.
import Foundation
import XCTest
import IngotCore
import IngotTestSupport
@testable import IngotRuntime

enum LoadedTokenizers {
    static func miniLM() throws -> WordPieceTokenizer {
        try WordPieceTokenizer(try XCTUnwrap(try Model.tokenizerSpec(artifact: try BuiltArtifacts.miniLM())))
    }
    static func smolLM2() throws -> ByteLevelBPETokenizer {
        try ByteLevelBPETokenizer(try XCTUnwrap(try Model.tokenizerSpec(artifact: try BuiltArtifacts.smolLM2())))
    }
}

final class WordPieceTests: XCTestCase {
    func testAll300DevSentencesMatchBertTokenizer() throws {
        let tok = try LoadedTokenizers.miniLM()
        let text = try String(contentsOf: TestPaths.fixtures.appendingPathComponent("eval/minilm-dev-sentences.txt"), encoding: .utf8)
        let sentences = text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
        let tokens = try readJSONL(try referenceFile("minilm/dev/tokens.jsonl"))
        XCTAssertEqual(sentences.count, 300)
        XCTAssertEqual(tokens.count, 300)
        var mismatches: [Int] = []
        for (i, (s, t)) in zip(sentences, tokens).enumerated() {
            let expected = (t["input_ids"]?.array ?? []).map { Int32($0.int!) }
            let got = tok.encode(s, addSpecialTokens: true)
            if got != expected { mismatches.append(i) }
        }
        XCTAssertEqual(mismatches, [], "sentences whose ids differ")
    }

    func testNormalisationRules() throws {
        let tok = try LoadedTokenizers.miniLM()
        func words(_ s: String) -> [String] { tok.basicTokens(s).map { String(String.UnicodeScalarView($0)) } }
        XCTAssertEqual(words("Héllo, WORLD!"), ["hello", ",", "world", "!"])
        XCTAssertEqual(words("naïve café Ångström"), ["naive", "cafe", "angstrom"])
        XCTAssertEqual(words("中文abc"), ["中", "文", "abc"])
        XCTAssertEqual(words("a\u{0}b\u{200B}c\td"), ["abc", "d"])
        XCTAssertEqual(words("“quoted” — dash"), ["“", "quoted", "”", "—", "dash"])
        let long = String(repeating: "a", count: 101)
        XCTAssertEqual(tok.encode(long, addSpecialTokens: false), [tok.unk])
    }

    func testTruncationKeepsSeparator() throws {
        let tok = try LoadedTokenizers.miniLM()
        let ids = tok.encode(String(repeating: "word ", count: 400), addSpecialTokens: true)
        XCTAssertEqual(ids.count, 256)
        XCTAssertEqual(ids.first, 101)
        XCTAssertEqual(ids.last, 102)
        XCTAssertEqual(tok.encode("", addSpecialTokens: true), [101, 102])
    }
}

final class ByteLevelBPETests: XCTestCase {
    func testDevTextMatchesReferenceIds() throws {
        let tok = try LoadedTokenizers.smolLM2()
        let text = try String(contentsOf: TestPaths.fixtures.appendingPathComponent("eval/smollm2-dev.txt"), encoding: .utf8)
        let reference = try JSONValue.parse(try Array(Data(contentsOf: try referenceFile("smollm2/dev/tokens.json"))))
        let expected = try XCTUnwrap(reference["input_ids"]?.array).map { Int32($0.int!) }
        let clock = ContinuousClock()
        let start = clock.now
        let got = tok.encode(text, addSpecialTokens: false)
        print("BPE: encoded \(text.utf8.count) bytes in \(clock.now - start)")
        XCTAssertEqual(got.count, 9788)
        XCTAssertTrue(got == expected, "first difference at \(zip(got, expected).enumerated().first { $0.1.0 != $0.1.1 }?.offset ?? -1)")
        XCTAssertEqual(tok.decode(got), text, "decode inverts encode")
    }

    func testGreedyPromptsAndChatTemplate() throws {
        let tok = try LoadedTokenizers.smolLM2()
        let greedy = try JSONValue.parse(try Array(Data(contentsOf: try referenceFile("smollm2/greedy.json"))))
        let prompts = try XCTUnwrap(greedy["prompts"]?.array)
        let plain = prompts[0], chat = prompts[1]
        XCTAssertEqual(tok.encode(plain["prompt_text"]!.string!, addSpecialTokens: true), plain["prompt_ids"]!.array!.map { Int32($0.int!) })
        let template = try ChatTemplate(spec: tok.spec)
        XCTAssertNil(template.builtIn, "SmolLM2's GGUF carries its template")
        let rendered = try template.render([(role: "user", content: "What is the capital of France?")])
        XCTAssertEqual(rendered, greedy["chat_template_rendered"]?.string)
        XCTAssertEqual(tok.encode(rendered, addSpecialTokens: true, parseSpecial: true), chat["prompt_ids"]!.array!.map { Int32($0.int!) })
    }

    func testPreTokenizerSplitsDigitsOneByOne() throws {
        let tok = try LoadedTokenizers.smolLM2()
        func pieces(_ s: String) -> [String] { tok.preTokenize(s).map { String(String.UnicodeScalarView($0)) } }
        XCTAssertEqual(pieces("in 2024, we'll  go"), ["in", " ", "2", "0", "2", "4", ",", " we", "'ll", " ", " go"])
        XCTAssertEqual(pieces("a\n\nb  "), ["a", "\n", "\n", "b", "  "])
    }

    func testRoundTripsOfTrickyText() throws {
        let tok = try LoadedTokenizers.smolLM2()
        for text in ["emoji 👩‍💻 and 🇫🇷", "中文 and 日本語", "e\u{301} combining", "line\r\nbreaks", "   runs   of   spaces  ",
                     "12345 numbers 3.14", "don't won't I'm", ""] {
            XCTAssertEqual(tok.decode(tok.encode(text, addSpecialTokens: false)), text)
        }
    }

    func testStreamingDecoderHoldsPartialUTF8() throws {
        let tok = try LoadedTokenizers.smolLM2()
        let text = "Paris 🇫🇷 — café"
        let ids = tok.encode(text, addSpecialTokens: false)
        var decoder = StreamingDecoder(tokenizer: tok)
        var out = ""
        for id in ids {
            let piece = decoder.push(id)
            XCTAssertFalse(piece.unicodeScalars.contains("\u{FFFD}"), "no replacement characters while streaming")
            out += piece
        }
        out += decoder.flush()
        XCTAssertEqual(out, text)
        XCTAssertEqual(StreamingDecoder.completePrefixLength([0x61, 0xE2, 0x80]), 1)
        XCTAssertEqual(StreamingDecoder.completePrefixLength([0x61, 0xE2, 0x80, 0x94]), 4)
        XCTAssertEqual(StreamingDecoder.completePrefixLength([0xF0, 0x9F]), 0)
    }
}
