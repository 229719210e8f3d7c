// Tokenizer: text ↔ token ids for the kinds an artifact can carry (TokenizerSpec):
// the protocol, the factory, and the streaming decoder that only releases complete UTF-8.
// Foundation-free, so the lean runner links it.

import IngotCore

public protocol Tokenizer: Sendable {
    var spec: TokenizerSpec { get }
    /// Ids for `text`; special tokens (CLS/SEP, BOS) added when asked. WordPiece truncates to
    /// spec.maxLength as BERT does; BPE does not (language models check their context).
    func encode(_ text: String, addSpecialTokens: Bool) -> [Int32]
    /// The bytes a token stands for (byte-level BPE) or its text (WordPiece), for streaming.
    func tokenBytes(_ id: Int32) -> [UInt8]
    /// Text of a whole id sequence.
    func decode(_ ids: [Int32]) -> String
}

extension Tokenizer {
    public var vocabularySize: Int { spec.tokens.count }

    public func decode(_ ids: [Int32]) -> String {
        var bytes: [UInt8] = []
        for id in ids { bytes += tokenBytes(id) }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// token text → first id with that text.
func vocabularyIndex(_ tokens: [String]) -> [String: Int32] {
    var vocab: [String: Int32] = [:]
    vocab.reserveCapacity(tokens.count)
    for (i, t) in tokens.enumerated() where vocab[t] == nil { vocab[t] = Int32(i) }
    return vocab
}

public func makeTokenizer(_ spec: TokenizerSpec) throws -> any Tokenizer {
    switch spec.kind {
    case .wordPiece: return try WordPieceTokenizer(spec)
    case .byteLevelBPE: return try ByteLevelBPETokenizer(spec)
    }
}

/// Turns a stream of token ids into text pieces, holding back bytes of a UTF-8 sequence
/// split across tokens until it is complete.
public struct StreamingDecoder {
    let tokenizer: any Tokenizer
    var pending: [UInt8] = []

    public init(tokenizer: any Tokenizer) { self.tokenizer = tokenizer }

    /// Text that became complete with this id (possibly empty).
    public mutating func push(_ id: Int32) -> String {
        pending += tokenizer.tokenBytes(id)
        let complete = StreamingDecoder.completePrefixLength(pending)
        let text = String(decoding: pending[0..<complete], as: UTF8.self)
        pending.removeFirst(complete)
        return text
    }

    /// Whatever is still held (invalid sequences become U+FFFD).
    public mutating func flush() -> String {
        defer { pending.removeAll() }
        return String(decoding: pending, as: UTF8.self)
    }

    /// Length of the longest prefix that does not end inside an incomplete UTF-8 sequence.
    static func completePrefixLength(_ bytes: [UInt8]) -> Int {
        var i = bytes.count - 1
        var back = 0
        while i >= 0, back < 4, bytes[i] & 0xC0 == 0x80 { i -= 1; back += 1 }
        guard i >= 0 else { return bytes.count }
        let lead = bytes[i]
        let needed = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1
        return bytes.count - i < needed ? i : bytes.count
    }
}

/// Renders chat messages with the model's template. Only ChatML-style templates
/// (`<|im_start|>role\ncontent<|im_end|>\n`) are understood; a Jinja engine is not included.
public struct ChatTemplate: Sendable {
    public let defaultSystemPrompt: String?

    public init(source: String?) throws {
        guard let source, source.contains("<|im_start|>") else {
            throw IngotError(.unsupported, location: "tokenizer.chat_template",
                             source == nil ? "the artifact has no chat template" : "only ChatML templates (<|im_start|>…<|im_end|>) are supported")
        }
        // The SmolLM2 template inserts this system message when none is given.
        let marker = "<|im_start|>system\n"
        if let r = source.range(of: marker), let end = source[r.upperBound...].range(of: "<|im_end|>") {
            let text = String(source[r.upperBound..<end.lowerBound])
            defaultSystemPrompt = text.contains("{") ? nil : text
        } else {
            defaultSystemPrompt = nil
        }
    }

    /// [(role, content)] → prompt text ending with the assistant header.
    public func render(_ messages: [(role: String, content: String)], addGenerationPrompt: Bool = true) -> String {
        var out = ""
        if let system = defaultSystemPrompt, messages.first?.role != "system" {
            out += "<|im_start|>system\n" + system + "<|im_end|>\n"
        }
        for m in messages { out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n" }
        if addGenerationPrompt { out += "<|im_start|>assistant\n" }
        return out
    }
}

extension String {
    /// `range(of:)` without Foundation (first occurrence, scalar-exact).
    func range(of needle: String) -> Range<String.Index>? {
        guard !needle.isEmpty else { return nil }
        var i = startIndex
        while i < endIndex {
            if self[i...].hasPrefix(needle) { return i..<index(i, offsetBy: needle.count) }
            i = index(after: i)
        }
        return nil
    }
}

extension Substring {
    func range(of needle: String) -> Range<String.Index>? {
        var i = startIndex
        while i < endIndex {
            if self[i...].hasPrefix(needle) { return i..<index(i, offsetBy: needle.count) }
            i = index(after: i)
        }
        return nil
    }
}
