// HuggingFaceTokenizer: the TokenizerSpec of a Hugging Face model folder, from its own files:
// - `tokenizer.model` (a SentencePiece BPE model protobuf: pieces, scores, types; identity
//   normalisation) when present — Gemma, LLaMA-2 style — else
// - `tokenizer.json` with a BPE model: byte-level (the `ByteLevel` pre-tokenizer; the qwen2,
//   llama-bpe, gpt2 and smollm (digits alone, then gpt2) splits) or SentencePiece-style (`byte_fallback`,
//   `▁` for spaces from a Replace/Prepend normaliser — then a Split at " " is a no-op — or a
//   Metaspace pre-tokenizer). Such a model
//   has merges, not scores: each piece gets score −(rank of the first merge making it), so the
//   highest-scoring pair is the lowest-ranked merge; a pair whose concatenation is a piece but
//   not a listed merge is merged too (SentencePiece's rule), which tokenizers would not do.
// Settings from `tokenizer_config.json`: add_bos_token / add_eos_token, the bos/eos/pad/unk
// tokens, `chat_template` (or `chat_template.jinja`); the length limit from
// sentence_bert_config.json's max_seq_length, else the model's context. Added tokens become
// control (special) or user-defined (matched verbatim) tokens. Unigram and WordPiece models,
// other normalisers and pre-tokenizers are refused naming the field. It does not encode text.

import IngotCore

