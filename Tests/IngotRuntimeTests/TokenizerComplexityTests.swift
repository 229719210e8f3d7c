// Issue 14: byte-level BPE grew super-linearly on one run of letters (the merge loop rescanned
// every pair after each merge), and WordPiece looked up every candidate up to the word's end.
// The fast loops must give exactly the old results: the old loops are kept here as reference
// twins and compared on real text, random text and hostile merge tables; the work of the new
// loops is counted, never timed.
import Foundation
import XCTest
import IngotCore
import IngotTestSupport
@testable import IngotRuntime

/// The merge loop ByteLevelBPETokenizer ran before BPEMerge: take the lowest-ranked adjacent
/// pair, merge every occurrence left to right, rescan. O(n²) on a run of n symbols.
func referenceBPEMerge(_ start: [String], ranks: [String: Int]) -> [String] {
    var symbols = start
    while symbols.count > 1 {
        var best = Int.max, at = -1
        for k in 0..<(symbols.count - 1) {
            if let r = ranks[symbols[k] + " " + symbols[k + 1]], r < best { best = r; at = k }
        }
        if at < 0 { break }
        let merged = symbols[at] + symbols[at + 1]
        var next: [String] = []
        var k = 0
        let (l, r) = (symbols[at], symbols[at + 1])
        while k < symbols.count {
            if k + 1 < symbols.count && symbols[k] == l && symbols[k + 1] == r { next.append(merged); k += 2 }
            else { next.append(symbols[k]); k += 1 }
        }
        symbols = next
    }
    return symbols
}

/// WordPiece's greedy longest match before the candidate cap: every end down from the word's end.
func referenceWordPiece(_ word: [Unicode.Scalar], vocab: [String: Int32], prefix: String, unk: Int32) -> [Int32] {
    var start = 0
    var pieces: [Int32] = []
    while start < word.count {
        var end = word.count
        var found: Int32? = nil
        while start < end {
            var piece = String(String.UnicodeScalarView(word[start..<end]))
            if start > 0 { piece = prefix + piece }
            if let id = vocab[piece] { found = id; break }
            end -= 1
        }
        guard let id = found else { return [unk] }
        pieces.append(id)
        start = end
    }
    return pieces
}

func ranksByFirstOccurrence(_ merges: [String]) -> [String: Int] {
    var ranks: [String: Int] = [:]
    for (i, m) in merges.enumerated() where ranks[m] == nil { ranks[m] = i }
    return ranks
}

final class BPEMergeTwinTests: XCTestCase {
    func scalars(_ s: String) -> [String] { s.unicodeScalars.map { String($0) } }

    func randomLetters(_ n: Int, _ rng: inout SplitMix64) -> String {
        let letters = Array("abcdefghijklmnopqrstuvwxyz".unicodeScalars)
        var s = String.UnicodeScalarView()
        for _ in 0..<n { s.append(letters[Int(rng.next() % 26)]) }
        return String(s)
    }

    /// SmolLM2's merges on every piece of the dev texts, on random runs of letters, random
    /// bytes and random scalars: the same symbols as the reference loop, piece by piece.
    func testMergeEqualsTheReferenceLoopOnRealAndRandomText() throws {
        let tok = try LoadedTokenizers.smolLM2()
        var pieces: [String] = []
        for file in ["eval/smollm2-dev.txt", "eval/minilm-dev-sentences.txt", "eval/calibration-text.txt"] {
            let text = try String(contentsOf: TestPaths.fixtures.appendingPathComponent(file), encoding: .utf8)
            pieces += tok.preTokenize(text).map { tok.byteMapped($0) }
        }
        XCTAssertGreaterThan(pieces.count, 10_000)
        var rng = SplitMix64(seed: 14)
        for _ in 0..<200 {
            pieces.append(tok.byteMapped(Array(randomLetters(1 + Int(rng.next() % 300), &rng).unicodeScalars)))
        }
        for _ in 0..<200 {
            let bytes = (0..<(1 + Int(rng.next() % 300))).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            pieces.append(String(String.UnicodeScalarView(bytes.map { tok.byteToScalar[Int($0)] })))
        }
        let ranges: [ClosedRange<UInt32>] = [0x20...0x7E, 0xA0...0x17F, 0x3040...0x30FF, 0x4E00...0x4E80, 0x1F600...0x1F64F]
        for _ in 0..<200 {
            var s = String.UnicodeScalarView()
            for _ in 0..<(1 + Int(rng.next() % 200)) {
                let r = ranges[Int(rng.next() % UInt64(ranges.count))]
                s.append(Unicode.Scalar(r.lowerBound + UInt32(rng.next() % UInt64(r.count)))!)
            }
            pieces.append(tok.byteMapped(Array(s)))
        }
        var differing: [String] = []
        for piece in pieces {
            let got = tok.mergedSymbols(piece).symbols
            if got != referenceBPEMerge(scalars(piece), ranks: tok.mergeRanks) { differing.append(piece) }
        }
        XCTAssertEqual(differing.prefix(5), [], "\(differing.count) of \(pieces.count) pieces merge differently")
    }

