// The zoo encoders against their references (Fixtures/reference/zoo/<model>/dev, cut from
// ../shared/reference/zoo): all-mpnet-base-v2 (Hugging Face folder: relative attention bias,
// positions past the padding row, `<s> … </s>` WordPiece) and nomic-embed-text-v1.5 (F16 GGUF:
// rotary positions, SwiGLU, fused q/k/v, vocabulary in llama.cpp form, pooling from metadata).
// Token ids of all 300 dev sentences, embeddings of all 300 (each run alone) and the last hidden
// states of sentences 0…3, within ../shared/reference/ZOO.md §5; a padded batch gives what each
// sentence gives alone. Each class builds its float32 artifact once. Missing models skip locally
// and fail under CI=true.
import Foundation
import XCTest
import IngotCheckpoint
import IngotCore
import IngotTestSupport
@testable import IngotImport
@testable import IngotRuntime

enum EncoderZoo {
    static func sentences() throws -> [String] {
        let text = try String(contentsOf: TestPaths.fixtures.appendingPathComponent("eval/minilm-dev-sentences.txt"), encoding: .utf8)
        return text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init).filter { !$0.isEmpty }
    }

    static func referenceIDs(_ model: String) throws -> [[Int32]] {
        try readJSONL(try referenceFile("zoo/\(model)/dev/tokens.jsonl")).map { row in (row["input_ids"]?.array ?? []).map { Int32($0.int!) } }
    }

    static func reference(_ model: String) throws -> SafetensorsCheckpoint {
        try SafetensorsCheckpoint(path: try referenceFile("zoo/\(model)/dev/reference.safetensors").path)
    }

    static func checkTokenIDs(_ encoder: Encoder, _ model: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let sentences = try sentences(), expected = try referenceIDs(model)
        XCTAssertEqual(sentences.count, 300, file: file, line: line)
        XCTAssertEqual(expected.count, 300, file: file, line: line)
        var wrong: [Int] = []
        for (i, s) in sentences.enumerated() where try encoder.tokenize(s) != expected[i] { wrong.append(i) }
        XCTAssertEqual(wrong, [], "sentences whose ids differ from the reference", file: file, line: line)
    }

    /// Every sentence alone against `name` [300, D]: worst cosine and max abs error.
    static func embeddingErrors(_ encoder: Encoder, _ model: String, _ name: String) throws -> (cosine: Double, maxAbs: Float) {
        let ids = try referenceIDs(model)
        let expected = try referenceFloats(try reference(model), name)
        let width = expected.count / ids.count
        var worst = 1.0, maxAbs: Float = 0
        for (i, row) in ids.enumerated() {
            let got = try encoder.embed(ids: [row])[0]
            let ref = Array(expected[(i * width)..<((i + 1) * width)])
            worst = min(worst, cosine(got, ref))
            maxAbs = max(maxAbs, zip(got, ref).map { abs($0 - $1) }.max()!)
        }
        print("\(model) \(name): worst cosine \(worst), max abs \(maxAbs) over \(ids.count) sentences")
        return (worst, maxAbs)
    }

    /// Max abs error of the last hidden state of sentences 0…3 alone against `prefix`_i.
    static func hiddenError(_ encoder: Encoder, _ model: String, _ prefix: String) throws -> Float {
        let reference = try reference(model)
        var worst: Float = 0
        for i in 0..<4 {
            let ids = try referenceInts(reference, "ids_\(i)")
            let expected = try referenceFloats(reference, "\(prefix)_\(i)")
            let hidden = try encoder.run(ids: [ids])["last_hidden_state"]!
            XCTAssertEqual(hidden.shape, [1, ids.count, expected.count / ids.count])
            worst = max(worst, zip(hidden.floats!, expected).map { abs($0 - $1) }.max()!)
        }
        print("\(model) \(prefix)_0…3: max abs \(worst)")
        return worst
    }

    /// Sentences of different lengths in one right-padded batch against each alone: the
    /// difference in embeddings and in the real tokens' hidden states.
    static func paddedBatchDifference(_ encoder: Encoder, _ model: String) throws -> Float {
        let ids = Array(try referenceIDs(model)[0..<9])
        let batch = try encoder.run(ids: ids)
        let seq = ids.map(\.count).max()!
        let embeddings = batch["embedding"]!.floats!, hidden = batch["last_hidden_state"]!.floats!
        let width = embeddings.count / ids.count, h = hidden.count / (ids.count * seq)
        var worst: Float = 0
        for (i, row) in ids.enumerated() {
            let alone = try encoder.run(ids: [row])
            let e = alone["embedding"]!.floats!, x = alone["last_hidden_state"]!.floats!
            worst = max(worst, zip(e, embeddings[(i * width)..<((i + 1) * width)]).map { abs($0 - $1) }.max()!)
            let start = i * seq * h
            worst = max(worst, zip(x, hidden[start..<(start + row.count * h)]).map { abs($0 - $1) }.max()!)
        }
        print("\(model) padded batch of \(ids.count) vs alone: max abs \(worst)")
        return worst
    }
}

final class MPNetZooTests: XCTestCase {
    static let artifact = ZooArtifact(model: TestPaths.mpnetDir, name: "all-mpnet-base-v2")
    override class func tearDown() { artifact.remove() }

    func encoder() throws -> Encoder { try Encoder(model: try Model(path: try Self.artifact.path())) }

