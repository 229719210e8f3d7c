// The zoo decoders (Qwen2.5-Coder-0.5B-Instruct and Gemma 3 270M, Q4_K_M GGUFs dequantized to
// float32) against the PyTorch references in Fixtures/reference/<model>/dev, on the reference
// token ids (no tokenizer involved): logits of the first 16 positions, perplexity of the
// protocol's first two windows, greedy ids of both prompts. Each class builds its artifact once
// (Qwen's is about 2 GB) and deletes it when its tests are done. Missing models skip locally
// and fail under CI=true. The Native classes build the same GGUFs with their block-quantized
// weights kept as stored (the default of `ingot build`) and hold them to the same references,
// plus the artifact size bar (≤ 1.05 × the GGUF).
import Foundation
import XCTest
import IngotCheckpoint
import IngotCompiler
import IngotCore
import IngotImport
import IngotRuntime
import IngotTestSupport

/// One artifact per test class (float32, or block weights kept native), built on first use and removed by `remove()`.
final class ZooArtifact {
    private let model: URL
    private let name: String
    private let blockWeights: BlockWeightChoice
    private var built: Result<(path: String, imported: [(String, String)]), Error>?
    private var directory: String?
    private let lock = NSLock()

    init(model: URL, name: String, blockWeights: BlockWeightChoice = .float32) {
        self.model = model
        self.name = name
        self.blockWeights = blockWeights
    }

    /// Artifact bytes ÷ GGUF bytes.
    func sizeRatio() throws -> Double {
        let artifact = try FileManager.default.attributesOfItem(atPath: try path())[.size] as! Int
        let source = try FileManager.default.attributesOfItem(atPath: try requireModel(model).path)[.size] as! Int
        print("\(name) (\(blockWeights.rawValue)): artifact \(artifact) bytes, GGUF \(source) bytes, ratio \(Double(artifact) / Double(source))")
        return Double(artifact) / Double(source)
    }

    func languageModel() throws -> LanguageModel {
        try LanguageModel(model: try Model(path: try path()))
    }

    func hyperParameters() throws -> [String: String] {
        _ = try path()
        return Dictionary(try built!.get().imported, uniquingKeysWith: { a, _ in a })
    }

    func path() throws -> String {
        let source = try requireModel(model)
        lock.lock()
        defer { lock.unlock() }
        if let built { return try built.get().path }
        let result = Result { () throws -> (path: String, imported: [(String, String)]) in
            let out = try TempDirectory.make("ingot-zoo").appendingPathComponent(name + ".ingot").path
            directory = parentDirectory(out)
            let imported = try ModelImporter.importModel(at: source.path, blockWeights: blockWeights)
            _ = try ArtifactBuilder.write(imported, source: source.path, output: out, options: BuildOptions())
            return (out, imported.hyperParameters)
        }
        built = result
        return try result.get().path
    }

    func remove() {
        lock.lock()
        defer { lock.unlock() }
        if let directory { try? FileManager.default.removeItem(atPath: directory) }
        directory = nil
        built = nil
    }
}

private func parentDirectory(_ path: String) -> String { (path as NSString).deletingLastPathComponent }

enum DecoderReference {
    static func json(_ model: String, _ file: String) throws -> JSONValue {
        try JSONValue.parse(try Array(Data(contentsOf: try referenceFile("\(model)/dev/\(file)"))))
    }

    static func textIDs(_ model: String) throws -> [Int32] {
        try XCTUnwrap(try json(model, "tokens.json")["input_ids"]?.array).map { Int32($0.int!) }
    }

    /// Largest |logit − reference| over the last position's whole row and every 256th column
    /// of all 16 positions; also checks the last position's argmax.
    static func checkLogits(_ lm: LanguageModel, _ model: String, bound: Float, file: StaticString = #filePath, line: UInt = #line) throws {
        let reference = try SafetensorsCheckpoint(path: try referenceFile("\(model)/dev/reference.safetensors").path)
        let ids = try referenceInts(reference, "ids_0")
        let rows = try referenceInts(reference, "rows_0").map(Int.init)
        let columns = try referenceInts(reference, "columns").map(Int.init)
        let expectedRows = try referenceFloats(reference, "logits_0_rows")
        let expectedColumns = try referenceFloats(reference, "logits_0_columns")
        let vocabulary = lm.vocabularySize
        XCTAssertEqual(expectedRows.count, rows.count * vocabulary, "vocabulary", file: file, line: line)
        lm.session.reset()
        let logits = try lm.logits(ids: ids)
        var maxError: Float = 0
        for (r, t) in rows.enumerated() {
            let got = logits[(t * vocabulary)..<((t + 1) * vocabulary)]
            let want = expectedRows[(r * vocabulary)..<((r + 1) * vocabulary)]
            for (a, b) in zip(got, want) { maxError = max(maxError, abs(a - b)) }
            XCTAssertEqual(got.indices.max { got[$0] < got[$1] }! - t * vocabulary,
                           want.indices.max { want[$0] < want[$1] }! - r * vocabulary, "argmax at position \(t)", file: file, line: line)
        }
        for t in 0..<ids.count {
            for (c, v) in columns.enumerated() {
                maxError = max(maxError, abs(logits[t * vocabulary + v] - expectedColumns[t * columns.count + c]))
            }
        }
        print("\(model): logits max abs error \(maxError) over \(rows.count) full rows and \(columns.count) columns × \(ids.count) positions")
        XCTAssertLessThanOrEqual(maxError, bound, file: file, line: line)
    }