public enum HuggingFaceTokenizer {
    /// The tokenizer of a Hugging Face decoder folder (llama, qwen2, gemma3_text), from its
    /// config.json (family, context length) and tokenizer files alone; no weights are read.
    public static func spec(folder: String) throws -> TokenizerSpec? {
        var config = try ConfigFile(path: folder + "/config.json")
        let modelType = config.string("model_type")
        let context = config.int("max_position_embeddings")
        try config.finish()
        guard let arch = DecoderArchitecture.huggingFace(modelType: modelType) else {
            throw IngotError(.unsupported, file: config.path, location: "model_type",
                             "value \"\(modelType)\", expected one of \(DecoderArchitecture.all.flatMap(\.huggingFaceModelTypes).map { "\"\($0)\"" }.joined(separator: ", "))")
        }
        let bidirectional = config.bool("use_bidirectional_attention", default: false)
        return try spec(directory: folder, contextLength: context, architecture: bidirectional ? nil : arch.name)
    }

    /// nil when the folder has neither tokenizer.model nor tokenizer.json. `architecture` picks
    /// a built-in chat template when the folder has none (nil: no template, e.g. an encoder).
    static func spec(directory: String, contextLength: Int, architecture: String?) throws -> TokenizerSpec? {
        let settings = try Settings(directory: directory)
        var spec: TokenizerSpec
        var file: String
        if fileExists(directory + "/tokenizer.model") {
            file = directory + "/tokenizer.model"
            spec = try sentencePieceModel(path: file, settings: settings)
        } else if fileExists(directory + "/tokenizer.json") {
            file = directory + "/tokenizer.json"
            spec = try tokenizerJSON(path: file, settings: settings)
        } else {
            return nil
        }
        var maxLength = contextLength
        let stPath = directory + "/sentence_bert_config.json"
        if fileExists(stPath) {
            var cfg = try ConfigFile(path: stPath)
            maxLength = min(cfg.int("max_seq_length", range: 1...TokenizerSpec.maxLengthLimit), contextLength)
            try cfg.finish()
        }
        spec.maxLength = min(max(maxLength, 1), TokenizerSpec.maxLengthLimit)
        // Special tokens named by tokenizer_config.json override the model file's.
        let index = vocabularyIndex(spec.tokens)
        for (key, content) in settings.specialTokens.sorted(by: { $0.key < $1.key }) {
            guard let id = index[Array(content.utf8)] else {
                throw IngotError(.format, file: settings.path, location: "\(key)_token",
                                 "value \"\(content)\", expected a token of \(file)")
            }
            spec.specialTokens[key] = id
        }
        if let bos = settings.addBOS { spec.addBOS = bos }
        if let eos = settings.addEOS { spec.addEOS = eos }
        if spec.addBOS, spec.specialTokens["bos"] == nil {
            throw IngotError(.format, file: settings.path, location: "add_bos_token", "true, but no bos token is named")
        }
        if spec.addEOS, spec.specialTokens["eos"] == nil {
            throw IngotError(.format, file: settings.path, location: "add_eos_token", "true, but no eos token is named")
        }
        spec.chatTemplate = settings.chatTemplate
        if spec.chatTemplate == nil, let architecture, let family = GGUFTokenizer.builtInFamily(architecture: architecture) {
            spec.chatTemplate = family.template
            spec.chatTemplateBuiltIn = family.name
        }
        try spec.checkEncodable(file: file)
        return spec
    }

    /// UTF-8 bytes → first id: by code points, since String keys would merge canonically
    /// equivalent pieces (a vocabulary may hold the composed and the decomposed spelling).
    static func vocabularyIndex(_ tokens: [String]) -> [[UInt8]: Int32] {
        var index: [[UInt8]: Int32] = [:]
        index.reserveCapacity(tokens.count)
        for (i, t) in tokens.enumerated() where index[Array(t.utf8)] == nil { index[Array(t.utf8)] = Int32(i) }
        return index
    }

    // MARK: tokenizer_config.json

    struct Settings {
        var path: String?
        var addBOS: Bool?
        var addEOS: Bool?
        /// "bos", "eos", "pad", "unk" → token text.
        var specialTokens: [String: String] = [:]
        var chatTemplate: String?

        init(directory: String) throws {
            let configPath = directory + "/tokenizer_config.json"
            if fileExists(configPath) {
                path = configPath
                let cfg = try ConfigFile(path: configPath)
                for key in ["add_bos_token", "add_eos_token"] {
                    guard let v = cfg.raw(key), v != .null else { continue }
                    guard let b = v.bool else {
                        throw IngotError(.format, file: configPath, location: key, "value \(v.serialized(pretty: false)), expected true or false")
                    }
                    if key == "add_bos_token" { addBOS = b } else { addEOS = b }
                }
                for key in ["bos", "eos", "pad", "unk"] {
                    guard let v = cfg.raw(key + "_token"), v != .null else { continue }
                    guard let content = v.string ?? v["content"]?.string else {
                        throw IngotError(.format, file: configPath, location: key + "_token",
                                         "value \(v.serialized(pretty: false)), expected a string or {\"content\": …}")
                    }
                    specialTokens[key] = content
                }
                if let t = cfg.raw("chat_template"), t != .null {
                    if let s = t.string {
                        chatTemplate = s
                    } else if let list = t.array,
                              let s = list.first(where: { $0["name"]?.string == "default" })?["template"]?.string {
                        chatTemplate = s
                    } else {
                        throw IngotError(.format, file: configPath, location: "chat_template",
                                         "expected a string, or a list of {\"name\", \"template\"} with a \"default\" one")
                    }
                }
            }
            let jinja = directory + "/chat_template.jinja"
            if chatTemplate == nil, fileExists(jinja) {
                let file = try MappedFile(path: jinja)
                guard let text = String(validating: file.bytes.bindMemory(to: UInt8.self), as: UTF8.self) else {
                    throw IngotError(.format, file: jinja, "not valid UTF-8")
                }
                chatTemplate = text
            }
        }
    }

    // MARK: tokenizer.model (SentencePiece ModelProto)

    /// Pieces (field 1: piece 1, score 2, type 3), trainer_spec (field 2: model_type 3,
    /// unk_id 40, bos_id 41, eos_id 42, pad_id 43), normalizer_spec (field 3: name 1,
    /// add_dummy_prefix 3, remove_extra_whitespaces 4).
    static func sentencePieceModel(path: String, settings: Settings) throws -> TokenizerSpec {
        let file = try MappedFile(path: path)
        defer { withExtendedLifetime(file) {} }
        var top = Protobuf(file.bytes, file: path, context: "ModelProto")
        var tokens: [String] = [], scores: [Float] = [], types: [Int32] = []
        var modelType: UInt64 = 1
        var ids: [String: Int64] = ["unk": 0, "bos": 1, "eos": 2, "pad": -1]
        var normalizer = "identity"
        var addDummyPrefix = true, removeExtraWhitespace = true
        while let (field, value) = try top.next() {
            switch (field, value) {
            case (1, .bytes(let bytes)):
                var piece = Protobuf(bytes, file: path, context: "pieces[\(tokens.count)]")
                var text = "", score: Float = 0, type: Int32 = 1
                while let (f, v) = try piece.next() {
                    switch (f, v) {
                    case (1, .bytes(let b)): text = try piece.string(b, "piece")
                    case (2, .fixed32(let bits)): score = Float(bitPattern: bits)
                    case (3, .varint(let t)):
                        guard (1...6).contains(t) else {
                            throw IngotError.badField(file: path, "pieces[\(tokens.count)].type", seen: String(t), expected: "1…6")
                        }
                        type = Int32(t)
                    default: break
                    }
                }
                guard score.isFinite else {
                    throw IngotError.badField(file: path, "pieces[\(tokens.count)].score", seen: "\(score)", expected: "a finite number")
                }
                tokens.append(text)
                scores.append(score)
                types.append(type)
            case (2, .bytes(let bytes)):
                var trainer = Protobuf(bytes, file: path, context: "trainer_spec")
                while let (f, v) = try trainer.next() {
                    guard case .varint(let n) = v else { continue }
                    switch f {
                    case 3: modelType = n
                    case 40: ids["unk"] = Int64(bitPattern: n)
                    case 41: ids["bos"] = Int64(bitPattern: n)
                    case 42: ids["eos"] = Int64(bitPattern: n)
                    case 43: ids["pad"] = Int64(bitPattern: n)
                    default: break
                    }
                }
            case (3, .bytes(let bytes)):
                var spec = Protobuf(bytes, file: path, context: "normalizer_spec")
                while let (f, v) = try spec.next() {
                    switch (f, v) {
                    case (1, .bytes(let b)): normalizer = try spec.string(b, "name")
                    case (3, .varint(let n)): addDummyPrefix = n != 0
                    case (4, .varint(let n)): removeExtraWhitespace = n != 0
                    default: break
                    }
                }
            default: break
            }
        }
        // trainer_spec.model_type: 1 unigram, 2 bpe, 3 word, 4 char.
        guard modelType == 2 else {
            throw IngotError(.unsupported, file: path, location: "trainer_spec.model_type",
                             "value \(modelType), expected 2 (BPE; Ingot's SentencePiece tokenizer merges pairs by score, not Unigram's Viterbi)")
        }
        guard normalizer == "identity", !removeExtraWhitespace else {
            throw IngotError(.unsupported, file: path, location: "normalizer_spec",
                             "name \"\(normalizer)\", remove_extra_whitespaces \(removeExtraWhitespace); expected \"identity\" and false (Ingot does no normalisation)")
        }
        guard !tokens.isEmpty, tokens.count <= TokenizerSpec.maxTokens else {
            throw IngotError.badField(file: path, "pieces", seen: String(tokens.count), expected: "1…\(TokenizerSpec.maxTokens) pieces")
        }
        // User-defined pieces are matched in the raw text, where a space is a space.
        for i in types.indices where types[i] == 4 {
            tokens[i] = String(String.UnicodeScalarView(tokens[i].unicodeScalars.map { $0 == "\u{2581}" ? " " : $0 }))
        }
        var special: [String: Int32] = [:]
        for (key, id) in ids where id >= 0 && id < Int64(tokens.count) { special[key] = Int32(id) }
        return TokenizerSpec(kind: .sentencePiece, tokens: tokens, merges: [], tokenTypes: types, preTokenizer: "default",
                             lowercase: false, stripAccents: false, splitCJK: false, continuingSubwordPrefix: "",
                             maxInputCharsPerWord: 0, maxLength: TokenizerSpec.maxLengthLimit, specialTokens: special,
                             addBOS: true, addEOS: false, chatTemplate: nil, scores: scores, addSpacePrefix: addDummyPrefix)
    }

    // MARK: tokenizer.json

    static let qwen2Pattern = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    static let llama3Pattern = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

    static func tokenizerJSON(path: String, settings: Settings) throws -> TokenizerSpec {
        let file = try MappedFile(path: path)
        let root = try JSONValue.parse(file.bytes, file: path)
        guard let model = root["model"], model.object != nil else {
            throw IngotError(.format, file: path, location: "model", "missing, expected an object")
        }
        let type = model["type"]?.string ?? "BPE"
        guard type == "BPE" else {
            throw IngotError(.unsupported, file: path, location: "model.type",
                             "value \"\(type)\", expected \"BPE\" (Unigram and WordPiece tokenizer.json models are not read)")
        }
        guard let vocab = model["vocab"]?.object else {
            throw IngotError(.format, file: path, location: "model.vocab", "missing, expected an object of token → id")
        }
        var byID: [Int: String] = [:]
        for (token, v) in vocab {
            guard let id = v.int, id >= 0, id < TokenizerSpec.maxTokens else {
                throw IngotError.badField(file: path, "model.vocab[\"\(token)\"]", seen: v.serialized(pretty: false),
                                          expected: "an id in 0..<\(TokenizerSpec.maxTokens)")
            }
            byID[id] = token
        }
        var addedTypes: [Int: Int32] = [:]
        for (i, a) in (root["added_tokens"]?.array ?? []).enumerated() {
            guard let id = a["id"]?.int, id >= 0, id < TokenizerSpec.maxTokens, let content = a["content"]?.string else {
                throw IngotError(.format, file: path, location: "added_tokens[\(i)]", "expected {\"id\", \"content\", …} with an id in 0..<\(TokenizerSpec.maxTokens)")
            }
            if let existing = byID[id], !existing.utf8.elementsEqual(content.utf8) {
                throw IngotError(.format, file: path, location: "added_tokens[\(i)]",
                                 "id \(id) is \"\(content)\" here and \"\(existing)\" in model.vocab")
            }
            byID[id] = content
            addedTypes[id] = a["special"]?.bool == true ? 3 : 4
        }
        let count = (byID.keys.max() ?? -1) + 1
        var tokens: [String] = []
        tokens.reserveCapacity(count)
        for id in 0..<count {
            guard let t = byID[id] else {
                throw IngotError(.format, file: path, location: "model.vocab", "no token has id \(id); expected ids 0..<\(count) without gaps")
            }
            tokens.append(t)
        }
        // Pairs split at the first U+0020 byte: a Character search would miss a space followed by
        // a combining mark ("▁ह ै"), which Swift reads as one grapheme.
        var pairs: [(String, String)] = []
        for (i, m) in (model["merges"]?.array ?? []).enumerated() {
            if let s = m.string, let space = s.utf8.firstIndex(of: 0x20) {
                pairs.append((String(decoding: s.utf8[..<space], as: UTF8.self),
                              String(decoding: s.utf8[s.utf8.index(after: space)...], as: UTF8.self)))
            } else if let pair = m.array, pair.count == 2, let a = pair[0].string, let b = pair[1].string {
                pairs.append((a, b))
            } else {
                throw IngotError(.format, file: path, location: "model.merges[\(i)]", "value \(m.serialized(pretty: false)), expected \"a b\" or [\"a\", \"b\"]")
            }
        }
        let pre = root["pre_tokenizer"] ?? .null
        let normalizer = root["normalizer"] ?? .null
        func steps(_ v: JSONValue) -> [JSONValue] {
            if v == .null { return [] }
            if v["type"]?.string == "Sequence" { return (v["pretokenizers"] ?? v["normalizers"])?.array ?? [] }
            return [v]
        }
        let preSteps = steps(pre)
        let describe = { (v: JSONValue) -> String in
            let s = v.serialized(pretty: false)
            return s.count > 300 ? String(s.prefix(300)) + "…" : s
        }
        var types = (0..<count).map { addedTypes[$0] ?? 1 }
        var special: [String: Int32] = [:]
        if let unk = model["unk_token"]?.string, let id = tokens.firstIndex(where: { $0.utf8.elementsEqual(unk.utf8) }) { special["unk"] = Int32(id) }

        if preSteps.contains(where: { $0["type"]?.string == "ByteLevel" }) {
            let names = preSteps.map { $0["type"]?.string ?? "?" }
            let preName: String
            if names == ["Split", "ByteLevel"], preSteps[1]["use_regex"]?.bool == false,
               let regex = preSteps[0]["pattern"]?["Regex"]?.string {
                switch regex {
                case qwen2Pattern: preName = "qwen2"
                case llama3Pattern: preName = "llama-bpe"
                default:
                    throw IngotError(.unsupported, file: path, location: "pre_tokenizer",
                                     "Split pattern \(describe(.string(regex))), expected the qwen2 or LLaMA-3 pattern")
                }
            } else if names == ["ByteLevel"], preSteps[0]["use_regex"]?.bool != false {
                preName = "gpt2"
            } else if names == ["Digits", "ByteLevel"], preSteps[0]["individual_digits"]?.bool == true,
                      preSteps[1]["use_regex"]?.bool != false {
                preName = "smollm"
            } else {
                throw IngotError(.unsupported, file: path, location: "pre_tokenizer",
                                 "value \(describe(pre)), expected ByteLevel (gpt2), Digits(individual) + ByteLevel (smollm) or Split(qwen2 or LLaMA-3 pattern) + ByteLevel")
            }
            guard normalizer == .null || steps(normalizer).allSatisfy({ $0["type"]?.string == "NFC" }) else {
                throw IngotError(.unsupported, file: path, location: "normalizer", "value \(describe(normalizer)), expected null or NFC")
            }
            return TokenizerSpec(kind: .byteLevelBPE, tokens: tokens, merges: pairs.map { $0.0 + " " + $0.1 }, tokenTypes: types, preTokenizer: preName,
                                 lowercase: false, stripAccents: false, splitCJK: false, continuingSubwordPrefix: "",
                                 maxInputCharsPerWord: 0, maxLength: TokenizerSpec.maxLengthLimit, specialTokens: special,
                                 addBOS: false, addEOS: false, chatTemplate: nil)
        }

        guard model["byte_fallback"]?.bool == true else {
            throw IngotError(.unsupported, file: path, location: "model.byte_fallback",
                             "value \(model["byte_fallback"]?.serialized(pretty: false) ?? "missing") with pre_tokenizer \(describe(pre)); expected a ByteLevel pre-tokenizer or byte_fallback true (SentencePiece-style)")
        }
        // SentencePiece-style: spaces become ▁ by a Replace normaliser or a Metaspace pre-tokenizer.
        var spaceToMeta = false, prefix = false
        for n in steps(normalizer) {
            switch n["type"]?.string ?? "" {
            case "Replace" where n["pattern"]?["String"]?.string == " " && n["content"]?.string == "\u{2581}": spaceToMeta = true
            case "Prepend" where n["prepend"]?.string == "\u{2581}": prefix = true
            default:
                throw IngotError(.unsupported, file: path, location: "normalizer",
                                 "step \(describe(n)), expected Replace(\" \" → \"▁\") or Prepend(\"▁\")")
            }
        }
        let normalizedSpaces = spaceToMeta
        for p in preSteps {
            // Splitting at " " after a normaliser turned every space into ▁ splits nothing (Gemma).
            if normalizedSpaces, p["type"]?.string == "Split", p["pattern"]?["String"]?.string == " " { continue }
            guard p["type"]?.string == "Metaspace", p["replacement"]?.string == "\u{2581}", p["split"]?.bool == false else {
                throw IngotError(.unsupported, file: path, location: "pre_tokenizer",
                                 "step \(describe(p)), expected none or Metaspace(\"▁\", split false) for a SentencePiece-style BPE")
            }
            spaceToMeta = true
            prefix = (p["prepend_scheme"]?.string ?? "always") != "never"
        }
        guard spaceToMeta else {
            throw IngotError(.unsupported, file: path, location: "normalizer",
                             "value \(describe(normalizer)): spaces are not turned into ▁, as a SentencePiece-style BPE expects")
        }
        // Scores from merge ranks: the first merge producing a piece ranks it.
        var scores = [Float](repeating: 0, count: count)
        var ranked = [Bool](repeating: false, count: count)
        let index = vocabularyIndex(tokens)
        for (rank, (a, b)) in pairs.enumerated() {
            guard let id = index[Array(a.utf8) + Array(b.utf8)] else {
                throw IngotError(.format, file: path, location: "model.merges[\(rank)]", "\"\(a) \(b)\" makes \"\(a + b)\", which is not in model.vocab")
            }
            if !ranked[Int(id)] {
                scores[Int(id)] = -Float(rank + 1)
                ranked[Int(id)] = true
            }
        }
        // Unranked multi-character pieces merge last, never before a listed merge.
        let floor = -Float(pairs.count + 1)
        for i in 0..<count where !ranked[i] && tokens[i].unicodeScalars.count > 1 { scores[i] = floor }
        for i in 0..<count where types[i] == 1 && SentencePieceByte.isByteToken(tokens[i]) { types[i] = 6 }
        if let unk = special["unk"] { types[Int(unk)] = 2 }
        // Added (user-defined) tokens are matched in the raw text, where a space is a space.
        for i in 0..<count where types[i] == 4 {
            tokens[i] = String(String.UnicodeScalarView(tokens[i].unicodeScalars.map { $0 == "\u{2581}" ? " " : $0 }))
        }
        return TokenizerSpec(kind: .sentencePiece, tokens: tokens, merges: [], tokenTypes: types, preTokenizer: "default",
                             lowercase: false, stripAccents: false, splitCJK: false, continuingSubwordPrefix: "",
                             maxInputCharsPerWord: 0, maxLength: TokenizerSpec.maxLengthLimit, specialTokens: special,
                             addBOS: true, addEOS: false, chatTemplate: nil, scores: scores, addSpacePrefix: prefix)
    }
}

