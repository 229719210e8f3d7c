// TokenizerSpec: the tokenizer description carried in an artifact's TOKN section
// (Formats/tokenizer-v1.md): vocabulary, merges or scores, settings, special tokens, chat
// template and where that template came from. Writes version 2; reads versions 1 and 2.
// Encoding and decoding of text live in IngotRuntime/Tokenizers; this is data and its codec.

public struct TokenizerSpec: Equatable, Sendable {
    public enum Kind: UInt8, Sendable, CustomStringConvertible {
        case wordPiece = 1
        case byteLevelBPE = 2
        /// SentencePiece-style BPE over scored pieces with `▁` for spaces and `<0xNN>` byte fallback (GGUF `llama`).
        case sentencePiece = 3

        public var description: String {
            switch self {
            case .wordPiece: return "wordpiece"
            case .byteLevelBPE: return "byte-level-bpe"
            case .sentencePiece: return "sentencepiece"
            }
        }
    }

    public var kind: Kind
    /// id → token text.
    public var tokens: [String]
    /// BPE merges "left right" in rank order; empty for WordPiece.
    public var merges: [String]
    /// GGUF token types per id (1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte); empty for WordPiece.
    public var tokenTypes: [Int32]
    /// "bert", "smollm", "gpt2", ...
    public var preTokenizer: String
    public var lowercase: Bool
    public var stripAccents: Bool
    public var splitCJK: Bool
    public var continuingSubwordPrefix: String
    public var maxInputCharsPerWord: Int
    /// Truncation length including special tokens.
    public var maxLength: Int
    /// "unk", "cls", "sep", "pad", "mask", "bos", "eos" → id.
    public var specialTokens: [String: Int32]
    public var addBOS: Bool
    public var addEOS: Bool
    public var chatTemplate: String?
    /// Piece scores per id (SentencePiece: higher merges first); empty for the other kinds.
    public var scores: [Float]
    /// SentencePiece: a `▁` is put before the text (and after each special token).
    public var addSpacePrefix: Bool
    /// The model family whose built-in template `chatTemplate` is ("gemma"), when the model
    /// file carried none; nil when the template is the model's own (or there is none).
    public var chatTemplateBuiltIn: String?

    public init(kind: Kind, tokens: [String], merges: [String], tokenTypes: [Int32], preTokenizer: String,
                lowercase: Bool, stripAccents: Bool, splitCJK: Bool, continuingSubwordPrefix: String,
                maxInputCharsPerWord: Int, maxLength: Int, specialTokens: [String: Int32],
                addBOS: Bool, addEOS: Bool, chatTemplate: String?,
                scores: [Float] = [], addSpacePrefix: Bool = false, chatTemplateBuiltIn: String? = nil) {
        self.kind = kind
        self.tokens = tokens
        self.merges = merges
        self.tokenTypes = tokenTypes
        self.preTokenizer = preTokenizer
        self.lowercase = lowercase
        self.stripAccents = stripAccents
        self.splitCJK = splitCJK
        self.continuingSubwordPrefix = continuingSubwordPrefix
        self.maxInputCharsPerWord = maxInputCharsPerWord
        self.maxLength = maxLength
        self.specialTokens = specialTokens
        self.addBOS = addBOS
        self.addEOS = addEOS
        self.chatTemplate = chatTemplate
        self.scores = scores
        self.addSpacePrefix = addSpacePrefix
        self.chatTemplateBuiltIn = chatTemplateBuiltIn
    }

    /// Version written; version 1 (no scores, no template origin, kinds 1 and 2 only) is still read.
    public static let formatVersion: UInt16 = 2
    // The decoder's limits (Formats/tokenizer-v1.md); `checkEncodable` holds a spec to the same.
    public static let maxTokens = 1 << 22
    public static let maxTokenBytes = 1 << 16
    public static let maxSettingBytes = 256
    public static let maxInputCharsLimit = 1 << 20
    public static let maxLengthLimit = 1 << 24
    public static let maxSpecialTokens = 64
    public static let maxSpecialNameBytes = 64
    public static let maxChatTemplateBytes = 1 << 20