    /// Merge tables a trained tokenizer never has: ranks out of the order their pieces form,
    /// duplicates, merges of long symbols. Rounds must still take one rank at a time, merging
    /// every occurrence before pairs the round created are considered.
    func testMergeEqualsTheReferenceLoopOnShuffledMergeTables() throws {
        // "a b" (rank 1) merges every occurrence first; "ab a" (rank 0) only matches pairs that
        // a round created, so "abab" stays two symbols, as in the reference loop.
        var work = 0
        XCTAssertEqual(BPEMerge.merge(scalars("abab"), ranks: ["ab a": 0, "a b": 1], work: &work), ["ab", "ab"])
        XCTAssertEqual(referenceBPEMerge(scalars("abab"), ranks: ["ab a": 0, "a b": 1]), ["ab", "ab"])
        XCTAssertEqual(BPEMerge.merge(scalars("aaaaa"), ranks: ["a a": 0], work: &work), ["aa", "aa", "a"])

        var rng = SplitMix64(seed: 1414)
        let alphabet = ["a", "b", "c"]
        var compared = 0
        for _ in 0..<60 {
            var symbols = alphabet
            var merges: [String] = []
            for _ in 0..<(5 + Int(rng.next() % 40)) {
                let l = symbols[Int(rng.next() % UInt64(symbols.count))], r = symbols[Int(rng.next() % UInt64(symbols.count))]
                guard (l + r).count <= 8 else { continue }
                merges.append(l + " " + r)
                if !symbols.contains(l + r) { symbols.append(l + r) }
            }
            merges.shuffle(using: &rng)
            if let again = merges.first { merges.append(again) }
            let ranks = ranksByFirstOccurrence(merges)
            for _ in 0..<40 {
                let text = (0..<(1 + Int(rng.next() % 120))).map { _ in alphabet[Int(rng.next() % 3)] }
                var work = 0
                let got = BPEMerge.merge(text, ranks: ranks, work: &work)
                XCTAssertEqual(got, referenceBPEMerge(text, ranks: ranks), "merges \(merges) on \(text.joined())")
                XCTAssertLessThanOrEqual(work, 9 * text.count)
                compared += 1
            }
        }
        XCTAssertEqual(compared, 2400)
    }

    /// One run of letters without spaces (issue 14: 10k letters took 2 s, 40k 14 s): the merge
    /// loop's work (rank lookups, heap pushes and pops) stays within 9 per letter, and the ids
    /// of a 4,000-letter run equal the reference loop's.
    func testMergeWorkOnOneRunOfLettersIsLinear() throws {
        let tok = try LoadedTokenizers.smolLM2()
        var rng = SplitMix64(seed: 7)
        for n in [4_000, 64_000] {
            let text = randomLetters(n, &rng)
            let pieces = tok.preTokenize(text)
            XCTAssertEqual(pieces.count, 1, "one piece")
            let (symbols, work) = tok.mergedSymbols(tok.byteMapped(pieces[0]))
            XCTAssertLessThanOrEqual(work, 9 * n, "\(n) letters")
            XCTAssertGreaterThan(work, n, "every pair was looked up")
            XCTAssertEqual(symbols.joined(), tok.byteMapped(pieces[0]))
            if n == 4_000 {
                XCTAssertEqual(symbols, referenceBPEMerge(scalars(tok.byteMapped(pieces[0])), ranks: tok.mergeRanks))
            }
            XCTAssertEqual(tok.decode(tok.encode(text, addSpecialTokens: false)), text)
        }
    }
}

