// Fuzz target: the two real tokenizers encoding arbitrary text (the input bytes decoded as
// UTF-8, invalid sequences replaced): all-MiniLM-L6-v2's WordPiece (from its vocab.txt and
// tokenizer_config.json) and SmolLM2's byte-level BPE (from its GGUF metadata), read from
// $INGOT_MODELS (default .cache/models, as scripts/setup.sh leaves them). Beyond not crashing:
// ids stay inside the vocabulary; WordPiece output is [CLS] … [SEP] within max_length; BPE
// without special-token parsing decodes back to the exact bytes of the text, less those whose
// byte symbol the vocabulary lacks.
import FuzzSupport
import IngotCheckpoint
import IngotCore
@testable import IngotImport
@testable import IngotRuntime

#if canImport(Glibc)
import Glibc
#endif

let models = getenv("INGOT_MODELS").map { String(cString: $0) } ?? ".cache/models"

func loadTokenizers() throws -> (wordPiece: any Tokenizer, bpe: ByteLevelBPETokenizer) {
    let miniLM = models + "/all-MiniLM-L6-v2"
    guard let wordPieceSpec = try EncoderImporter.wordPieceTokenizer(directory: miniLM, maxPositions: 512) else {
        throw IngotError(.io, file: miniLM + "/vocab.txt", "missing")
    }
    let gguf = try GGUFFile(path: models + "/SmolLM2-135M-Instruct.Q4_1.gguf")
    guard let bpeSpec = try GGUFTokenizer.spec(gguf, contextLength: 8192) else {
        throw IngotError(.format, file: gguf.path, "no tokenizer")
    }
    return (try makeTokenizer(wordPieceSpec), try ByteLevelBPETokenizer(bpeSpec))
}

let tokenizers: (wordPiece: any Tokenizer, bpe: ByteLevelBPETokenizer)
do {
    tokenizers = try loadTokenizers()
} catch {
    fputs("fuzz-encode: cannot load the real tokenizers from \(models) (run scripts/setup.sh or set INGOT_MODELS): \(error)\n", stderr)
    exit(2)
}
/// Bytes whose byte-level symbol SmolLM2's vocabulary lacks (21 of them: 0x04, 0x06, 0xC0,
/// 0xC1, 0xF1…0xFF among them, so characters U+40000… cannot be encoded whole): BPE drops
/// them, as Hugging Face's BPE without an unknown token does.
let unrepresentable = Set((0..<256).filter { tokenizers.bpe.vocab[String(tokenizers.bpe.byteToScalar[$0])] == nil }.map(UInt8.init))
let cls = tokenizers.wordPiece.spec.specialTokens["cls"]!
let sep = tokenizers.wordPiece.spec.specialTokens["sep"]!

Fuzz.run { bytes in
    let text = String(decoding: bytes, as: UTF8.self)
    Fuzz.exercise(tokenizers.wordPiece, text: text)
    Fuzz.exercise(tokenizers.bpe, text: text)

    let pieces = tokenizers.wordPiece.encode(text, addSpecialTokens: true)
    guard pieces.first == cls, pieces.last == sep, pieces.count <= tokenizers.wordPiece.spec.maxLength else {
        fatalError("WordPiece: \(pieces.count) ids from \(pieces.first ?? -1) to \(pieces.last ?? -1), expected [CLS] … [SEP] within \(tokenizers.wordPiece.spec.maxLength)")
    }
    // Compared as token bytes: decode() makes a String, which would replace the continuation
    // bytes left by a dropped lead byte with U+FFFD.
    let ids = tokenizers.bpe.encode(text, addSpecialTokens: false, parseSpecial: false)
    let decoded = ids.flatMap { tokenizers.bpe.tokenBytes($0) }
    let kept = Array(text.utf8).filter { !unrepresentable.contains($0) }
    guard decoded == kept else {
        fatalError("BPE: \(Array(text.utf8)) encodes to \(ids), whose bytes are \(decoded), expected \(kept)")
    }
}