    /// Throws unless the decoder would read back what `encoded()` writes: every count and
    /// length within the format's limits, special ids naming tokens. An importer calls it
    /// so a build never writes a tokenizer its own reader refuses; `file` names the source.
    public func checkEncodable(file: String?) throws {
        func atMost(_ field: String, _ value: Int, _ limit: Int, _ unit: String = "") throws {
            guard value >= 0, value <= limit else {
                throw IngotError.badField(file: file, field, seen: "\(value)\(unit)", expected: "at most \(limit)\(unit)")
            }
        }
        try atMost("tokenizer.pre_tokenizer", preTokenizer.utf8.count, TokenizerSpec.maxSettingBytes, " bytes")
        try atMost("tokenizer.continuing_subword_prefix", continuingSubwordPrefix.utf8.count, TokenizerSpec.maxSettingBytes, " bytes")
        try atMost("tokenizer.max_input_chars_per_word", maxInputCharsPerWord, TokenizerSpec.maxInputCharsLimit)
        try atMost("tokenizer.max_length", maxLength, TokenizerSpec.maxLengthLimit)
        try atMost("tokenizer.token_count", tokens.count, TokenizerSpec.maxTokens)
        for (i, t) in tokens.enumerated() {
            try atMost("tokenizer.tokens[\(i)]", t.utf8.count, TokenizerSpec.maxTokenBytes, " bytes")
        }
        try atMost("tokenizer.merge_count", merges.count, TokenizerSpec.maxTokens)
        for (i, m) in merges.enumerated() {
            try atMost("tokenizer.merges[\(i)]", m.utf8.count, TokenizerSpec.maxTokenBytes, " bytes")
        }
        guard tokenTypes.isEmpty || tokenTypes.count == tokens.count else {
            throw IngotError.badField(file: file, "tokenizer.token_type_count", seen: String(tokenTypes.count), expected: "0 or \(tokens.count)")
        }
        try atMost("tokenizer.special_count", specialTokens.count, TokenizerSpec.maxSpecialTokens)
        for (name, id) in specialTokens.sorted(by: { $0.key < $1.key }) {
            try atMost("tokenizer.special[\(name)].name", name.utf8.count, TokenizerSpec.maxSpecialNameBytes, " bytes")
            guard id >= 0, Int(id) < tokens.count else {
                throw IngotError.badField(file: file, "tokenizer.special[\(name)]", seen: String(id), expected: "a token id in 0..<\(tokens.count)")
            }
        }
        if let chatTemplate {
            try atMost("tokenizer.chat_template", chatTemplate.utf8.count, TokenizerSpec.maxChatTemplateBytes, " bytes")
        }
        if let chatTemplateBuiltIn {
            try atMost("tokenizer.chat_template_builtin", chatTemplateBuiltIn.utf8.count, TokenizerSpec.maxSettingBytes, " bytes")
        }
        guard scores.isEmpty || scores.count == tokens.count else {
            throw IngotError.badField(file: file, "tokenizer.score_count", seen: String(scores.count), expected: "0 or \(tokens.count)")
        }
    }

    public func encoded() -> [UInt8] {
        var w = ByteWriter()
        w.u16(TokenizerSpec.formatVersion)
        w.u8(kind.rawValue)
        w.u8((lowercase ? 1 : 0) | (stripAccents ? 2 : 0) | (splitCJK ? 4 : 0) | (addBOS ? 8 : 0) | (addEOS ? 16 : 0) | (addSpacePrefix ? 32 : 0))
        w.string(preTokenizer)
        w.string(continuingSubwordPrefix)
        w.u32(UInt32(maxInputCharsPerWord))
        w.u32(UInt32(maxLength))
        w.u32(UInt32(tokens.count))
        for t in tokens { w.string(t) }
        w.u32(UInt32(merges.count))
        for m in merges { w.string(m) }
        w.u32(UInt32(tokenTypes.count))
        for t in tokenTypes { w.i32(t) }
        let special = specialTokens.sorted { $0.key < $1.key }
        w.u32(UInt32(special.count))
        for (k, v) in special { w.string(k); w.i32(v) }
        if let chatTemplate { w.u8(1); w.string(chatTemplate) } else { w.u8(0) }
        if let chatTemplateBuiltIn { w.u8(1); w.string(chatTemplateBuiltIn) } else { w.u8(0) }
        w.u32(UInt32(scores.count))
        for s in scores { w.f32(s) }
        return w.bytes
    }

