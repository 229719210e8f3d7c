// Tokenizers built from GGUF metadata alone (GGUFTokenizer) for SmolLM2 (byte-level BPE,
// smollm), Gemma 3 (SentencePiece, built-in gemma chat template) and Qwen2.5 (byte-level
// BPE, qwen2, the GGUF's own template), against the reference ids of the dev text, the
// rendered chat prompt and the greedy prompts' ids (Fixtures/reference/zoo); stop tokens
// from the template; SentencePiece and qwen2/llama-bpe pre-tokenizer edge cases.
import Foundation
import XCTest
import IngotCore
import IngotImport
import IngotTestSupport
@testable import IngotRuntime

enum ZooTokenizers {
    nonisolated(unsafe) static var cache: [String: any Tokenizer] = [:]
    static let lock = NSLock()

    static func load(_ url: URL, file: StaticString = #filePath, line: UInt = #line) throws -> any Tokenizer {
        let path = try requireModel(url, file: file, line: line).path
        lock.lock()
        defer { lock.unlock() }
        if let t = cache[path] { return t }
        let spec = try XCTUnwrap(try GGUFTokenizer.spec(path: path))
        let t = try makeTokenizer(spec)
        cache[path] = t
        return t
    }

    static func smolLM2() throws -> any Tokenizer { try load(TestPaths.smolLM2GGUF) }
    static func gemma3() throws -> any Tokenizer { try load(TestPaths.gemma3GGUF) }
    static func qwen25() throws -> any Tokenizer { try load(TestPaths.qwen25GGUF) }
}

func jsonFile(_ relative: String) throws -> JSONValue {
    try JSONValue.parse(try Array(Data(contentsOf: try referenceFile(relative))))
}

func ids(_ v: JSONValue?) -> [Int32] { (v?.array ?? []).map { Int32($0.int!) } }

final class ZooTokenizerTests: XCTestCase {
    func devText() throws -> String {
        try String(contentsOf: TestPaths.fixtures.appendingPathComponent("eval/smollm2-dev.txt"), encoding: .utf8)
    }

    func checkDevText(_ tok: any Tokenizer, _ reference: String, count: Int) throws {
        let expected = ids(try jsonFile(reference)["input_ids"])
        XCTAssertEqual(expected.count, count)
        let got = tok.encode(try devText(), addSpecialTokens: false)
        XCTAssertEqual(got.count, expected.count)
        XCTAssertTrue(got == expected, "first difference at \(zip(got, expected).enumerated().first { $0.1.0 != $0.1.1 }?.offset ?? -1)")
        XCTAssertEqual(tok.decode(got), try devText(), "decode inverts encode")
    }

    func testSmolLM2DevTextFromGGUFMetadata() throws {
        let tok = try ZooTokenizers.smolLM2()
        XCTAssertEqual(tok.spec.kind, .byteLevelBPE)
        try checkDevText(tok, "smollm2/dev/tokens.json", count: 9788)
    }

    func testGemma3DevTextFromGGUFMetadata() throws {
        let tok = try ZooTokenizers.gemma3()
        XCTAssertEqual(tok.spec.kind, .sentencePiece)
        XCTAssertEqual(tok.spec.tokens.count, 262_144)
        XCTAssertTrue(tok.spec.addBOS)
        XCTAssertFalse(tok.spec.addSpacePrefix)
        try checkDevText(tok, "zoo/gemma3-270m/dev/tokens.json", count: 9611)
        let reference = try jsonFile("zoo/gemma3-270m/dev/tokens.json")
        XCTAssertEqual(reference["model_adds_bos"]?.bool, true)
        XCTAssertEqual(tok.encode("Hi", addSpecialTokens: true).first, Int32(reference["bos_token_id"]!.int!))
    }

    func testQwen25DevTextFromGGUFMetadata() throws {
        let tok = try ZooTokenizers.qwen25()
        XCTAssertEqual(tok.spec.preTokenizer, "qwen2")
        XCTAssertFalse(tok.spec.addBOS)
        try checkDevText(tok, "zoo/qwen2.5-0.5b/dev/tokens.json", count: 9368)
    }

