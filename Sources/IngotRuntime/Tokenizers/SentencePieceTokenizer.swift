// SentencePieceTokenizer: the SentencePiece-style BPE of GGUF `tokenizer.ggml.model = llama`
// vocabularies (Gemma, LLaMA 1/2): user-defined tokens matched first (SpecialTokenSplit),
// spaces written as `▁` (U+2581) with an optional leading `▁`, then the text's characters
// merged pairwise, always the adjacent pair whose merged piece has the highest score (ties:
// leftmost), while the merged piece is in the vocabulary. A character left with no piece
// becomes its UTF-8 bytes as `<0xNN>` tokens. Foundation-free. No normalisation (NFKC) is done.

import IngotCore

public final class SentencePieceTokenizer: Tokenizer, @unchecked Sendable {
    public let spec: TokenizerSpec
    let vocab: [String: Int32]
    let split: SpecialTokenSplit
    /// byte → id of its `<0xNN>` token (or of the one-byte piece, or unk; -1 when none).
    let byteTokens: [Int32]
    static let space: Unicode.Scalar = "\u{2581}"

    public init(_ spec: TokenizerSpec) throws {
        guard spec.scores.count == spec.tokens.count else {
            throw IngotError.badField(file: nil, "tokenizer.score_count", seen: String(spec.scores.count),
                                      expected: "one score per token (\(spec.tokens.count)) for a SentencePiece tokenizer")
        }
        self.spec = spec
        vocab = vocabularyIndex(spec.tokens)
        split = SpecialTokenSplit(spec)
        let hex = Array("0123456789ABCDEF")
        var bytes = [Int32](repeating: -1, count: 256)
        for b in 0..<256 {
            let name = "<0x" + String(hex[b >> 4]) + String(hex[b & 15]) + ">"
            if let id = vocab[name] { bytes[b] = id }
            else if b < 128, let id = vocab[String(Unicode.Scalar(UInt8(b)))] { bytes[b] = id }
            else if let unk = spec.specialTokens["unk"] { bytes[b] = unk }
        }
        byteTokens = bytes
    }

    public func encode(_ text: String, addSpecialTokens: Bool) -> [Int32] {
        encode(text, addSpecialTokens: addSpecialTokens, parseSpecial: false)
    }

    public func encode(_ text: String, addSpecialTokens: Bool, parseSpecial: Bool) -> [Int32] {
        var ids: [Int32] = []
        if addSpecialTokens && spec.addBOS, let bos = spec.specialTokens["bos"] { ids.append(bos) }
        var afterSpecial = true
        for fragment in split.split(text, parseSpecial: parseSpecial) {
            switch fragment {
            case .token(let id):
                ids.append(id)
                afterSpecial = true
            case .text(let plain):
                var escaped = String.UnicodeScalarView()
                if spec.addSpacePrefix && afterSpecial { escaped.append(Self.space) }
                for s in plain.unicodeScalars { escaped.append(s == " " ? Self.space : s) }
                ids += pieces(String(escaped))
                afterSpecial = false
            }
        }
        if addSpecialTokens && spec.addEOS, let eos = spec.specialTokens["eos"] { ids.append(eos) }
        return ids
    }

    public func tokenBytes(_ id: Int32) -> [UInt8] {
        guard id >= 0, Int(id) < spec.tokens.count else { return [] }
        let text = spec.tokens[Int(id)]
        let type = spec.tokenTypes.isEmpty ? 1 : spec.tokenTypes[Int(id)]
        if type == 6, let b = Self.byteValue(text) { return [b] }
        if type == 3 || type == 4 { return Array(text.utf8) }
        var out: [UInt8] = []
        for s in text.unicodeScalars {
            if s == Self.space { out.append(0x20) } else { out += Array(String(s).utf8) }
        }
        return out
    }

