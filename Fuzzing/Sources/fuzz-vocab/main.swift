// Fuzz target: the WordPiece vocabulary reader of the BERT importer (vocab.txt: UTF-8 check,
// one token per line, the required [UNK] [CLS] [SEP] [PAD]), then the tokenizer built from it
// encoding and decoding sample text. (Ingot reads no tokenizer.json: BERT tokenizers come
// from vocab.txt and tokenizer_config.json, LLaMA ones from GGUF metadata.)
import FuzzSupport
@testable import IngotImport
import IngotRuntime

let vocabPath = Scratch.file("model/vocab.txt")
let directory = String(vocabPath.dropLast("/vocab.txt".count))

Fuzz.run { bytes in
    Scratch.write(bytes, to: vocabPath)
    guard let spec = Fuzz.reading("vocab.txt", file: vocabPath, { try EncoderImporter.wordPieceTokenizer(directory: directory, maxPositions: 512) }) ?? nil,
          let tokenizer = Fuzz.reading("tokenizer", file: nil, { try makeTokenizer(spec) }) else { return }
    Fuzz.exercise(tokenizer, text: Fuzz.sampleText)
}