    /// (tokenizer, greedy.json, expected template origin)
    func models() throws -> [(String, any Tokenizer, JSONValue, String?)] {
        [("smollm2", try ZooTokenizers.smolLM2(), try jsonFile("smollm2/greedy.json"), nil),
         ("gemma3", try ZooTokenizers.gemma3(), try jsonFile("zoo/gemma3-270m/dev/greedy.json"), "gemma"),
         ("qwen2.5", try ZooTokenizers.qwen25(), try jsonFile("zoo/qwen2.5-0.5b/dev/greedy.json"), nil)]
    }

    func testChatTemplatesRenderTheReferenceText() throws {
        for (name, tok, greedy, builtIn) in try models() {
            let template = try ChatTemplate(spec: tok.spec)
            XCTAssertEqual(template.builtIn, builtIn, name)
            let messages: [(role: String, content: String)] = greedy["chat_messages"]?.array?.map {
                (role: $0["role"]!.string!, content: $0["content"]!.string!)
            } ?? [(role: "user", content: "What is the capital of France?")]
            XCTAssertEqual(try template.render(messages), greedy["chat_template_rendered"]?.string, name)
        }
        XCTAssertEqual(try ChatTemplate(spec: try ZooTokenizers.gemma3().spec).origin, "built-in gemma")
        XCTAssertEqual(try ChatTemplate(spec: try ZooTokenizers.qwen25().spec).origin, "the model's own")
    }

    func testGreedyPromptIDs() throws {
        for (name, tok, greedy, _) in try models() {
            let prompts = try XCTUnwrap(greedy["prompts"]?.array)
            XCTAssertEqual(prompts.count, 2)
            for p in prompts {
                let text = try XCTUnwrap(p["prompt_text"]?.string)
                XCTAssertEqual(tok.encode(text, addSpecialTokens: false, parseSpecial: true), ids(p["prompt_ids"]), "\(name) \(p["name"]!.string!)")
            }
            // The plain prompt as a user types it: the tokenizer adds BOS where the model wants one.
            let plain = prompts[0]["prompt_text"]!.string!
            let bos = tok.spec.specialTokens["bos"].map { tok.spec.tokens[Int($0)] } ?? ""
            let typed = tok.spec.addBOS && plain.hasPrefix(bos) ? String(plain.dropFirst(bos.count)) : plain
            XCTAssertEqual(tok.encode(typed, addSpecialTokens: true), ids(prompts[0]["prompt_ids"]), name)
            // The chat prompt rendered by the interpreter tokenizes to the reference ids.
            let rendered = try ChatTemplate(spec: tok.spec).render([(role: "user", content: "What is the capital of France?")])
            XCTAssertEqual(tok.encode(rendered, addSpecialTokens: false, parseSpecial: true), ids(prompts[1]["prompt_ids"]), name)
        }
    }

    func testStopTokensComeFromTheTemplateAndVocabulary() throws {
        let expected: [String: String] = ["smollm2": "<|im_end|>", "gemma3": "<end_of_turn>", "qwen2.5": "<|im_end|>"]
        for (name, tok, _, _) in try models() {
            let end = try XCTUnwrap(try ChatTemplate(spec: tok.spec).endOfTurnToken(tok), name)
            XCTAssertEqual(tok.spec.tokens[Int(end)], expected[name], name)
        }
        XCTAssertEqual(try ChatTemplate(spec: try ZooTokenizers.gemma3().spec).endOfTurnToken(try ZooTokenizers.gemma3()), 106)
        XCTAssertEqual(try ChatTemplate(spec: try ZooTokenizers.qwen25().spec).endOfTurnToken(try ZooTokenizers.qwen25()), 151_645)
    }

    // MARK: SentencePiece (Gemma 3) edge cases