    public func decode(_ ids: [Int32]) -> String {
        var bytes: [UInt8] = []
        for id in ids { bytes += tokenBytes(id) }
        if spec.addSpacePrefix, bytes.first == 0x20 { bytes.removeFirst() }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// `<0xNN>` → NN.
    static func byteValue(_ text: String) -> UInt8? {
        let u = Array(text.utf8)
        guard u.count == 6, u[0] == 0x3C, u[1] == 0x30, u[2] == 0x78, u[5] == 0x3E else { return nil }
        func digit(_ c: UInt8) -> UInt8? {
            switch c {
            case 0x30...0x39: return c - 0x30
            case 0x41...0x46: return c - 0x41 + 10
            case 0x61...0x66: return c - 0x61 + 10
            default: return nil
            }
        }
        guard let hi = digit(u[3]), let lo = digit(u[4]) else { return nil }
        return hi << 4 | lo
    }

    // MARK: Merging

    struct Symbol {
        var start: Int
        var length: Int
        var previous: Int
        var next: Int
    }

    struct Bigram {
        var score: Float
        var left: Int
        var right: Int
        var length: Int

        /// Pops first: higher score, then lower left position.
        func precedes(_ o: Bigram) -> Bool { score != o.score ? score > o.score : left < o.left }
    }

    /// Ids of one escaped fragment.
    func pieces(_ text: String) -> [Int32] {
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty else { return [] }
        var symbols: [Symbol] = []
        var offset = 0
        while offset < bytes.count {
            let lead = bytes[offset]
            let width = lead < 0x80 ? 1 : lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1
            let n = min(width, bytes.count - offset)
            symbols.append(Symbol(start: offset, length: n, previous: symbols.count - 1, next: symbols.count + 1))
            offset += n
        }
        symbols[symbols.count - 1].next = -1

        var heap: [Bigram] = []
        func piece(_ start: Int, _ length: Int) -> String { String(decoding: bytes[start..<(start + length)], as: UTF8.self) }
        func push(_ b: Bigram) {
            heap.append(b)
            var i = heap.count - 1
            while i > 0 {
                let p = (i - 1) / 2
                guard heap[i].precedes(heap[p]) else { break }
                heap.swapAt(i, p)
                i = p
            }
        }
        func pop() -> Bigram {
            let top = heap[0]
            let last = heap.removeLast()
            if !heap.isEmpty {
                heap[0] = last
                var i = 0
                while true {
                    let l = 2 * i + 1, r = l + 1
                    var best = i
                    if l < heap.count && heap[l].precedes(heap[best]) { best = l }
                    if r < heap.count && heap[r].precedes(heap[best]) { best = r }
                    if best == i { break }
                    heap.swapAt(i, best)
                    i = best
                }
            }
            return top
        }
        func tryPair(_ left: Int, _ right: Int) {
            guard left >= 0, right >= 0 else { return }
            let length = symbols[left].length + symbols[right].length
            guard let id = vocab[piece(symbols[left].start, length)] else { return }
            push(Bigram(score: spec.scores[Int(id)], left: left, right: right, length: length))
        }

        for i in 1..<symbols.count { tryPair(i - 1, i) }
        while !heap.isEmpty {
            let b = pop()
            let l = symbols[b.left], r = symbols[b.right]
            guard l.length > 0, r.length > 0, l.length + r.length == b.length, l.next == b.right else { continue }
            symbols[b.left].length += r.length
            symbols[b.right].length = 0
            symbols[b.left].next = r.next
            if r.next >= 0 { symbols[r.next].previous = b.left }
            tryPair(symbols[b.left].previous, b.left)
            tryPair(b.left, symbols[b.left].next)
        }

        var ids: [Int32] = []
        var i = 0
        while i >= 0 {
            let s = symbols[i]
            if let id = vocab[piece(s.start, s.length)] {
                ids.append(id)
            } else {
                for b in bytes[s.start..<(s.start + s.length)] where byteTokens[Int(b)] >= 0 { ids.append(byteTokens[Int(b)]) }
            }
            i = s.next
        }
        return ids
    }
}