    /// The protocol's first `windows` windows of 256 (prefixed by `bos` when given, which is
    /// not scored); returns (nll, scored) and compares with the reference's window_nll sums.
    static func checkPerplexity(_ lm: LanguageModel, _ model: String, windows: Int, bos: Int32?,
                                file: StaticString = #filePath, line: UInt = #line) throws {
        let ids = try textIDs(model)
        let expected = try XCTUnwrap(try json(model, "perplexity.json")["window_nll"]?.array).prefix(windows).map { $0.double! }
        var nll = 0.0, scored = 0
        for w in 0..<windows {
            let window = Array(ids[(w * 256)..<((w + 1) * 256)])
            let input = (bos.map { [$0] } ?? []) + window
            let offset = bos == nil ? 0 : 1
            lm.session.reset()
            let logits = try lm.logits(ids: input)
            var windowNLL = 0.0
            for t in 1..<window.count {
                windowNLL -= logSoftmax(logits, row: offset + t - 1, width: lm.vocabularySize, at: Int(window[t]))
            }
            print("\(model): window \(w) nll \(windowNLL), reference \(expected[w])")
            nll += windowNLL
            scored += window.count - 1
        }
        lm.session.reset()
        let ppl = exp(nll / Double(scored)), referencePPL = exp(expected.reduce(0, +) / Double(scored))
        print("\(model): perplexity \(ppl) over \(scored) tokens, reference \(referencePPL), relative \(abs(ppl - referencePPL) / referencePPL)")
        XCTAssertEqual(scored, 255 * windows, file: file, line: line)
        XCTAssertEqual(ppl, referencePPL, accuracy: referencePPL * 1e-4, file: file, line: line)
    }

    static func checkGreedy(_ lm: LanguageModel, _ model: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let prompts = try XCTUnwrap(try json(model, "greedy.json")["prompts"]?.array)
        XCTAssertEqual(prompts.count, 2, file: file, line: line)
        for p in prompts {
            let prompt = (p["prompt_ids"]?.array ?? []).map { Int32($0.int!) }
            let expected = (p["gen_ids"]?.array ?? []).map { Int32($0.int!) }
            var options = GenerationOptions()
            options.maxTokens = expected.count
            XCTAssertEqual(expected.count, 32, file: file, line: line)
            XCTAssertEqual(try lm.generate(prompt: prompt, options: options), expected, p["name"]?.string ?? "", file: file, line: line)
        }
    }
}

final class Qwen2ZooTests: XCTestCase {
    static let artifact = ZooArtifact(model: TestPaths.qwen25GGUF, name: "qwen2.5-0.5b")
    override class func tearDown() { artifact.remove() }

    func testImportReadsEverySizeFromMetadata() throws {
        let hp = try Self.artifact.hyperParameters()
        XCTAssertEqual(hp["num_hidden_layers"], "24")
        XCTAssertEqual(hp["num_attention_heads"], "14")
        XCTAssertEqual(hp["num_key_value_heads"], "2")
        XCTAssertEqual(hp["head_dim"], "64")
        XCTAssertEqual(hp["vocab_size"], "151936")
        XCTAssertEqual(hp["tied_embeddings"], "false", "output.weight is the head, not token_embd")
        XCTAssertEqual(hp["rope_style"], "half")
    }

    func testLogitsMatchReference() throws {
        try DecoderReference.checkLogits(try Self.artifact.languageModel(), "qwen2.5-0.5b", bound: 2e-2)
    }

    func testPerplexityOfTheFirstTwoWindowsMatchesReference() throws {
        try DecoderReference.checkPerplexity(try Self.artifact.languageModel(), "qwen2.5-0.5b", windows: 2, bos: nil)
    }

    func testGreedyIdsMatchReference() throws {
        try DecoderReference.checkGreedy(try Self.artifact.languageModel(), "qwen2.5-0.5b")
    }
}

final class Gemma3ZooTests: XCTestCase {
    static let artifact = ZooArtifact(model: TestPaths.gemma3GGUF, name: "gemma3-270m")
    override class func tearDown() { artifact.remove() }