    func testSentencePieceWhitespaceRunsAndUserDefinedTokens() throws {
        let tok = try ZooTokenizers.gemma3()
        // Runs of 2–31 spaces are user-defined pieces (ids 138–167), matched longest first.
        XCTAssertEqual(tok.encode(String(repeating: " ", count: 33), addSpecialTokens: false), [167, 138])
        XCTAssertEqual(tok.encode(String(repeating: " ", count: 31), addSpecialTokens: false), [167])
        XCTAssertEqual(tok.encode("\n", addSpecialTokens: false), [107])
        XCTAssertEqual(tok.encode("\n\n\n", addSpecialTokens: false), [109])
        // A single space is `▁`, never a user-defined piece.
        let space = tok.encode(" ", addSpecialTokens: false)
        XCTAssertEqual(space.map { tok.spec.tokens[Int($0)] }, ["\u{2581}"])
        // User-defined tags are matched even without special-token parsing.
        let table = Int32(try XCTUnwrap(tok.spec.tokens.firstIndex(of: "<table>")))
        XCTAssertEqual(tok.spec.tokenTypes[Int(table)], 4)
        XCTAssertTrue(tok.encode("a<table>b", addSpecialTokens: false).contains(table))
        // Control tokens only with special-token parsing.
        XCTAssertFalse(tok.encode("<start_of_turn>", addSpecialTokens: false).contains(105))
        XCTAssertEqual(tok.encode("<start_of_turn>", addSpecialTokens: false, parseSpecial: true), [105])
        XCTAssertEqual(tok.encode("", addSpecialTokens: true), [2])
    }

    func testSentencePieceByteFallbackAndRoundTrips() throws {
        let tok = try ZooTokenizers.gemma3()
        // U+10FFFD (private use) has no piece: its four UTF-8 bytes become <0xNN> tokens (id 238 + NN).
        let rare = "\u{10FFFD}"
        XCTAssertNil(tok.spec.tokens.firstIndex(of: rare))
        XCTAssertEqual(tok.encode(rare, addSpecialTokens: false), [0xF4, 0x8F, 0xBF, 0xBD].map { Int32(238 + $0) })
        XCTAssertEqual(tok.decode(tok.encode(rare, addSpecialTokens: false)), rare)
        for text in ["digits 0123456789 3.14", "don't WON'T", "中文 and 日本語のテキスト", "emoji 👩‍💻 🇫🇷 🙂",
                     "tabs\t\tand\r\nCRLF", "  leading and trailing  ", "e\u{301} combining", "x\u{10FFFD}y\u{E000}"] {
            XCTAssertEqual(tok.decode(tok.encode(text, addSpecialTokens: false)), text, text)
        }
        let digits = tok.encode("2024", addSpecialTokens: false)
        XCTAssertEqual(digits.map { tok.spec.tokens[Int($0)] }, ["2", "0", "2", "4"], "Gemma's vocabulary has single digits only")
    }

    func testSentencePieceStreamingDecoderHoldsByteFallbackPieces() throws {
        let tok = try ZooTokenizers.gemma3()
        let text = "a\u{10FFFD}b 🇫🇷"
        var decoder = StreamingDecoder(tokenizer: tok)
        var out = ""
        for id in tok.encode(text, addSpecialTokens: false) {
            let piece = decoder.push(id)
            XCTAssertFalse(piece.unicodeScalars.contains("\u{FFFD}"))
            out += piece
        }
        XCTAssertEqual(out + decoder.flush(), text)
    }

    // MARK: qwen2 / llama-bpe pre-tokenizers (expected pieces from the regex run by Python's `regex`)

    static let preTokenizerCases: [(String, qwen2: [String], llama3: [String])] = [
        ("Hello world", ["Hello", " world"], ["Hello", " world"]),
        ("I'M don't they'LL we've", ["I", "'M", " don", "'t", " they", "'LL", " we", "'ve"],
         ["I", "'M", " don", "'t", " they", "'LL", " we", "'ve"]),
        ("abc123def 2024", ["abc", "1", "2", "3", "def", " ", "2", "0", "2", "4"], ["abc", "123", "def", " ", "202", "4"]),
        ("  hello", [" ", " hello"], [" ", " hello"]),
        ("a\n\nb", ["a", "\n\n", "b"], ["a", "\n\n", "b"]),
        ("x  \n  y", ["x", "  \n", " ", " y"], ["x", "  \n", " ", " y"]),
        ("(hello)", ["(hello", ")"], ["(hello", ")"]),
        ("!!!\n\nok", ["!!!\n\n", "ok"], ["!!!\n\n", "ok"]),
        ("中文字 test 日本語", ["中文字", " test", " 日本語"], ["中文字", " test", " 日本語"]),
        ("🙂🙂 hi 👩‍💻", ["🙂🙂", " hi", " 👩‍💻"], ["🙂🙂", " hi", " 👩‍💻"]),
        ("hi   ", ["hi", "   "], ["hi", "   "]),
        ("\t\ttabs\r\nline", ["\t", "\ttabs", "\r\n", "line"], ["\t", "\ttabs", "\r\n", "line"]),
        ("'sheep 's", ["'s", "heep", " '", "s"], ["'s", "heep", " '", "s"]),
        ("3.14159 1,000,000", ["3", ".", "1", "4", "1", "5", "9", " ", "1", ",", "0", "0", "0", ",", "0", "0", "0"],
         ["3", ".", "141", "59", " ", "1", ",", "000", ",", "000"]),
        ("e\u{301} café naïve", ["e", "\u{301}", " café", " naïve"], ["e", "\u{301}", " café", " naïve"]),
        ("  \n\n  \n x", ["  \n\n  \n", " x"], ["  \n\n  \n", " x"]),
        (" ?! ok", [" ?!", " ok"], [" ?!", " ok"]),
        ("a\u{A0}b\u{3000}c", ["a", "\u{A0}b", "\u{3000}c"], ["a", "\u{A0}b", "\u{3000}c"]),
    ]

