// Tokenizer: text ↔ token ids for the kinds an artifact can carry (TokenizerSpec):
// the protocol, the factory, the streaming decoder that only releases complete UTF-8, and
// the chat template (a Jinja program, Jinja.swift) with the stop tokens it implies.
// Foundation-free, so the lean runner links it.

import IngotCore

public protocol Tokenizer: Sendable {
    var spec: TokenizerSpec { get }
    /// Ids for `text`; special tokens (CLS/SEP, BOS) added when asked. WordPiece truncates to
    /// spec.maxLength as BERT does; BPE does not (language models check their context).
    func encode(_ text: String, addSpecialTokens: Bool) -> [Int32]
    /// `parseSpecial`: control tokens written in the text ("<|im_start|>") become their ids (chat prompts).
    func encode(_ text: String, addSpecialTokens: Bool, parseSpecial: Bool) -> [Int32]
    /// The bytes a token stands for (byte-level BPE) or its text (WordPiece), for streaming.
    func tokenBytes(_ id: Int32) -> [UInt8]
    /// Text of a whole id sequence.
    func decode(_ ids: [Int32]) -> String
}

extension Tokenizer {
    public var vocabularySize: Int { spec.tokens.count }

    /// Kinds without control tokens in text (WordPiece) ignore `parseSpecial`.
    public func encode(_ text: String, addSpecialTokens: Bool, parseSpecial: Bool) -> [Int32] {
        encode(text, addSpecialTokens: addSpecialTokens)
    }

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
    case .sentencePiece: return try SentencePieceTokenizer(spec)
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

/// The model's chat template (`tokenizer.chat_template`, or the family's built-in one that
/// the importer recorded), rendered by the Jinja interpreter as transformers'
/// apply_chat_template does: `messages`, `add_generation_prompt`, `bos_token`, `eos_token`;
/// `tools` left undefined.
public struct ChatTemplate: Sendable {
    public let source: String
    /// "gemma" when the template is that family's built-in one; nil when it is the model's own.
    public let builtIn: String?
    let program: JinjaTemplate
    let bosToken: String
    let eosToken: String

    public init(spec: TokenizerSpec) throws {
        guard let source = spec.chatTemplate else {
            throw IngotError(.unsupported, location: "tokenizer.chat_template",
                             "the model has no chat template and its family has no built-in one")
        }
        self.source = source
        builtIn = spec.chatTemplateBuiltIn
        program = try JinjaTemplate(source)
        func text(_ name: String) -> String {
            guard let id = spec.specialTokens[name], Int(id) < spec.tokens.count else { return "" }
            return spec.tokens[Int(id)]
        }
        bosToken = text("bos")
        eosToken = text("eos")
    }

    /// Where the template came from, for listings: "the model's own" or "built-in gemma".
    public var origin: String { builtIn.map { "built-in \($0)" } ?? "the model's own" }

    /// [(role, content)] → prompt text (ending with the assistant header when `addGenerationPrompt`).
    public func render(_ messages: [(role: String, content: String)], addGenerationPrompt: Bool = true) throws -> String {
        let list = messages.map { JinjaValue.dict(JinjaDict([("role", .string($0.role)), ("content", .string($0.content))])) }
        return try program.render([
            "messages": .list(list), "add_generation_prompt": .bool(addGenerationPrompt),
            "bos_token": .string(bosToken), "eos_token": .string(eosToken),
        ])
    }

    /// The control token that closes an assistant turn (`<|im_end|>`, `<end_of_turn>`): the
    /// first control token the template writes after an assistant message's text; nil when
    /// the template writes none there.
    public func endOfTurnToken(_ tokenizer: any Tokenizer) -> Int32? {
        let marker = "\u{E000}assistant-text\u{E000}"
        guard let text = try? render([(role: "user", content: "hi"), (role: "assistant", content: marker)], addGenerationPrompt: false),
              let range = text.range(of: marker) else { return nil }
        let after = String(text[range.upperBound...])
        let types = tokenizer.spec.tokenTypes
        for id in tokenizer.encode(after, addSpecialTokens: false, parseSpecial: true)
        where Int(id) < types.count && types[Int(id)] == 3 {
            return id
        }
        return nil
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
