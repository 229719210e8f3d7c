// The `ingot` executable as a user and a CI job see it: exact help text, outputs, error
// lines on stderr and documented exit codes. Runs the built binary beside the test bundle.
import Foundation
import XCTest
import IngotCore
import IngotTestSupport

struct CommandResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

func runIngot(_ arguments: [String], environment: [String: String] = [:]) throws -> CommandResult {
    try runBuiltProduct("ingot", arguments, environment: environment)
}

/// Runs an executable of this package, built beside the test bundle (`swift build --build-tests`
/// builds every product); a missing one fails the test, it is never skipped. `environment`
/// is added to this process's.
func runBuiltProduct(_ name: String, _ arguments: [String], environment: [String: String] = [:]) throws -> CommandResult {
    let dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    let binary = dir.appendingPathComponent(name)
    guard FileManager.default.isExecutableFile(atPath: binary.path) else {
        throw IngotError(.io, file: binary.path, "the \(name) executable is not built beside the tests; run swift build --build-tests")
    }
    let p = Process()
    p.executableURL = binary
    p.arguments = arguments
    // Help text wraps at the terminal width; fix it so the expected text is stable.
    var env = ProcessInfo.processInfo.environment
    env["COLUMNS"] = "80"
    env.merge(environment) { _, new in new }
    p.environment = env
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return CommandResult(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
}

final class CLIHelpTests: XCTestCase {
    func testTopLevelHelp() throws {
        let r = try runIngot(["--help"])
        XCTAssertEqual(r.status, 0)
        assertSameLines(r.stdout, """
            OVERVIEW: Compile, optimize and run transformer checkpoints.

            Exit codes: 0 success; 64 bad usage or options; 65 malformed or corrupt input
            (checkpoint, artifact, graph); 66 input not found or unreadable; 69 unsupported
            model, dtype or feature; 70 internal error; 74 output could not be written.

            USAGE: ingot <subcommand>

            OPTIONS:
              --version               Show the version.
              -h, --help              Show help information.

            SUBCOMMANDS:
              build                   Convert a checkpoint into a .ingot artifact.
              inspect                 Describe a checkpoint (.gguf, .safetensors, PyTorch
                                      .bin, .onnx, model folder) or a .ingot artifact.
              run                     Run an artifact: embed text (encoders) or generate
                                      text (language models).
              tokenize                Print the token ids of text with an artifact's
                                      tokenizer (JSONL {"id", "input_ids"}).
              perplexity              Measure perplexity on a text file.
              bench                   Benchmark an artifact: latency percentiles,
                                      throughput, load time, peak memory.
              report                  Render an optimization report (from ingot build
                                      --report).
              diff                    Compare optimization reports side by side; gate CI on
                                      their fields.
              keygen                  Create an Ed25519 signing key pair: NAME.key (secret,
                                      mode 0600) and NAME.pub.
              sign                    Sign an artifact in place (replacing any signature it
                                      has).
              verify                  Check an artifact's signature against a trusted
                                      public key, and every checksum.

              See 'ingot help <subcommand>' for detailed help.

            """)
    }

    func testBuildHelp() throws {
        let r = try runIngot(["build", "--help"])
        XCTAssertEqual(r.status, 0)
        assertSameLines(r.stdout, """
            OVERVIEW: Convert a checkpoint into a .ingot artifact.

            SOURCE is a .gguf file, a Hugging Face model folder (config.json +
            model.safetensors, or pytorch_model.bin when there is no safetensors), a
            .safetensors or .bin file beside its config.json, or an ONNX sentence encoder
            (.onnx, with --tokenizer). A .bin is read without running its pickle: only the
            globals a state dict uses are accepted.

            USAGE: ingot build [<options>] <source> --output <output>

            ARGUMENTS:
              <source>                The checkpoint to convert.

            OPTIONS:
              -o, --output <output>   Where to write the artifact (.ingot).
              --tokenizer <path>      ONNX only: the tokenizer, a vocab.txt, a
                                      tokenizer.json or a Hugging Face /
                                      sentence-transformers folder (whose modules.json then
                                      sets pooling and normalisation).
              --pooling <mode>        ONNX only: how the embedding output pools the token
                                      states: mean (default), cls, max or last. (values:
                                      mean, cls, max, last)
              --normalize             ONNX only: L2-normalise the embedding output.
              --compress <compress>   Compress tensors: auto (when it saves 10% or more),
                                      always, never. (values: auto, always, never; default:
                                      auto)
              --zstd-level <zstd-level>
                                      zstd level for compressed sections and tensors
                                      (1-19). (default: 3)
              --passes <list>         Optimization passes, in order, e.g.
                                      fuse,quantize=int8.
              --recipe <file>         A pass recipe (.yaml, .yml or .json) instead of
                                      --passes.
              --calibration <file>    Calibration text: one sentence per line (encoders) or
                                      running text (language models).
              --eval <file>           Evaluation text for the report (default: a held-out
                                      fifth of the calibration text).
              --report <file>         Write an optimization report (JSON,
                                      Formats/report-v1.schema.json).
              --report-runs <report-runs>
                                      Timed runs per latency row in the report. (default:
                                      20)
              --dequantize            Expand a GGUF's block-quantized weights (Q4_0 … Q6_K)
                                      to float32 instead of keeping them as stored (always
                                      so when passes run).
              --verify-passes         Verify the graph after every pass (always on in debug
                                      builds).
              --sign <key>            Sign the artifact with this secret key (from ingot
                                      keygen).
              --threads <threads>     Compute threads (default: the CPUs this process may
                                      use).
              -q, --quiet             Print only errors.
              -v, --verbose           Print more detail about each step.
              --version               Show the version.
              -h, --help              Show help information.


            """)
    }
}

func assertSameLines(_ actual: String, _ expected: String, line: UInt = #line) {
    let a = actual.split(separator: "\n", omittingEmptySubsequences: false)
    let e = expected.split(separator: "\n", omittingEmptySubsequences: false)
    for (i, (x, y)) in zip(a, e).enumerated() where x != y {
        XCTFail("line \(i + 1): got \(x.debugDescription), expected \(y.debugDescription)", line: line)
        return
    }
    XCTAssertEqual(a.count, e.count, "line count", line: line)
}

final class CLIExitCodeTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws { dir = try TempDirectory.make("cli") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func testBadUsageIs64() throws {
        XCTAssertEqual(try runIngot(["build", "x.gguf", "-o", "out.bin"]).status, 64)
        XCTAssertEqual(try runIngot(["build", "x.gguf", "-o", "o.ingot", "--zstd-level", "40"]).status, 64)
        XCTAssertEqual(try runIngot(["build", "x.gguf", "-o", "o.ingot", "--compress", "maybe"]).status, 64)
        XCTAssertEqual(try runIngot(["inspect"]).status, 64)
    }

    func testMissingInputIs66WithTheFileNamed() throws {
        let r = try runIngot(["inspect", "/nonexistent/model.gguf"])
        XCTAssertEqual(r.status, 66)
        XCTAssertEqual(r.stderr, "ingot: error: /nonexistent/model.gguf: cannot open: No such file or directory\n")
    }

    func testCorruptInputIs65() throws {
        let bad = dir.appendingPathComponent("bad.gguf")
        try Data("GGUF but not really".utf8).write(to: bad)
        let r = try runIngot(["inspect", bad.path])
        XCTAssertEqual(r.status, 65)
        XCTAssertTrue(r.stderr.hasPrefix("ingot: error: \(bad.path): header.version: value "), r.stderr)
        let art = dir.appendingPathComponent("bad.ingot")
        try Data(repeating: 7, count: 200).write(to: art)
        XCTAssertEqual(try runIngot(["inspect", art.path]).status, 65)
    }

    func testUnsupportedIs69() throws {
        try #"{"model_type": "t5"}"#.write(to: dir.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        try SafetensorsWriter.write([.f32("x", [2])], to: dir.appendingPathComponent("model.safetensors"))
        let r = try runIngot(["build", dir.path, "-o", dir.appendingPathComponent("o.ingot").path])
        XCTAssertEqual(r.status, 69)
        XCTAssertEqual(r.stderr, "ingot: error: \(dir.path)/config.json: model_type: value \"t5\", expected one of \"bert\", \"roberta\", \"xlm-roberta\", \"distilbert\", \"mpnet\", \"llama\", \"qwen2\", \"gemma3_text\"\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("o.ingot").path))
    }

    func testUnwritableOutputIs74() throws {
        guard let model = TestPaths.require(TestPaths.miniLMDir) else {
            if TestPaths.isCI { XCTFail("MiniLM missing") }
            throw XCTSkip("MiniLM not cached")
        }
        XCTAssertEqual(try runIngot(["build", model.path, "-o", "/nonexistent-dir/m.ingot"]).status, 74)
    }

    func testBuildThenInspectJSONAndGraph() throws {
        guard let model = TestPaths.require(TestPaths.miniLMDir) else {
            if TestPaths.isCI { XCTFail("MiniLM missing") }
            throw XCTSkip("MiniLM not cached")
        }
        let out = dir.appendingPathComponent("m.ingot").path
        let build = try runIngot(["build", model.path, "-o", out])
        XCTAssertEqual(build.status, 0, build.stderr)
        XCTAssertTrue(build.stdout.hasPrefix("built \(out): bert, 101 tensors, 22565376 parameters\n"), build.stdout)
        let inspect = try runIngot(["inspect", out, "--json", "--verify"])
        XCTAssertEqual(inspect.status, 0, inspect.stderr)
        let json = try JSONValue.parse(inspect.stdout)
        XCTAssertEqual(json["architecture"]?.string, "bert")
        XCTAssertEqual(json["parameters"]?.int, 22_565_376)
        XCTAssertEqual(json["tensors"]?.array?.count, 101)
        XCTAssertNil(json["graph"])
        let graph = try runIngot(["inspect", out, "--graph"])
        let golden = try String(contentsOf: TestPaths.fixtures.appendingPathComponent("ir/minilm.txt"), encoding: .utf8)
        XCTAssertTrue(graph.stdout.hasSuffix(golden), "the printed graph equals Fixtures/ir/minilm.txt")
        let onCheckpoint = try runIngot(["inspect", model.path, "--graph"])
        XCTAssertEqual(onCheckpoint.status, 64)
    }
}

final class LeanRunnerTests: XCTestCase {
    func testLeanRunnerLinksNoFoundationAndMatchesIngotRun() throws {
        guard let model = TestPaths.require(TestPaths.miniLMDir) else {
            if TestPaths.isCI { XCTFail("MiniLM missing") }
            throw XCTSkip("MiniLM not cached")
        }
        let dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let runner = dir.appendingPathComponent("ingot-run")
        guard FileManager.default.isExecutableFile(atPath: runner.path) else {
            if TestPaths.isCI { XCTFail("ingot-run is not built beside \(dir.path)") }
            throw XCTSkip("ingot-run not built")
        }
        let tmp = try TempDirectory.make("lean")
        let artifact = tmp.appendingPathComponent("m.ingot").path
        XCTAssertEqual(try runIngot(["build", model.path, "-o", artifact, "-q"]).status, 0)

        let ldd = Process()
        ldd.executableURL = URL(fileURLWithPath: "/usr/bin/ldd")
        ldd.arguments = [runner.path]
        let pipe = Pipe()
        ldd.standardOutput = pipe
        try ldd.run()
        let libraries = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        ldd.waitUntilExit()
        XCTAssertFalse(libraries.contains("Foundation"), libraries)
        XCTAssertFalse(libraries.contains("libswiftCore"), "the Swift runtime is linked statically")

        func run(_ exe: URL, _ args: [String]) throws -> (Int32, String) {
            let p = Process()
            p.executableURL = exe
            p.arguments = args
            let out = Pipe()
            p.standardOutput = out
            p.standardError = Pipe()
            try p.run()
            let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            return (p.terminationStatus, text)
        }
        let lean = try run(runner, [artifact, "--text", "How do I deploy a model?"])
        let full = try runIngot(["run", artifact, "--text", "How do I deploy a model?"])
        XCTAssertEqual(lean.0, 0)
        XCTAssertEqual(lean.1, full.stdout)
        XCTAssertEqual(try run(runner, [artifact, "--bogus"]).0, 64)
        XCTAssertEqual(try run(runner, ["/nonexistent.ingot", "--text", "x"]).0, 66)
    }
}
