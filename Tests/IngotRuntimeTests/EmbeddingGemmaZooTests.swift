// EmbeddingGemma-300M from its Hugging Face folder (gemma3_text with bidirectional attention,
// mean pooling, two Dense layers, Normalize; SentencePiece tokenizer adding <bos> and <eos>)
// built once into a float32 artifact and run against the sentence-transformers references in
// Fixtures/reference/zoo/embeddinggemma-300m/dev (ZOO.md §3, §5): token ids of all 300 dev
// sentences identical, last hidden states of sentences 0…3 within 2e-3, and embeddings of all
// 300 sentences (padded batches) with cosine ≥ 0.99999 and max abs ≤ 1e-4. Missing model skips
// locally and fails under CI=true.
import Foundation
import XCTest
import IngotCheckpoint
import IngotCore
import IngotImport
import IngotTestSupport
@testable import IngotRuntime

final class EmbeddingGemmaZooTests: XCTestCase {
    static let artifact = ZooArtifact(model: TestPaths.embeddingGemmaDir, name: "embeddinggemma-300m")
    override class func tearDown() { artifact.remove() }

    static let referencePath = "zoo/embeddinggemma-300m/dev/"

    func sentences() throws -> [String] {
        let text = try String(contentsOf: TestPaths.fixtures.appendingPathComponent("eval/minilm-dev-sentences.txt"), encoding: .utf8)
        return text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init).filter { !$0.isEmpty }
    }

    func referenceIDs() throws -> [[Int32]] {
        let text = try String(contentsOf: try referenceFile(Self.referencePath + "tokens.jsonl"), encoding: .utf8)
        return try text.split(separator: "\n").map { line in
            let row = try JSONValue.parse(String(line))
            return (row["input_ids"]?.array ?? []).map { Int32($0.int!) }
        }
    }

    func encoder() throws -> Encoder { try Encoder(model: try Model(path: try Self.artifact.path())) }

    func testImportReadsTheFactsFromConfig() throws {
        let hp = try Self.artifact.hyperParameters()
        XCTAssertEqual(hp["num_hidden_layers"], "24")
        XCTAssertEqual(hp["num_attention_heads"], "3")
        XCTAssertEqual(hp["num_key_value_heads"], "1")
        XCTAssertEqual(hp["head_dim"], "256")
        XCTAssertEqual(hp["attention"], "bidirectional")
        XCTAssertEqual(hp["pooling"], "mean")
        XCTAssertEqual(hp["dense"], "768→3072 identity, 3072→768 identity")
        XCTAssertEqual(hp["normalize"], "true")
        XCTAssertNil(hp["tied_embeddings"], "an encoder has no LM head")
    }

    func testTokenIDsOfAllDevSentencesMatchReference() throws {
        let enc = try encoder()
        let spec = try XCTUnwrap(enc.tokenizer?.spec)
        XCTAssertEqual(spec.kind, .sentencePiece)
        XCTAssertTrue(spec.addBOS && spec.addEOS, "tokenizer_config.json: add_bos_token and add_eos_token")
        let expected = try referenceIDs()
        let texts = try sentences()
        XCTAssertEqual(expected.count, 300)
        XCTAssertEqual(texts.count, 300)
        var mismatched: [Int] = []
        for (i, text) in texts.enumerated() where try enc.tokenize(text) != expected[i] { mismatched.append(i) }
        XCTAssertEqual(mismatched, [], "sentences whose ids differ")
    }

    /// The folder without tokenizer.model: tokenizer.json's BPE (merge ranks standing for
    /// SentencePiece scores) gives the same ids, on the 300 sentences and on the 9,611-token dev
    /// text (Gemma 3's reference ids: the same vocabulary).
    func testTokenizerJSONAloneGivesTheReferenceIDs() throws {
        let source = try requireModel(TestPaths.embeddingGemmaDir)
        let dir = try TempDirectory.make("egemma-tokenizer-json")
        defer { try? FileManager.default.removeItem(at: dir) }
        for name in ["config.json", "tokenizer.json", "tokenizer_config.json", "sentence_bert_config.json"] {
            try FileManager.default.createSymbolicLink(at: dir.appendingPathComponent(name), withDestinationURL: source.appendingPathComponent(name))
        }
        let spec = try XCTUnwrap(try HuggingFaceTokenizer.spec(folder: dir.path))
        XCTAssertEqual(spec.kind, .sentencePiece)
        XCTAssertEqual(spec.tokens.count, 262_145, "tokenizer.json also lists <image_soft_token> (262144)")
        let tok = try makeTokenizer(spec)
        let expected = try referenceIDs()
        var mismatched: [Int] = []
        for (i, text) in try sentences().enumerated() where tok.encode(text, addSpecialTokens: true) != expected[i] { mismatched.append(i) }
        XCTAssertEqual(mismatched, [])
        let dev = try String(contentsOf: TestPaths.fixtures.appendingPathComponent("eval/smollm2-dev.txt"), encoding: .utf8)
        let devIDs = ids(try jsonFile("zoo/gemma3-270m/dev/tokens.json")["input_ids"])
        let got = tok.encode(dev, addSpecialTokens: false)
        XCTAssertEqual(got.count, 9611)
        XCTAssertTrue(got == devIDs, "first difference at \(zip(got, devIDs).enumerated().first { $0.1.0 != $0.1.1 }?.offset ?? -1)")
    }

    func testHiddenStatesMatchReference() throws {
        let enc = try encoder()
        let reference = try SafetensorsCheckpoint(path: try referenceFile(Self.referencePath + "reference.safetensors").path)
        for i in 0..<4 {
            let ids = try referenceInts(reference, "ids_\(i)")
            let expected = try referenceFloats(reference, "hidden_\(i)")
            let got = try XCTUnwrap(try enc.run(ids: [ids])["last_hidden_state"]?.floats)
            XCTAssertEqual(got.count, expected.count)
            let maxError = zip(got, expected).map { abs($0 - $1) }.max() ?? .infinity
            let largest = expected.map(abs).max() ?? 0
            print("embeddinggemma: hidden_\(i) max abs error \(maxError) (values up to \(largest))")
            XCTAssertLessThanOrEqual(maxError, 2e-3, "hidden_\(i)")
        }
    }

    func testEmbeddingsOfAllDevSentencesMatchReference() throws {
        let enc = try encoder()
        let reference = try SafetensorsCheckpoint(path: try referenceFile(Self.referencePath + "reference.safetensors").path)
        let expected = try referenceFloats(reference, "embeddings")
        let texts = try sentences()
        let width = expected.count / texts.count
        XCTAssertEqual(width, 768)
        let start = Date()
        // Batches of similar length pad little; a sentence's result does not depend on its batch.
        let ids = try texts.map { try enc.tokenize($0) }
        let order = ids.indices.sorted { ids[$0].count < ids[$1].count }
        var embeddings = [[Float]](repeating: [], count: texts.count)
        for batch in stride(from: 0, to: order.count, by: 16) {
            let rows = Array(order[batch..<min(order.count, batch + 16)])
            for (row, e) in zip(rows, try enc.embed(ids: rows.map { ids[$0] })) { embeddings[row] = e }
        }
        let seconds = Date().timeIntervalSince(start)
        var minCosine = 1.0, maxError: Float = 0
        for (i, e) in embeddings.enumerated() {
            let want = Array(expected[(i * width)..<((i + 1) * width)])
            minCosine = min(minCosine, cosine(e, want))
            maxError = max(maxError, zip(e, want).map { abs($0 - $1) }.max()!)
        }
        print("embeddinggemma: \(embeddings.count) sentences in \(String(format: "%.1f", seconds)) s, min cosine \(minCosine), max abs error \(maxError)")
        XCTAssertEqual(embeddings.count, 300)
        XCTAssertGreaterThanOrEqual(minCosine, 0.99999)
        XCTAssertLessThanOrEqual(maxError, 1e-4)
    }
}