    func testArchitectureAndSizesFromTheFolder() throws {
        let hp = try Self.artifact.hyperParameters()
        XCTAssertEqual(hp["position_offset"], "2")
        XCTAssertEqual(hp["relative_attention_num_buckets"], "32")
        XCTAssertEqual(hp["pooling"], "mean")
        XCTAssertEqual(hp["normalize"], "true")
        let model = try Model(path: try Self.artifact.path())
        XCTAssertEqual(model.tokenizerSpec?.maxLength, 384, "sentence_bert_config.json, not tokenizer.json's 128")
        XCTAssertEqual(model.tokenizerSpec?.specialTokens["cls"], 0)
        XCTAssertEqual(model.tokenizerSpec?.specialTokens["sep"], 2)
        XCTAssertEqual(model.tokenizerSpec?.specialTokens["pad"], 1)
        XCTAssertEqual(model.tokenizerSpec?.specialTokens["unk"], 104)
    }

    func testTokenIDsMatchTheReference() throws {
        try EncoderZoo.checkTokenIDs(try encoder(), "all-mpnet-base-v2")
    }

    /// Without vocab.txt the folder's tokenizer.json gives the same tokenizer (ids, specials,
    /// normalisation, sentence-transformers' max_seq_length rather than tokenizer.json's 128).
    func testTokenizerJSONAloneGivesTheSameTokenizer() throws {
        let folder = try requireModel(TestPaths.mpnetDir)
        let dir = try TempDirectory.make()
        for name in ["tokenizer.json", "sentence_bert_config.json"] {
            try FileManager.default.copyItem(at: folder.appendingPathComponent(name), to: dir.appendingPathComponent(name))
        }
        let fromVocab = try XCTUnwrap(try EncoderImporter.wordPieceTokenizer(directory: folder.path, maxPositions: 512))
        let fromJSON = try XCTUnwrap(try EncoderImporter.tokenizerJSONWordPiece(directory: dir.path, maxPositions: 512))
        XCTAssertEqual(fromJSON.tokens, fromVocab.tokens)
        XCTAssertEqual(fromJSON.specialTokens, fromVocab.specialTokens)
        XCTAssertEqual([fromJSON.lowercase, fromJSON.stripAccents, fromJSON.splitCJK], [fromVocab.lowercase, fromVocab.stripAccents, fromVocab.splitCJK])
        XCTAssertEqual(fromJSON.maxLength, 384)
    }

    func testEmbeddingsMatchTheReference() throws {
        let (worst, maxAbs) = try EncoderZoo.embeddingErrors(try encoder(), "all-mpnet-base-v2", "embeddings")
        XCTAssertGreaterThanOrEqual(worst, 0.99999)
        XCTAssertLessThanOrEqual(maxAbs, 1e-4)
    }

    func testHiddenStatesMatchTheReference() throws {
        XCTAssertLessThanOrEqual(try EncoderZoo.hiddenError(try encoder(), "all-mpnet-base-v2", "hidden"), 1e-4)
    }

    func testPaddedBatchEqualsEachSentenceAlone() throws {
        XCTAssertLessThanOrEqual(try EncoderZoo.paddedBatchDifference(try encoder(), "all-mpnet-base-v2"), 1e-5)
    }
}

final class NomicBertZooTests: XCTestCase {
    static let artifact = ZooArtifact(model: TestPaths.nomicGGUF, name: "nomic-embed-text-v1.5")
    override class func tearDown() { artifact.remove() }

    func encoder() throws -> Encoder { try Encoder(model: try Model(path: try Self.artifact.path())) }

    func testArchitectureAndPoolingFromTheMetadata() throws {
        let hp = try Self.artifact.hyperParameters()
        XCTAssertEqual(hp["rope_theta"], "1000.0")
        XCTAssertEqual(hp["pooling"], "mean")
        XCTAssertEqual(hp["normalize"], "true")
        let model = try Model(path: try Self.artifact.path())
        XCTAssertEqual(model.tokenizerSpec?.specialTokens["cls"], 101)
        XCTAssertEqual(model.tokenizerSpec?.specialTokens["sep"], 102)
    }

    /// llama.cpp's vocabulary mapped back is bert-base-uncased's vocab.txt (MiniLM's), line for line.
    func testVocabularyMapsBackToVocabTxt() throws {
        let vocab = try Data(contentsOf: try requireModel(TestPaths.miniLMDir).appendingPathComponent("vocab.txt"))
        let lines = vocab.split(separator: UInt8(ascii: "\n")).map { Array($0) }
        let model = try Model(path: try Self.artifact.path())
        let tokens = try XCTUnwrap(model.tokenizerSpec?.tokens).map { Array($0.utf8) }
        XCTAssertEqual(tokens.count, lines.count)
        let differing = zip(tokens, lines).enumerated().filter { $0.element.0 != $0.element.1 }.map(\.offset)
        XCTAssertEqual(differing.count, 0, "first differing ids: \(differing.prefix(5))")
    }

    func testTokenIDsMatchTheReference() throws {
        try EncoderZoo.checkTokenIDs(try encoder(), "nomic-embed-text-v1.5")
    }

    func testEmbeddingsMatchTheFloat64Reference() throws {
        let (worst, maxAbs) = try EncoderZoo.embeddingErrors(try encoder(), "nomic-embed-text-v1.5", "embeddings_f64ref")
        XCTAssertGreaterThanOrEqual(worst, 0.99999)
        XCTAssertLessThanOrEqual(maxAbs, 1e-4)
    }

    func testHiddenStatesMatchTheFloat64Reference() throws {
        XCTAssertLessThanOrEqual(try EncoderZoo.hiddenError(try encoder(), "nomic-embed-text-v1.5", "hidden_f64ref"), 1e-3)
    }

    func testPaddedBatchEqualsEachSentenceAlone() throws {
        // Hidden values reach 11 here (MPNet's 0.7): 1e-5 is a few float32 ulps of them.
        XCTAssertLessThanOrEqual(try EncoderZoo.paddedBatchDifference(try encoder(), "nomic-embed-text-v1.5"), 5e-5)
    }
}