    func testImportReadsEverySizeFromMetadata() throws {
        let hp = try Self.artifact.hyperParameters()
        XCTAssertEqual(hp["num_hidden_layers"], "18")
        XCTAssertEqual(hp["num_attention_heads"], "4")
        XCTAssertEqual(hp["num_key_value_heads"], "1")
        XCTAssertEqual(hp["head_dim"], "256")
        XCTAssertEqual(hp["sliding_window"], "512")
        XCTAssertEqual(hp["tied_embeddings"], "true")
    }

    func testLogitsMatchReference() throws {
        try DecoderReference.checkLogits(try Self.artifact.languageModel(), "gemma3-270m", bound: 2e-2)
    }

    func testPerplexityOfTheFirstTwoWindowsMatchesReference() throws {
        let tokens = try DecoderReference.json("gemma3-270m", "tokens.json")
        XCTAssertEqual(tokens["bos_token_id"]?.int, 2)
        try DecoderReference.checkPerplexity(try Self.artifact.languageModel(), "gemma3-270m", windows: 2, bos: 2)
    }

    func testGreedyIdsMatchReference() throws {
        try DecoderReference.checkGreedy(try Self.artifact.languageModel(), "gemma3-270m")
    }
}

final class Qwen2NativeZooTests: XCTestCase {
    static let artifact = ZooArtifact(model: TestPaths.qwen25GGUF, name: "qwen2.5-0.5b-native", blockWeights: .native)
    override class func tearDown() { artifact.remove() }

    func testArtifactIsAtMostFivePercentLargerThanTheGGUF() throws {
        XCTAssertLessThanOrEqual(try Self.artifact.sizeRatio(), 1.05)
    }

    func testLogitsMatchReference() throws {
        try DecoderReference.checkLogits(try Self.artifact.languageModel(), "qwen2.5-0.5b", bound: 2e-2)
    }

    func testPerplexityOfTheFirstTwoWindowsMatchesReference() throws {
        try DecoderReference.checkPerplexity(try Self.artifact.languageModel(), "qwen2.5-0.5b", windows: 2, bos: nil)
    }

    func testGreedyIdsMatchReference() throws {
        try DecoderReference.checkGreedy(try Self.artifact.languageModel(), "qwen2.5-0.5b")
    }
}

final class Gemma3NativeZooTests: XCTestCase {
    static let artifact = ZooArtifact(model: TestPaths.gemma3GGUF, name: "gemma3-270m-native", blockWeights: .native)
    override class func tearDown() { artifact.remove() }

    func testArtifactIsAtMostFivePercentLargerThanTheGGUF() throws {
        XCTAssertLessThanOrEqual(try Self.artifact.sizeRatio(), 1.05)
    }

    func testLogitsMatchReference() throws {
        try DecoderReference.checkLogits(try Self.artifact.languageModel(), "gemma3-270m", bound: 2e-2)
    }

    func testPerplexityOfTheFirstTwoWindowsMatchesReference() throws {
        try DecoderReference.checkPerplexity(try Self.artifact.languageModel(), "gemma3-270m", windows: 2, bos: 2)
    }

    func testGreedyIdsMatchReference() throws {
        try DecoderReference.checkGreedy(try Self.artifact.languageModel(), "gemma3-270m")
    }
}

/// SmolLM2 Q4_1 built natively against the same GGUF expanded to float32: size bar, and the
/// same logits on the reference text's first 64 tokens (both run the same decoded weights).
final class SmolLM2NativeTests: XCTestCase {
    static let native = ZooArtifact(model: TestPaths.smolLM2GGUF, name: "smollm2-native", blockWeights: .native)
    static let float32 = ZooArtifact(model: TestPaths.smolLM2GGUF, name: "smollm2-float32")
    override class func tearDown() {
        native.remove()
        float32.remove()
    }

    func testArtifactIsAtMostFivePercentLargerThanTheGGUF() throws {
        XCTAssertLessThanOrEqual(try Self.native.sizeRatio(), 1.05)
    }

    func testNativeLogitsMatchTheFloat32Build() throws {
        let native = try Self.native.languageModel(), float = try Self.float32.languageModel()
        let ids: [Int32] = (0..<64).map { Int32(($0 * 7919 + 13) % 49152) }
        for batch in [ids, [ids[0]]] {
            native.session.reset()
            float.session.reset()
            let a = try native.logits(ids: batch), b = try float.logits(ids: batch)
            XCTAssertEqual(a.count, b.count)
            let worst = zip(a, b).map { abs($0 - $1) }.max() ?? .infinity
            print("smollm2 native vs float32: max |Δlogit| \(worst) over \(batch.count) positions")
            XCTAssertLessThanOrEqual(worst, 1e-3)
        }
    }
}