enum SentencePieceByte {
    /// `<0xNN>` with two upper-case hex digits.
    static func isByteToken(_ t: String) -> Bool {
        let u = Array(t.utf8)
        func hex(_ c: UInt8) -> Bool { (0x30...0x39).contains(c) || (0x41...0x46).contains(c) }
        return u.count == 6 && u[0] == 0x3C && u[1] == 0x30 && u[2] == 0x78 && hex(u[3]) && hex(u[4]) && u[5] == 0x3E
    }
}

/// A protobuf message's fields in order: varint, fixed 32/64-bit and length-delimited values;
/// groups (wire types 3, 4) are refused. Errors name the file and the message.
struct Protobuf {
    enum Value {
        case varint(UInt64)
        case fixed64(UInt64)
        case bytes(UnsafeRawBufferPointer)
        case fixed32(UInt32)
    }

    let data: UnsafeRawBufferPointer
    let file: String
    let context: String
    var offset = 0

    init(_ data: UnsafeRawBufferPointer, file: String, context: String) {
        self.data = data
        self.file = file
        self.context = context
    }

    func fail(_ what: String) -> IngotError {
        IngotError(.format, file: file, location: "\(context) at byte \(offset)", what)
    }

    mutating func varint() throws -> UInt64 {
        var result: UInt64 = 0, shift: UInt64 = 0
        while true {
            guard offset < data.count else { throw fail("truncated varint") }
            let b = data[offset]
            offset += 1
            guard shift < 64 else { throw fail("varint longer than 10 bytes") }
            result |= UInt64(b & 0x7F) << shift
            if b & 0x80 == 0 { return result }
            shift += 7
        }
    }