    func testQwen2AndLlamaBPEPreTokenizersMatchTheirRegexes() {
        for (text, qwen2, llama3) in Self.preTokenizerCases {
            for (maxDigits, expected) in [(1, qwen2), (3, llama3)] {
                var out: [[Unicode.Scalar]] = []
                ByteLevelBPETokenizer.llama3Split(Array(text.unicodeScalars)[...], maxDigits: maxDigits, into: &out)
                XCTAssertEqual(out.map { String(String.UnicodeScalarView($0)) }, expected, "\(maxDigits) digits: \(text.debugDescription)")
            }
        }
    }

    func testQwenEncodesEdgeCasesLosslessly() throws {
        let tok = try ZooTokenizers.qwen25()
        for (text, _, _) in Self.preTokenizerCases {
            XCTAssertEqual(tok.decode(tok.encode(text, addSpecialTokens: false)), text, text.debugDescription)
        }
        XCTAssertEqual(tok.encode("<|im_start|>", addSpecialTokens: false, parseSpecial: true), [151_644])
        XCTAssertFalse(tok.encode("<|im_start|>", addSpecialTokens: false).contains(151_644))
    }

    /// A GGUF file holding only tokenizer metadata: `model`, `pre` and three tokens (with scores when asked).
    func tokenizerOnlyGGUF(model: String, pre: String?, scores: Bool) throws -> String {
        var b = GGUFBuilder()
        b.addString("tokenizer.ggml.model", model)
        if let pre { b.addString("tokenizer.ggml.pre", pre) }
        var w = ByteWriter()
        w.u32(8)
        w.u64(3)
        for t in ["a", "b", "ab"] { w.append(GGUFBuilder.str(t)) }
        b.add("tokenizer.ggml.tokens", type: 9, w.bytes)
        var m = ByteWriter()
        m.u32(8)
        m.u64(1)
        m.append(GGUFBuilder.str("a b"))
        b.add("tokenizer.ggml.merges", type: 9, m.bytes)
        if scores {
            var f = ByteWriter()
            f.u32(6)
            f.u64(3)
            for v: Float in [0, 0, 1] { f.f32(v) }
            b.add("tokenizer.ggml.scores", type: 9, f.bytes)
        }
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("tok-\(model)-\(pre ?? "none")-\(getpid()).gguf")
        try Data(b.bytes()).write(to: url)
        return url.path
    }

    func refusal(_ path: String) -> IngotError? {
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            _ = try GGUFTokenizer.spec(path: path)
            return nil
        } catch {
            return error as? IngotError
        }
    }

    func testUnsupportedTokenizerMetadataNamesTheFieldAndTheSupportedValues() throws {
        let t5 = refusal(try tokenizerOnlyGGUF(model: "t5", pre: nil, scores: false))
        XCTAssertEqual(t5?.kind, .unsupported)
        XCTAssertEqual(t5?.location, "tokenizer.ggml.model")
        XCTAssertTrue(t5.map { "\($0)".contains("\"t5\"") && "\($0)".contains("llama (SentencePiece)") } ?? false, "\(String(describing: t5))")
        let pre = refusal(try tokenizerOnlyGGUF(model: "gpt2", pre: "deepseek-coder", scores: false))
        XCTAssertEqual(pre?.location, "tokenizer.ggml.pre")
        XCTAssertTrue(pre.map { "\($0)".contains("\"deepseek-coder\"") && "\($0)".contains("qwen2, llama-bpe") } ?? false, "\(String(describing: pre))")
        let noScores = refusal(try tokenizerOnlyGGUF(model: "llama", pre: nil, scores: false))
        XCTAssertEqual(noScores?.location, "tokenizer.ggml.scores")
        // A minimal SentencePiece vocabulary: "ab" (score 1) merges; no byte pieces, so "c" is unknown and dropped.
        let path = try tokenizerOnlyGGUF(model: "llama", pre: nil, scores: true)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let spec = try XCTUnwrap(try GGUFTokenizer.spec(path: path))
        XCTAssertEqual(spec.kind, .sentencePiece)
        XCTAssertTrue(spec.addSpacePrefix, "SentencePiece's default when the file does not say")
        XCTAssertEqual(try makeTokenizer(spec).encode("abab", addSpecialTokens: false), [2, 2])
    }
}

