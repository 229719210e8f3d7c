// ByteLevelBPETokenizer: GPT-2 style byte-level BPE over the vocabulary and ranked merges of
// a GGUF file. Pre-tokenization: user-defined tokens (and control tokens when asked) by
// SpecialTokenSplit, then by `tokenizer.ggml.pre`:
//   gpt2/default  's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//   smollm        every digit on its own, then the gpt2 pattern
//   qwen2         (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
//   llama-bpe     the qwen2 pattern with \p{N}{1,3}
// matched by hand (no regex engine). Bytes map to printable scalars as in GPT-2; the merge
// loop is BPEMerge.

import IngotCore

public final class ByteLevelBPETokenizer: Tokenizer, @unchecked Sendable {
    public let spec: TokenizerSpec
    let vocab: [String: Int32]
    let mergeRanks: [String: Int]
    let byteToScalar: [Unicode.Scalar]
    let scalarToByte: [UInt32: UInt8]
    enum PreTokenizer { case gpt2, smollm, qwen2, llama3 }
    let preTokenizer: PreTokenizer
    let split: SpecialTokenSplit
    private var cache: [String: [Int32]] = [:]
    private let cacheLock = SpinLock()

    public init(_ spec: TokenizerSpec) throws {
        self.spec = spec
        vocab = vocabularyIndex(spec.tokens)
        var ranks: [String: Int] = [:]
        ranks.reserveCapacity(spec.merges.count)
        for (i, m) in spec.merges.enumerated() where ranks[m] == nil { ranks[m] = i }
        mergeRanks = ranks
        // GPT-2: printable bytes map to themselves, the rest to U+0100 onwards in byte order.
        var map = [Unicode.Scalar](repeating: " ", count: 256)
        var back: [UInt32: UInt8] = [:]
        var next: UInt32 = 256
        for b in 0..<256 {
            let printable = (33...126).contains(b) || (161...172).contains(b) || (174...255).contains(b)
            let v = printable ? UInt32(b) : { defer { next += 1 }; return next }()
            map[b] = Unicode.Scalar(v)!
            back[v] = UInt8(b)
        }
        byteToScalar = map
        scalarToByte = back
        switch spec.preTokenizer {
        case "smollm": preTokenizer = .smollm
        case "gpt2", "default": preTokenizer = .gpt2
        case "qwen2": preTokenizer = .qwen2
        case "llama-bpe": preTokenizer = .llama3
        default:
            throw IngotError(.unsupported, location: "tokenizer.ggml.pre",
                             "value \"\(spec.preTokenizer)\", expected one of: smollm, gpt2, default, qwen2, llama-bpe")
        }
        split = SpecialTokenSplit(spec)
    }

    public func encode(_ text: String, addSpecialTokens: Bool) -> [Int32] {
        encode(text, addSpecialTokens: addSpecialTokens, parseSpecial: false)
    }

    /// `parseSpecial`: text such as "<|im_start|>" becomes its control token (chat prompts).
    public func encode(_ text: String, addSpecialTokens: Bool, parseSpecial: Bool) -> [Int32] {
        var ids: [Int32] = []
        if addSpecialTokens && spec.addBOS, let bos = spec.specialTokens["bos"] { ids.append(bos) }
        for fragment in split.split(text, parseSpecial: parseSpecial) {
            switch fragment {
            case .token(let id): ids.append(id)
            case .text(let plain): for piece in preTokenize(plain) { ids += bpe(piece) }
            }
        }
        if addSpecialTokens && spec.addEOS, let eos = spec.specialTokens["eos"] { ids.append(eos) }
        // No truncation: a corpus may be longer than the context; the language model checks length.
        return ids
    }

    public func tokenBytes(_ id: Int32) -> [UInt8] {
        guard id >= 0, Int(id) < spec.tokens.count else { return [] }
        let t = spec.tokens[Int(id)]
        if !spec.tokenTypes.isEmpty, spec.tokenTypes[Int(id)] == 3 || spec.tokenTypes[Int(id)] == 4 { return Array(t.utf8) }
        var out: [UInt8] = []
        for s in t.unicodeScalars {
            if let b = scalarToByte[s.value] { out.append(b) } else { out += Array(String(s).utf8) }
        }
        return out
    }

