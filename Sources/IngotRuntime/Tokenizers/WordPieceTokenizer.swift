// WordPieceTokenizer: BERT's tokenizer — clean text, split CJK ideographs and punctuation,
// lower-case and strip accents, then greedy longest-match WordPiece with "##"
// continuations; [CLS] … [SEP] and truncation. Matches Hugging Face BertTokenizer.

import IngotCore

public struct WordPieceTokenizer: Tokenizer {
    public let spec: TokenizerSpec
    let vocab: [String: Int32]
    let unk: Int32, cls: Int32, sep: Int32
    /// Most scalars a piece can have and still equal a vocabulary token: 4 × the longest
    /// token's scalars (String equality is canonical equivalence, and one scalar decomposes
    /// into at most 4). Longer candidates are never looked up, so a word costs
    /// O(length × this) lookups however large max_input_chars_per_word is.
    let longestPieceScalars: Int

    public init(_ spec: TokenizerSpec) throws {
        self.spec = spec
        vocab = vocabularyIndex(spec.tokens)
        longestPieceScalars = 4 * (spec.tokens.lazy.map { $0.unicodeScalars.count }.max() ?? 0)
        guard let unk = spec.specialTokens["unk"], let cls = spec.specialTokens["cls"], let sep = spec.specialTokens["sep"] else {
            throw IngotError(.format, location: "tokenizer.special", "a WordPiece tokenizer needs unk, cls and sep ids")
        }
        (self.unk, self.cls, self.sep) = (unk, cls, sep)
    }

    public func encode(_ text: String, addSpecialTokens: Bool) -> [Int32] {
        var ids: [Int32] = []
        let budget = max(spec.maxLength - (addSpecialTokens ? 2 : 0), 0)
        // Words past the budget would be truncated away: they are not looked up at all.
        for word in basicTokens(text) where ids.count < budget { wordPiece(word, into: &ids) }
        if ids.count > budget { ids.removeSubrange(budget...) }
        return addSpecialTokens ? [cls] + ids + [sep] : ids
    }

    public func tokenBytes(_ id: Int32) -> [UInt8] {
        guard id >= 0, Int(id) < spec.tokens.count else { return [] }
        let t = spec.tokens[Int(id)]
        if t.hasPrefix(spec.continuingSubwordPrefix) && !spec.continuingSubwordPrefix.isEmpty {
            return Array(t.dropFirst(spec.continuingSubwordPrefix.count).utf8)
        }
        return Array((" " + t).utf8)
    }

    // MARK: Basic tokenizer

    static func isWhitespace(_ s: Unicode.Scalar) -> Bool {
        if s == " " || s == "\t" || s == "\n" || s == "\r" { return true }
        return s.properties.generalCategory == .spaceSeparator
    }

    static func isControl(_ s: Unicode.Scalar) -> Bool {
        if s == "\t" || s == "\n" || s == "\r" { return false }
        switch s.properties.generalCategory {
        case .control, .format: return true
        default: return false
        }
    }

    static func isPunctuation(_ s: Unicode.Scalar) -> Bool {
        let v = s.value
        if (33...47).contains(v) || (58...64).contains(v) || (91...96).contains(v) || (123...126).contains(v) { return true }
        switch s.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation: return true
        default: return false
        }
    }

    static func isCJK(_ v: UInt32) -> Bool {
        (0x4E00...0x9FFF).contains(v) || (0x3400...0x4DBF).contains(v) || (0x20000...0x2A6DF).contains(v)
            || (0x2A700...0x2B73F).contains(v) || (0x2B740...0x2B81F).contains(v) || (0x2B820...0x2CEAF).contains(v)
            || (0xF900...0xFAFF).contains(v) || (0x2F800...0x2FA1F).contains(v)
    }

    /// Words after cleaning, CJK spacing, whitespace split, lower-casing, accent stripping and punctuation split.
    func basicTokens(_ text: String) -> [[Unicode.Scalar]] {
        var words: [[Unicode.Scalar]] = []
        var current: [Unicode.Scalar] = []
        func flush() {
            if !current.isEmpty { words.append(current); current.removeAll(keepingCapacity: true) }
        }
        for s in text.unicodeScalars {
            if s.value == 0 || s.value == 0xFFFD || WordPieceTokenizer.isControl(s) { continue }
            if WordPieceTokenizer.isWhitespace(s) { flush(); continue }
            if spec.splitCJK && WordPieceTokenizer.isCJK(s.value) { flush(); words.append([s]); continue }
            for n in normalize(s) {
                if WordPieceTokenizer.isPunctuation(n) { flush(); words.append([n]) } else { current.append(n) }
            }
        }
        flush()
        return words
    }

    /// Lower-cases and strips accents of one scalar (possibly into several).
    func normalize(_ s: Unicode.Scalar) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = spec.lowercase ? Array(String(s).lowercased().unicodeScalars) : [s]
        if spec.stripAccents {
            var folded: [Unicode.Scalar] = []
            for x in out {
                if x.properties.generalCategory == .nonspacingMark { continue }
                if let (a, b) = AccentFolding.fold(x.value) {
                    if let sa = Unicode.Scalar(a) { folded.append(sa) }
                    if b != 0, let sb = Unicode.Scalar(b) { folded.append(sb) }
                } else {
                    folded.append(x)
                }
            }
            out = folded
        }
        return out
    }

    // MARK: WordPiece

    func wordPiece(_ word: [Unicode.Scalar], into ids: inout [Int32]) {
        var lookups = 0
        wordPiece(word, into: &ids, lookups: &lookups)
    }

    /// Greedy longest match; `lookups` grows by one per vocabulary lookup.
    func wordPiece(_ word: [Unicode.Scalar], into ids: inout [Int32], lookups: inout Int) {
        if word.count > spec.maxInputCharsPerWord { ids.append(unk); return }
        var start = 0
        var pieces: [Int32] = []
        while start < word.count {
            var end = min(word.count, start + longestPieceScalars)
            var found: Int32? = nil
            // The candidate for [start, end), shortened by one scalar per miss.
            var piece = (start > 0 ? spec.continuingSubwordPrefix : "") + String(String.UnicodeScalarView(word[start..<end]))
            while start < end {
                lookups += 1
                if let id = vocab[piece] { found = id; break }
                end -= 1
                piece.unicodeScalars.removeLast()
            }
            guard let id = found else { ids.append(unk); return }
            pieces.append(id)
            start = end
        }
        ids += pieces
    }
}