    public init(decoding bytes: UnsafeRawBufferPointer, file: String?) throws {
        var r = ByteReader(bytes, file: file)
        let version = try r.u16("tokenizer.version")
        guard version == 1 || version == TokenizerSpec.formatVersion else {
            throw IngotError.badField(file: file, "tokenizer.version", seen: String(version), expected: "1 or \(TokenizerSpec.formatVersion)")
        }
        let kindRaw = try r.u8("tokenizer.kind")
        guard let kind = Kind(rawValue: kindRaw), version >= 2 || kind != .sentencePiece else {
            throw IngotError.badField(file: file, "tokenizer.kind", seen: String(kindRaw),
                                      expected: version == 1 ? "1 (wordpiece) or 2 (byte-level BPE)" : "1 (wordpiece), 2 (byte-level BPE) or 3 (sentencepiece)")
        }
        let flags = try r.u8("tokenizer.flags")
        let flagLimit: UInt8 = version == 1 ? 32 : 64
        guard flags < flagLimit else {
            throw IngotError.badField(file: file, "tokenizer.flags", seen: String(flags), expected: version == 1 ? "bits 0...4 only" : "bits 0...5 only")
        }
        let pre = try r.string("tokenizer.pre_tokenizer", max: TokenizerSpec.maxSettingBytes)
        let prefix = try r.string("tokenizer.continuing_subword_prefix", max: TokenizerSpec.maxSettingBytes)
        let maxChars = try r.count32("tokenizer.max_input_chars_per_word", max: TokenizerSpec.maxInputCharsLimit)
        let maxLength = try r.count32("tokenizer.max_length", max: TokenizerSpec.maxLengthLimit)
        // Each token and merge takes at least its 4-byte length: counts are bounded by the
        // bytes left after the count itself, before anything is reserved for them.
        let tokenCount = try r.count32("tokenizer.token_count", max: min(TokenizerSpec.maxTokens, max(r.remaining - 4, 0) / 4))
        var tokens: [String] = []
        tokens.reserveCapacity(tokenCount)
        for i in 0..<tokenCount { tokens.append(try r.string("tokenizer.tokens[\(i)]", max: TokenizerSpec.maxTokenBytes)) }
        let mergeCount = try r.count32("tokenizer.merge_count", max: min(TokenizerSpec.maxTokens, max(r.remaining - 4, 0) / 4))
        var merges: [String] = []
        merges.reserveCapacity(mergeCount)
        for i in 0..<mergeCount { merges.append(try r.string("tokenizer.merges[\(i)]", max: TokenizerSpec.maxTokenBytes)) }
        let typeCount = try r.count32("tokenizer.token_type_count", max: tokenCount)
        guard typeCount == 0 || typeCount == tokenCount else {
            throw IngotError.badField(file: file, "tokenizer.token_type_count", seen: String(typeCount), expected: "0 or \(tokenCount)")
        }
        try r.require(typeCount * 4, for: "tokenizer.token_types")
        var types: [Int32] = []
        types.reserveCapacity(typeCount)
        for i in 0..<typeCount { types.append(try r.i32("tokenizer.token_types[\(i)]")) }
        let specialCount = try r.count32("tokenizer.special_count", max: TokenizerSpec.maxSpecialTokens)
        var special: [String: Int32] = [:]
        for i in 0..<specialCount {
            let key = try r.string("tokenizer.special[\(i)].name", max: TokenizerSpec.maxSpecialNameBytes)
            let id = try r.i32("tokenizer.special[\(i)].id")
            guard id >= 0, Int(id) < tokenCount else {
                throw IngotError.badField(file: file, "tokenizer.special[\(key)]", seen: String(id), expected: "a token id in 0..<\(tokenCount)")
            }
            special[key] = id
        }
        let hasTemplate = try r.u8("tokenizer.has_chat_template")
        guard hasTemplate <= 1 else { throw IngotError.badField(file: file, "tokenizer.has_chat_template", seen: String(hasTemplate), expected: "0 or 1") }
        let template = hasTemplate == 1 ? try r.string("tokenizer.chat_template", max: TokenizerSpec.maxChatTemplateBytes) : nil
        var builtIn: String?
        var scores: [Float] = []
        if version >= 2 {
            let hasBuiltIn = try r.u8("tokenizer.has_chat_template_builtin")
            guard hasBuiltIn <= 1 else {
                throw IngotError.badField(file: file, "tokenizer.has_chat_template_builtin", seen: String(hasBuiltIn), expected: "0 or 1")
            }
            builtIn = hasBuiltIn == 1 ? try r.string("tokenizer.chat_template_builtin", max: TokenizerSpec.maxSettingBytes) : nil
            let scoreCount = try r.count32("tokenizer.score_count", max: tokenCount)
            guard scoreCount == 0 || scoreCount == tokenCount else {
                throw IngotError.badField(file: file, "tokenizer.score_count", seen: String(scoreCount), expected: "0 or \(tokenCount)")
            }
            try r.require(scoreCount * 4, for: "tokenizer.scores")
            scores.reserveCapacity(scoreCount)
            for i in 0..<scoreCount { scores.append(try r.f32("tokenizer.scores[\(i)]")) }
        }
        guard r.remaining == 0 else {
            throw IngotError(.format, file: file, location: "tokenizer", "\(r.remaining) unexpected bytes at the end")
        }
        self.init(kind: kind, tokens: tokens, merges: merges, tokenTypes: types, preTokenizer: pre,
                  lowercase: flags & 1 != 0, stripAccents: flags & 2 != 0, splitCJK: flags & 4 != 0,
                  continuingSubwordPrefix: prefix, maxInputCharsPerWord: maxChars, maxLength: maxLength,
                  specialTokens: special, addBOS: flags & 8 != 0, addEOS: flags & 16 != 0, chatTemplate: template,
                  scores: scores, addSpacePrefix: flags & 32 != 0, chatTemplateBuiltIn: builtIn)
    }
}
