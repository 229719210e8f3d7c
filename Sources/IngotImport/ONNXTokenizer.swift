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

    /// A WordPiece tokenizer.json (BertNormalizer), read as an encoder folder's is
    /// (EncoderImporter.tokenizerJSONWordPiece); BPE and Unigram models are refused by name.
    static func tokenizerJSON(_ path: String, maxPositions: Int) throws -> TokenizerSpec {
        if let spec = try EncoderImporter.tokenizerJSONWordPiece(path: path, configDirectory: parentDirectory(of: path),
                                                                 maxPositions: maxPositions) {
            return spec
        }
        let root = try JSONValue.parse(try MappedFile(path: path).bytes, file: path)
        throw IngotError(.unsupported, file: path, location: "model.type",
                         "value \(root["model"]?["type"]?.serialized() ?? "missing"), expected \"WordPiece\" (BERT-style vocabularies only)")
    }
}
