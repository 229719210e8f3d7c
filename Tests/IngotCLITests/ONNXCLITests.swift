// `ingot build model.onnx --tokenizer …` through the real executable: with the all-MiniLM-L6-v2
// folder as --tokenizer its modules.json sets pooling and normalisation (and --pooling is then
// refused); with vocab.txt, --pooling cls applies; `ingot run` gives the embedding; a file that
// is not a protobuf exits 65, a non-ONNX source with --tokenizer exits 64.
import Foundation
import IngotCore
import IngotTestSupport
import XCTest

final class ONNXCLITests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws { dir = try TempDirectory.make("cli-onnx") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func testBuildWithAFolderTokenizerTakesItsPipeline() throws {
        let onnx = try requireModel(TestPaths.paraphraseONNX).path
        let folder = try requireModel(TestPaths.miniLMDir).path
        let out = dir.appendingPathComponent("p.ingot").path
        let r = try runIngot(["build", onnx, "--tokenizer", folder, "-o", out, "-q"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let inspect = try runIngot(["inspect", out])
        XCTAssertEqual(inspect.status, 0, inspect.stderr)
        XCTAssertTrue(inspect.stdout.contains("architecture: bert"), inspect.stdout)
        XCTAssertTrue(inspect.stdout.contains("tokenizer: wordpiece, 30522 tokens"), inspect.stdout)
        XCTAssertFalse(inspect.stdout.contains("input_limits"), "dynamic dims: no fixed-shape limits")
        let run = try runIngot(["run", out, "--text", "A man is playing a guitar."])
        XCTAssertEqual(run.status, 0, run.stderr)
        // modules.json has Normalize: the printed embedding has unit length.
        let numbers = run.stdout.split(whereSeparator: { " ,[]\n".contains($0) }).compactMap { Double($0) }
        XCTAssertGreaterThanOrEqual(numbers.count, 384, run.stdout)
        let tail = numbers.suffix(384)
        XCTAssertEqual(tail.reduce(0) { $0 + $1 * $1 }, 1, accuracy: 1e-3)

        let source = try runIngot(["inspect", onnx])
        XCTAssertEqual(source.status, 0, source.stderr)
        XCTAssertTrue(source.stdout.contains("format") || source.stdout.contains("onnx"), source.stdout)
        XCTAssertTrue(source.stdout.contains("import_support: every op type is imported"), source.stdout)
        XCTAssertTrue(source.stdout.contains("input_ids i64[batch_size, sequence_length]"), source.stdout)
        XCTAssertFalse(source.stdout.contains("input_limits"), source.stdout)

        let both = try runIngot(["build", onnx, "--tokenizer", folder, "--pooling", "cls", "-o", out])
        XCTAssertEqual(both.status, 64, both.stderr)
        XCTAssertTrue(both.stderr.contains("modules.json"), both.stderr)
    }

    func testVocabularyTokenizerWithCLSPooling() throws {
        let onnx = try requireModel(TestPaths.miniLMInt8ONNX).path
        let vocab = try requireModel(TestPaths.miniLMDir).appendingPathComponent("vocab.txt").path
        let out = dir.appendingPathComponent("i8.ingot").path
        let r = try runIngot(["build", onnx, "--tokenizer", vocab, "--pooling", "cls", "-o", out, "-q"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let inspect = try runIngot(["inspect", out, "--graph"])
        XCTAssertEqual(inspect.status, 0, inspect.stderr)
        XCTAssertTrue(inspect.stdout.contains("pool(") && inspect.stdout.contains("mode = cls"), "CLS pooling in the graph")
        XCTAssertTrue(inspect.stdout.contains("linear_int8("), "int8 weights kept")
    }

    func testHostileAndMisusedInputs() throws {
        let junk = dir.appendingPathComponent("junk.onnx")
        try Data([0x0A, 0xFF, 0xFF, 0xFF, 0x0F, 0x01]).write(to: junk)
        let out = dir.appendingPathComponent("x.ingot").path
        let r = try runIngot(["build", junk.path, "-o", out])
        XCTAssertEqual(r.status, 65, r.stderr)
        XCTAssertTrue(r.stderr.contains(junk.path), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        let misuse = try runIngot(["build", dir.path, "--tokenizer", junk.path, "-o", out])
        XCTAssertEqual(misuse.status, 64, misuse.stderr)
    }
}
