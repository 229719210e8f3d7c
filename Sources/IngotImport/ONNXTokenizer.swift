// ONNXTokenizer: the tokenizer an ONNX encoder is built with, since ONNX files carry none —
// a WordPiece vocab.txt (with tokenizer_config.json beside it when present), a Hugging Face
// tokenizer.json whose model is WordPiece, or a Hugging Face / sentence-transformers folder
// (its vocabulary, and its modules.json pipeline when it has one: pooling, Dense, Normalize).
// It does not read BPE or Unigram tokenizer.json files (refused, naming the model type).

import IngotCore
import IngotIR

enum ONNXTokenizer {
    struct Loaded {
        var spec: TokenizerSpec
        var pipeline: SentenceTransformersPipeline?
        var files: [String]
    }

    static func load(_ path: String, hidden: Int, maxPositions: Int?) throws -> Loaded {
        let limit = maxPositions ?? 512
        if path.hasSuffix(".json") { return Loaded(spec: try tokenizerJSON(path, maxPositions: limit), pipeline: nil, files: [path]) }
        if path.hasSuffix(".txt") {
            guard path.hasSuffix("/vocab.txt") || path == "vocab.txt" else {
                throw IngotError(.invalidArgument, file: path, location: "--tokenizer", "a .txt vocabulary must be named vocab.txt (its folder may hold tokenizer_config.json)")
            }
            guard let spec = try EncoderImporter.wordPieceTokenizer(directory: parentDirectory(of: path), maxPositions: limit) else {
                throw IngotError(.io, file: path, "cannot be opened")
            }
            return Loaded(spec: spec, pipeline: nil, files: [path])
        }
        // A folder.
        if fileExists(path + "/vocab.txt"), let spec = try EncoderImporter.wordPieceTokenizer(directory: path, maxPositions: limit) {
            let pipeline = try SentenceTransformersPipeline.read(directory: path, hidden: hidden)
            return Loaded(spec: spec, pipeline: pipeline, files: [path + "/vocab.txt"])
        }
        if fileExists(path + "/tokenizer.json") {
            let pipeline = try SentenceTransformersPipeline.read(directory: path, hidden: hidden)
            return Loaded(spec: try tokenizerJSON(path + "/tokenizer.json", maxPositions: limit), pipeline: pipeline, files: [path + "/tokenizer.json"])
        }
        throw IngotError(.invalidArgument, file: path, location: "--tokenizer",
                         "not a vocab.txt, a tokenizer.json or a folder holding one of them")
    }

    /// A WordPiece tokenizer.json (BertNormalizer, BertPreTokenizer).
    static func tokenizerJSON(_ path: String, maxPositions: Int) throws -> TokenizerSpec {
        let file = try MappedFile(path: path)
        let root = try JSONValue.parse(file.bytes, file: path)
        guard let model = root["model"], model["type"]?.string == "WordPiece" else {
            throw IngotError(.unsupported, file: path, location: "model.type",
                             "value \(root["model"]?["type"]?.serialized() ?? "missing"), expected \"WordPiece\" (BERT-style vocabularies only)")
        }
        guard let vocab = model["vocab"]?.object, !vocab.isEmpty else {
            throw IngotError(.format, file: path, location: "model.vocab", "missing or empty; expected {token: id}")
        }
        guard vocab.count <= TokenizerSpec.maxTokens else {
            throw IngotError(.format, file: path, location: "model.vocab", "\(vocab.count) tokens, expected at most \(TokenizerSpec.maxTokens)")
        }
        var tokens = [String?](repeating: nil, count: vocab.count)
        for (token, idValue) in vocab {
            guard let id = idValue.int, id >= 0, id < vocab.count, tokens[id] == nil else {
                throw IngotError(.format, file: path, location: "model.vocab[\"\(token)\"]",
                                 "id \(idValue.serialized()), expected a unique id in 0..<\(vocab.count)")
            }
            guard token.utf8.count <= TokenizerSpec.maxTokenBytes else {
                throw IngotError(.format, file: path, location: "model.vocab", "a token of \(token.utf8.count) bytes, expected at most \(TokenizerSpec.maxTokenBytes)")
            }
            tokens[id] = token
        }
        let list = tokens.map { $0! }
        let normalizer = root["normalizer"]
        if let type = normalizer?["type"]?.string, type != "BertNormalizer" {
            throw IngotError(.unsupported, file: path, location: "normalizer.type", "value \"\(type)\", expected \"BertNormalizer\"")
        }
        let lowercase = normalizer?["lowercase"]?.bool ?? true
        let stripAccents = normalizer?["strip_accents"]?.bool ?? lowercase
        let splitCJK = normalizer?["handle_chinese_chars"]?.bool ?? true
        let prefix = model["continuing_subword_prefix"]?.string ?? "##"
        let maxChars = model["max_input_chars_per_word"]?.int ?? 100
        var maxLength = maxPositions
        if let m = root["truncation"]?["max_length"]?.int, m >= 2 { maxLength = min(m, maxPositions) }
        var special: [String: Int32] = [:]
        for (key, token) in [("unk", model["unk_token"]?.string ?? "[UNK]"), ("cls", "[CLS]"), ("sep", "[SEP]"), ("pad", "[PAD]"), ("mask", "[MASK]")] {
            if let id = list.firstIndex(of: token) { special[key] = Int32(id) }
        }
        for required in ["unk", "cls", "sep", "pad"] where special[required] == nil {
            throw IngotError(.format, file: path, location: "model.vocab", "no \(required) token ([\(required.uppercased())])")
        }
        return TokenizerSpec(
            kind: .wordPiece, tokens: list, merges: [], tokenTypes: [], preTokenizer: "bert",
            lowercase: lowercase, stripAccents: stripAccents, splitCJK: splitCJK,
            continuingSubwordPrefix: prefix, maxInputCharsPerWord: maxChars, maxLength: maxLength,
            specialTokens: special, addBOS: false, addEOS: false, chatTemplate: nil)
    }
}
