// Issue 14, on the built `ingot`: `tokenize` reads the tokenizer section only (it works on an
// artifact whose weights are corrupted), and an interrupted `build --report` (SIGINT, SIGTERM)
// leaves no temporary file, neither in $TMPDIR (the float32 baseline) nor beside the output.
// The model is a one-layer BERT folder written by the test (hidden 8, a 12-token vocab.txt).
import Foundation
import XCTest
import IngotCore
import IngotTestSupport

/// config.json, model.safetensors, vocab.txt and a sentence-transformers mean-pooling head.
/// The embedding table has as many rows as vocab.txt has tokens (12): the report's latency
/// rows must stay inside the vocabulary (Comparison.swift).
func writeTinyBert(to dir: URL) throws {
    let vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "b", "c", "##a", "##b", "hello", "##lo"]
    try TinyCheckpoints.bert(in: dir, vocab: vocab, embeddingRows: vocab.count, positions: 128, meanPooling: true)
}

final class TokenizeReadsNoWeightsTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws { dir = try TempDirectory.make("cli-tokenize") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    /// Every weight byte overwritten: `run` refuses the artifact (checksum, 65) while
    /// `tokenize` prints the same ids as before, so it never reads a weight.
    func testTokenizeWorksOnAnArtifactWhoseWeightsAreCorrupted() throws {
        let model = dir.appendingPathComponent("tiny")
        try writeTinyBert(to: model)
        let artifact = dir.appendingPathComponent("tiny.ingot").path
        let build = try runIngot(["build", model.path, "-o", artifact, "--compress", "never", "-q"])
        XCTAssertEqual(build.status, 0, build.stderr)
        let before = try runIngot(["tokenize", artifact, "--text", "a ab hello", "--text", "hellolo cab"])
        XCTAssertEqual(before.status, 0, before.stderr)
        XCTAssertEqual(before.stdout, "{\"id\":0,\"input_ids\":[2,5,5,9,10,3]}\n{\"id\":1,\"input_ids\":[2,10,11,7,8,9,3]}\n")
        XCTAssertEqual(try runIngot(["run", artifact, "--text", "a b"]).status, 0)

        // TDAT starts after the 64-byte header and holds every tensor raw (64-byte aligned), so
        // the first Σ tensor bytes after the header lie inside it: each of them is flipped.
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: artifact)))
        let inspect = try runIngot(["inspect", artifact, "--json"])
        XCTAssertEqual(inspect.status, 0, inspect.stderr)
        let tensors = try XCTUnwrap(try JSONValue.parse(inspect.stdout)["tensors"]?.array)
        let weightBytes = tensors.reduce(0) { $0 + ($1["bytes"]?.int ?? 0) }
        XCTAssertGreaterThan(weightBytes, 4 * (12 * 8 + 128 * 8))
        for i in 64..<(64 + weightBytes) { bytes[i] ^= 0xA5 }
        try Data(bytes).write(to: URL(fileURLWithPath: artifact))

        let run = try runIngot(["run", artifact, "--text", "a b"])
        XCTAssertEqual(run.status, 65)
        XCTAssertTrue(run.stderr.contains("checksum"), run.stderr)
        let after = try runIngot(["tokenize", artifact, "--text", "a ab hello", "--text", "hellolo cab"])
        XCTAssertEqual(after.status, 0, after.stderr)
        XCTAssertEqual(after.stdout, before.stdout)
    }
}

/// `ingot tokenize` on a GGUF file uses its tokenizer metadata alone (Gemma 3 cannot be built
/// into an artifact yet): the reference ids of the greedy prompt, BOS added by default.
final class TokenizeGGUFCLITests: XCTestCase {
    func testTokenizeGemma3GGUFGivesTheReferencePromptIds() throws {
        let gguf = try requireModel(TestPaths.gemma3GGUF).path
        let greedy = try JSONValue.parse(try Array(Data(contentsOf: try referenceFile("zoo/gemma3-270m/dev/greedy.json"))))
        let prompt = try XCTUnwrap(greedy["prompts"]?.array?.first)
        let text = String(try XCTUnwrap(prompt["prompt_text"]?.string).dropFirst("<bos>".count))
        let result = try runIngot(["tokenize", gguf, "--text", text])
        XCTAssertEqual(result.status, 0, result.stderr)
        let ids = try XCTUnwrap(try JSONValue.parse(result.stdout)["input_ids"]?.array).map { $0.int! }
        XCTAssertEqual(ids, try XCTUnwrap(prompt["prompt_ids"]?.array).map { $0.int! })
        let inspect = try runIngot(["inspect", gguf])
        XCTAssertTrue(inspect.stdout.contains("built-in gemma template"), inspect.stdout)
    }
}