    // MARK: Pre-tokenization

    static func isLetter(_ s: Unicode.Scalar) -> Bool {
        switch s.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
        default: return false
        }
    }

    static func isNumber(_ s: Unicode.Scalar) -> Bool {
        switch s.properties.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber: return true
        default: return false
        }
    }

    static func isSpace(_ s: Unicode.Scalar) -> Bool { s.properties.isWhitespace }

    /// Pieces of text, each later encoded on its own.
    func preTokenize(_ text: String) -> [[Unicode.Scalar]] {
        let scalars = Array(text.unicodeScalars)
        var out: [[Unicode.Scalar]] = []
        switch preTokenizer {
        case .gpt2: ByteLevelBPETokenizer.gpt2Split(scalars[...], into: &out); return out
        case .qwen2: ByteLevelBPETokenizer.llama3Split(scalars[...], maxDigits: 1, into: &out); return out
        case .llama3: ByteLevelBPETokenizer.llama3Split(scalars[...], maxDigits: 3, into: &out); return out
        case .smollm: break
        }
        var start = 0
        for (i, s) in scalars.enumerated() where ByteLevelBPETokenizer.isNumber(s) {
            if start < i { ByteLevelBPETokenizer.gpt2Split(scalars[start..<i], into: &out) }
            out.append([s])
            start = i + 1
        }
        if start < scalars.count { ByteLevelBPETokenizer.gpt2Split(scalars[start...], into: &out) }
        return out
    }

    /// The GPT-2 pattern, alternatives tried in order at each position.
    static func gpt2Split(_ s: ArraySlice<Unicode.Scalar>, into out: inout [[Unicode.Scalar]]) {
        var i = s.startIndex
        let end = s.endIndex
        func run(from j: Int, while pred: (Unicode.Scalar) -> Bool) -> Int {
            var k = j
            while k < end, pred(s[k]) { k += 1 }
            return k
        }
        while i < end {
            let c = s[i]
            // Contractions.
            if c == "'" && i + 1 < end {
                let n = s[i + 1]
                if n == "s" || n == "t" || n == "m" || n == "d" { out.append([c, n]); i += 2; continue }
                if i + 2 < end {
                    let pair = String(String.UnicodeScalarView([n, s[i + 2]]))
                    if pair == "re" || pair == "ve" || pair == "ll" { out.append(Array(s[i..<(i + 3)])); i += 3; continue }
                }
            }
            let hasSpace = c == " " && i + 1 < end
            let j = hasSpace ? i + 1 : i
            // ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`
            if j < end {
                let k: Int
                if isLetter(s[j]) { k = run(from: j, while: isLetter) }
                else if isNumber(s[j]) { k = run(from: j, while: isNumber) }
                else if !isSpace(s[j]) { k = run(from: j) { !isSpace($0) && !isLetter($0) && !isNumber($0) } }
                else { k = j }
                if k > j { out.append(Array(s[i..<k])); i = k; continue }
            }
            // `\s+(?!\S)` then `\s+`.
            let k = run(from: i, while: isSpace)
            if k == end || k - i == 1 {
                out.append(Array(s[i..<k]))
                i = k
            } else {
                out.append(Array(s[i..<(k - 1)]))
                i = k - 1
            }
        }
    }

    /// The llama-bpe / qwen2 pattern (`maxDigits` 3 / 1), alternatives tried in order at each position:
    ///   (?i:'s|'t|'re|'ve|'m|'ll|'d) | [^\r\n\p{L}\p{N}]?\p{L}+ | \p{N}{1,maxDigits} |
    ///    ?[^\s\p{L}\p{N}]+[\r\n]* | \s*[\r\n]+ | \s+(?!\S) | \s+
    static func llama3Split(_ s: ArraySlice<Unicode.Scalar>, maxDigits: Int, into out: inout [[Unicode.Scalar]]) {
        var i = s.startIndex
        let end = s.endIndex
        func run(from j: Int, while pred: (Unicode.Scalar) -> Bool) -> Int {
            var k = j
            while k < end, pred(s[k]) { k += 1 }
            return k
        }
        func isNewline(_ c: Unicode.Scalar) -> Bool { c == "\r" || c == "\n" }
        func lower(_ c: Unicode.Scalar) -> Unicode.Scalar { c.value >= 65 && c.value <= 90 ? Unicode.Scalar(c.value + 32)! : c }
        func isPunct(_ c: Unicode.Scalar) -> Bool { !isSpace(c) && !isLetter(c) && !isNumber(c) }
        while i < end {
            let c = s[i]
            // Contractions, any case.
            if c == "'" && i + 1 < end {
                let n = lower(s[i + 1])
                if n == "s" || n == "t" || n == "m" || n == "d" { out.append([c, s[i + 1]]); i += 2; continue }
                if i + 2 < end {
                    let n2 = lower(s[i + 2])
                    if (n == "r" && n2 == "e") || (n == "v" && n2 == "e") || (n == "l" && n2 == "l") {
                        out.append(Array(s[i..<(i + 3)])); i += 3; continue
                    }
                }
            }
            // [^\r\n\p{L}\p{N}]?\p{L}+
            if isLetter(c) { let k = run(from: i, while: isLetter); out.append(Array(s[i..<k])); i = k; continue }
            if !isNewline(c) && !isNumber(c) && i + 1 < end && isLetter(s[i + 1]) {
                let k = run(from: i + 1, while: isLetter); out.append(Array(s[i..<k])); i = k; continue
            }
            // \p{N}{1,maxDigits}
            if isNumber(c) {
                var k = i + 1
                while k < end, k - i < maxDigits, isNumber(s[k]) { k += 1 }
                out.append(Array(s[i..<k])); i = k; continue
            }
            //  ?[^\s\p{L}\p{N}]+[\r\n]*
            let j = c == " " && i + 1 < end ? i + 1 : i
            if j < end && isPunct(s[j]) {
                var k = run(from: j, while: isPunct)
                k = run(from: k, while: isNewline)
                out.append(Array(s[i..<k])); i = k; continue
            }
            // \s*[\r\n]+ : up to the run's last newline.
            let k = run(from: i, while: isSpace)
            if let lastNewline = (i..<k).last(where: { isNewline(s[$0]) }) {
                out.append(Array(s[i...lastNewline])); i = lastNewline + 1; continue
            }
            // \s+(?!\S) then \s+.
            if k == end || k - i == 1 {
                out.append(Array(s[i..<k])); i = k
            } else {
                out.append(Array(s[i..<(k - 1)])); i = k - 1
            }
        }
    }

    // MARK: BPE

    /// The symbols of a byte-mapped piece after merging (BPEMerge), and the merge loop's work count.
    func mergedSymbols(_ mapped: String) -> (symbols: [String], work: Int) {
        var work = 0
        let symbols = BPEMerge.merge(mapped.unicodeScalars.map { String($0) }, ranks: mergeRanks, work: &work)
        return (symbols, work)
    }

    /// A piece's UTF-8 bytes as GPT-2's printable scalars, one per byte.
    func byteMapped(_ piece: [Unicode.Scalar]) -> String {
        var mapped = ""
        for b in String(String.UnicodeScalarView(piece)).utf8 { mapped.unicodeScalars.append(byteToScalar[Int(b)]) }
        return mapped
    }

    func bpe(_ piece: [Unicode.Scalar]) -> [Int32] {
        let mapped = byteMapped(piece)
        if let cached = cacheLock.withLock({ cache[mapped] }) { return cached }
        let symbols = mergedSymbols(mapped).symbols
        var ids: [Int32] = []
        for sym in symbols {
            if let id = vocab[sym] { ids.append(id) }
            else {
                // Unknown symbol: fall back to its single bytes (every byte is in a byte-level vocabulary).
                for u in sym.unicodeScalars { if let id = vocab[String(u)] { ids.append(id) } }
            }
        }
        cacheLock.withLock { cache[mapped] = ids }
        return ids
    }
}

/// A minimal lock for the BPE cache (foundation-free).
final class SpinLock: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    init() { pthread_mutex_init(&mutex, nil) }
    deinit { pthread_mutex_destroy(&mutex) }
    func withLock<R>(_ body: () throws -> R) rethrows -> R {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return try body()
    }
}

#if canImport(Glibc)
import Glibc
#endif