/// SentencePiece merging on a hand-made vocabulary (no model file): the highest-scored pair
/// first, ties to the leftmost, `<0xNN>` byte fallback, user-defined pieces longest first
/// over the whole text, the `▁` prefix.
final class SentencePieceUnitTests: XCTestCase {
    func tokenizer(scores: [String: Float], addSpacePrefix: Bool = false) throws -> SentencePieceTokenizer {
        var tokens = ["<unk>", "<s>", "</s>", "xx", "xxx", "<0xC3>", "<0xA9>"]
        var types: [Int32] = [2, 3, 3, 4, 4, 6, 6]
        for piece in ["\u{2581}", "a", "b", "c", "ab", "bc", "aa", "\u{2581}a"] { tokens.append(piece); types.append(1) }
        let spec = TokenizerSpec(kind: .sentencePiece, tokens: tokens, merges: [], tokenTypes: types, preTokenizer: "default",
                                 lowercase: false, stripAccents: false, splitCJK: false, continuingSubwordPrefix: "",
                                 maxInputCharsPerWord: 0, maxLength: 1024, specialTokens: ["unk": 0, "bos": 1, "eos": 2],
                                 addBOS: true, addEOS: false, chatTemplate: nil,
                                 scores: tokens.map { scores[$0] ?? 0 }, addSpacePrefix: addSpacePrefix)
        return try SentencePieceTokenizer(spec)
    }

    func pieces(_ t: SentencePieceTokenizer, _ text: String, special: Bool = false) -> [String] {
        t.encode(text, addSpecialTokens: special).map { t.spec.tokens[Int($0)] }
    }

    func testHigherScoreMergesFirstAndTiesGoLeft() throws {
        XCTAssertEqual(pieces(try tokenizer(scores: ["ab": 1, "bc": 2]), "abc"), ["a", "bc"])
        XCTAssertEqual(pieces(try tokenizer(scores: ["ab": 2, "bc": 1]), "abc"), ["ab", "c"])
        XCTAssertEqual(pieces(try tokenizer(scores: ["aa": 1]), "aaa"), ["aa", "a"])
        XCTAssertEqual(pieces(try tokenizer(scores: ["aa": 1]), "aaaa"), ["aa", "aa"])
    }

    func testByteFallbackUserDefinedPiecesAndSpacePrefix() throws {
        let t = try tokenizer(scores: [:])
        XCTAssertEqual(pieces(t, "é"), ["<0xC3>", "<0xA9>"])
        XCTAssertEqual(t.decode(t.encode("aé", addSpecialTokens: false)), "aé")
        // Longest user-defined piece first, over the whole text, then the shorter on what is left.
        XCTAssertEqual(pieces(t, "xxxxx"), ["xxx", "xx"])
        XCTAssertEqual(pieces(t, "axxb"), ["a", "xx", "b"])
        // Unknown characters without byte pieces become <unk>; BOS when asked.
        XCTAssertEqual(pieces(t, "z", special: true), ["<s>", "<unk>"])
        XCTAssertEqual(pieces(t, "a b"), ["a", "\u{2581}", "b"])
        let prefixed = try tokenizer(scores: ["\u{2581}a": 3], addSpacePrefix: true)
        XCTAssertEqual(pieces(prefixed, "a"), ["\u{2581}a"])
        XCTAssertEqual(prefixed.decode(prefixed.encode("a b", addSpecialTokens: false)), "a b", "the prefix space is not decoded")
    }
}