final class InterruptedBuildCLITests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws { dir = try TempDirectory.make("cli-interrupt") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func contents(_ url: URL) throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: url.path).sorted() }

    /// The build's standard error, kept outside the folders the tests list.
    var stderrPath: String { dir.appendingPathComponent("stderr.txt").path }
    var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    /// Starts `ingot build tiny --passes fuse --report …` with TMPDIR set to a fresh folder;
    /// returns the folders (tmp, out) and the running process.
    func startReportBuild(runs: Int, report: String? = nil) throws -> (tmp: URL, out: URL, process: Process) {
        let model = dir.appendingPathComponent("tiny")
        try writeTinyBert(to: model)
        let tmp = dir.appendingPathComponent("tmp"), out = dir.appendingPathComponent("out")
        for folder in [tmp, out] { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) }
        let eval = dir.appendingPathComponent("eval.txt")
        try "a b c\nhello\nab ba\n".write(to: eval, atomically: true, encoding: .utf8)
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("ingot")
        guard FileManager.default.isExecutableFile(atPath: binary.path) else {
            throw IngotError(.io, file: binary.path, "the ingot executable is not built beside the tests; run swift build --build-tests")
        }
        let p = Process()
        p.executableURL = binary
        p.arguments = ["build", model.path, "-o", out.appendingPathComponent("t.ingot").path, "--passes", "fuse",
                       "--eval", eval.path, "--report", report ?? out.appendingPathComponent("t.json").path,
                       "--report-runs", String(runs), "-q"]
        var env = ProcessInfo.processInfo.environment
        env["TMPDIR"] = tmp.path
        p.environment = env
        p.standardOutput = FileHandle.nullDevice
        FileManager.default.createFile(atPath: stderrPath, contents: nil)
        p.standardError = FileHandle(forWritingAtPath: stderrPath)
        try p.run()
        return (tmp, out, p)
    }

    /// Waits up to `seconds` for the process to end; a process still running is killed and
    /// the test fails.
    func waitForExit(_ p: Process, seconds: Double) {
        let deadline = Date().addingTimeInterval(seconds)
        while p.isRunning && Date() < deadline { usleep(10_000) }
        if p.isRunning {
            kill(p.processIdentifier, SIGKILL)
            XCTFail("ingot build still running \(seconds) s after the signal")
        }
        p.waitUntilExit()
    }

    /// The signal lands while the report is timed (a million runs): the baseline built in
    /// $TMPDIR is registered then, and the artifact itself is already committed.
    func interrupt(with signal: Int32) throws {
        let (tmp, out, p) = try startReportBuild(runs: 1_000_000)
        let baseline = "ingot-baseline-\(p.processIdentifier).ingot"
        let deadline = Date().addingTimeInterval(120)
        while try p.isRunning && Date() < deadline && !contents(tmp).contains(baseline) { usleep(2_000) }
        XCTAssertTrue(p.isRunning, "ingot build ended before its baseline appeared in $TMPDIR: \(stderr)")
        XCTAssertEqual(try contents(tmp), [baseline])
        kill(p.processIdentifier, signal)
        waitForExit(p, seconds: 60)
        XCTAssertEqual(p.terminationReason, .uncaughtSignal, "the process dies of the signal (default action after the clean-up)")
        XCTAssertEqual(p.terminationStatus, signal)
        XCTAssertEqual(try contents(tmp), [], "nothing left in $TMPDIR")
        XCTAssertEqual(try contents(out), ["t.ingot"], "the finished artifact and no temporary file or report")
    }

    func testSIGINTDuringTheReportRemovesTheBaseline() throws { try interrupt(with: SIGINT) }

    func testSIGTERMDuringTheReportRemovesTheBaseline() throws { try interrupt(with: SIGTERM) }

    /// Normal exit and an error after the baseline was built (the report cannot be written,
    /// 74) both leave $TMPDIR empty.
    func testBaselineIsRemovedOnSuccessAndOnAnError() throws {
        let ok = try startReportBuild(runs: 2)
        waitForExit(ok.process, seconds: 120)
        XCTAssertEqual(ok.process.terminationReason, .exit)
        XCTAssertEqual(ok.process.terminationStatus, 0, stderr)
        XCTAssertEqual(try contents(ok.tmp), [])
        XCTAssertEqual(try contents(ok.out), ["t.ingot", "t.json"])

        try FileManager.default.removeItem(at: dir)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let failing = try startReportBuild(runs: 2, report: dir.appendingPathComponent("missing/t.json").path)
        waitForExit(failing.process, seconds: 120)
        XCTAssertEqual(failing.process.terminationStatus, 74, stderr)
        XCTAssertEqual(try contents(failing.tmp), [])
        XCTAssertEqual(try contents(failing.out), ["t.ingot"])
    }
}

/// `ingot run --prompt-prefix P`: every text is embedded as P + text, in --text and --input
/// mode; with --prompt (generation) it is a usage error.
final class PromptPrefixCLITests: XCTestCase {
    func testPromptPrefixEmbedsThePrefixedText() throws {
        let dir = try TempDirectory.make("cli-prompt-prefix")
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = dir.appendingPathComponent("tiny")
        try writeTinyBert(to: model)
        let artifact = dir.appendingPathComponent("tiny.ingot").path
        let build = try runIngot(["build", model.path, "-o", artifact, "-q"])
        XCTAssertEqual(build.status, 0, build.stderr)
        let plain = try runIngot(["run", artifact, "--text", "hello a b"])
        let prefixed = try runIngot(["run", artifact, "--prompt-prefix", "hello ", "--text", "a b"])
        let unprefixed = try runIngot(["run", artifact, "--text", "a b"])
        XCTAssertEqual(prefixed.status, 0, prefixed.stderr)
        XCTAssertEqual(prefixed.stdout, plain.stdout)
        XCTAssertNotEqual(prefixed.stdout, unprefixed.stdout)
        let input = dir.appendingPathComponent("in.jsonl")
        try "{\"id\": 0, \"text\": \"a b\"}\n".write(to: input, atomically: true, encoding: .utf8)
        let jsonl = try runIngot(["run", artifact, "--prompt-prefix", "hello ", "--input", input.path, "-q"])
        XCTAssertEqual(jsonl.status, 0, jsonl.stderr)
        XCTAssertEqual(jsonl.stdout, plain.stdout)
        let generation = try runIngot(["run", artifact, "--prompt-prefix", "x", "--prompt", "y"])
        XCTAssertEqual(generation.status, 64)
        XCTAssertTrue(generation.stderr.contains("--prompt-prefix"), generation.stderr)
    }
}