    mutating func next() throws -> (Int, Value)? {
        guard offset < data.count else { return nil }
        let key = try varint()
        let field = Int(truncatingIfNeeded: key >> 3)
        switch key & 7 {
        case 0: return (field, .varint(try varint()))
        case 1:
            guard data.count - offset >= 8 else { throw fail("truncated 64-bit field \(field)") }
            var v: UInt64 = 0
            for i in 0..<8 { v |= UInt64(data[offset + i]) << (8 * UInt64(i)) }
            offset += 8
            return (field, .fixed64(v))
        case 2:
            let n = try varint()
            guard n <= UInt64(data.count - offset) else { throw fail("field \(field): length \(n) runs past the end (\(data.count - offset) bytes left)") }
            let slice = UnsafeRawBufferPointer(rebasing: data[offset..<(offset + Int(n))])
            offset += Int(n)
            return (field, .bytes(slice))
        case 5:
            guard data.count - offset >= 4 else { throw fail("truncated 32-bit field \(field)") }
            var v: UInt32 = 0
            for i in 0..<4 { v |= UInt32(data[offset + i]) << (8 * UInt32(i)) }
            offset += 4
            return (field, .fixed32(v))
        default:
            throw fail("wire type \(key & 7) of field \(field), expected 0, 1, 2 or 5")
        }
    }

    func string(_ bytes: UnsafeRawBufferPointer, _ name: String) throws -> String {
        guard let s = String(validating: bytes.bindMemory(to: UInt8.self), as: UTF8.self) else {
            throw fail("\(name) is not valid UTF-8")
        }
        return s
    }
}