final class WordPieceLongWordTests: XCTestCase {
    func spec(_ tokens: [String]) -> TokenizerSpec {
        TokenizerSpec(kind: .wordPiece, tokens: ["[P]", "[U]", "[C]", "[S]"] + tokens, merges: [], tokenTypes: [],
                      preTokenizer: "bert", lowercase: false, stripAccents: false, splitCJK: false, continuingSubwordPrefix: "##",
                      maxInputCharsPerWord: 1 << 20, maxLength: 1 << 20, specialTokens: ["unk": 1, "cls": 2, "sep": 3],
                      addBOS: false, addEOS: false, chatTemplate: nil)
    }

    /// With max_input_chars_per_word at the format's limit (2^20), a 3,000-letter word used to
    /// cost 4.5 M lookups (every candidate up to the word's end); now at most 4 × the longest
    /// token's scalars per position.
    func testLookupsPerPositionAreBoundedByTheLongestToken() throws {
        let tok = try WordPieceTokenizer(spec(["a", "##a"]))
        let word = Array(String(repeating: "a", count: 3_000).unicodeScalars)
        var ids: [Int32] = []
        var lookups = 0
        tok.wordPiece(word, into: &ids, lookups: &lookups)
        XCTAssertEqual(ids, [4] + [Int32](repeating: 5, count: 2_999))
        XCTAssertEqual(tok.longestPieceScalars, 12, "4 × the 3 scalars of \"##a\"")
        XCTAssertLessThanOrEqual(lookups, 3_000 * 12)
    }

    /// The cap never changes a result, also where String equality matches a decomposed piece
    /// ("e" + U+0301, 2 scalars) with a precomposed token ("é", 1 scalar).
    func testCappedMatchEqualsTheReferenceTwin() throws {
        var rng = SplitMix64(seed: 99)
        let alphabet: [Unicode.Scalar] = ["a", "b", "e", "\u{301}", "\u{E9}", "\u{1F82}", "\u{3B1}", "\u{313}", "\u{300}", "\u{345}"]
        for _ in 0..<40 {
            var tokens: [String] = []
            for _ in 0..<(3 + Int(rng.next() % 12)) {
                let n = 1 + Int(rng.next() % 3)
                let body = String(String.UnicodeScalarView((0..<n).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }))
                tokens.append(rng.next() % 2 == 0 ? body : "##" + body)
            }
            tokens += ["\u{E9}", "##\u{E9}", "\u{1F82}"]
            let tok = try WordPieceTokenizer(spec(tokens))
            for _ in 0..<50 {
                let word = (0..<(1 + Int(rng.next() % 40))).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }
                var ids: [Int32] = []
                tok.wordPiece(word, into: &ids)
                XCTAssertEqual(ids, referenceWordPiece(word, vocab: tok.vocab, prefix: "##", unk: 1),
                               "tokens \(tokens.map { $0.unicodeScalars.map { String($0.value, radix: 16) } }) word \(word.map { String($0.value, radix: 16) })")
            }
        }
        // Four decomposed scalars equal a one-scalar token: the cap is 4 × the longest token.
        var oneScalar = spec([])
        oneScalar.tokens = ["\u{1F82}", "u", "c", "s"]
        let tok = try WordPieceTokenizer(oneScalar)
        XCTAssertEqual(tok.longestPieceScalars, 4)
        var ids: [Int32] = []
        tok.wordPiece(Array("\u{3B1}\u{313}\u{300}\u{345}".unicodeScalars), into: &ids)
        XCTAssertEqual(ids, [0])
    }

    /// Words past the truncation budget are skipped; the ids are the same as tokenizing all
    /// of the text and truncating.
    func testEncodingStopsAtTheTruncationBudgetWithTheSameIds() throws {
        var s = spec(["a", "##a", "b"])
        s.maxLength = 6
        let tok = try WordPieceTokenizer(s)
        XCTAssertEqual(tok.encode("aa b a b aaa", addSpecialTokens: true), [2, 4, 5, 6, 4, 3])
        XCTAssertEqual(tok.encode("aa b a b aaa", addSpecialTokens: false), [4, 5, 6, 4, 6, 4])
    }
}
