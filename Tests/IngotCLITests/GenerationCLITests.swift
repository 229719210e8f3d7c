// `ingot run --prompt` and `ingot-run --prompt` as users see them: ingot-run's usage text,
// the same generation options with the same one-line error texts and exit codes in both
// (GenerationSettings), the same greedy and sampled text on SmolLM2, and the exit codes the
// help and README document matching IngotError.Kind.exitCode.
import Foundation
import XCTest
import IngotCLI
import IngotCore
import IngotRuntime
import IngotTestSupport

func runLeanRunner(_ arguments: [String]) throws -> CommandResult { try runBuiltProduct("ingot-run", arguments) }

final class GenerationCLITests: XCTestCase {
    static let leanUsage = "usage: ingot-run MODEL.ingot (--text TEXT | --prompt TEXT [--chat] [--max-tokens N] [--temperature T] [--top-k K] [--top-p P] [--repetition-penalty R] [--seed S] [--ignore-eos]) [--threads N] [--trusted-key PUB]\n"

    func testLeanRunnerUsage() throws {
        let help = try runLeanRunner(["--help"])
        XCTAssertEqual(help.status, 0)
        XCTAssertEqual(help.stdout, Self.leanUsage)
        let none = try runLeanRunner([])
        XCTAssertEqual(none.status, 64)
        XCTAssertEqual(none.stdout, Self.leanUsage)
        let missing = try runLeanRunner(["m.ingot", "--prompt", "hi", "--top-k"])
        XCTAssertEqual(missing.status, 64)
        XCTAssertEqual(missing.stderr, "ingot-run: error: --top-k needs a value\n" + Self.leanUsage)
        let unknown = try runLeanRunner(["m.ingot", "--prompt", "hi", "--top-q", "1"])
        XCTAssertEqual(unknown.status, 64)
        XCTAssertEqual(unknown.stderr, "ingot-run: error: unknown option '--top-q'\n" + Self.leanUsage)
    }

    /// Out-of-range values: one line, exit 64, the same text after each binary's prefix;
    /// checked before the artifact is opened.
    func testSharedOptionErrorsAreTheSameInBothRunners() throws {
        let cases: [([String], String)] = [
            (["--max-tokens", "0"], "--max-tokens: value 0, expected an integer ≥ 1"),
            (["--temperature", "-1"], "--temperature: value -1.0, expected a finite number ≥ 0"),
            (["--temperature", "inf"], "--temperature: value inf, expected a finite number ≥ 0"),
            (["--temperature", "nan"], "--temperature: value nan, expected a finite number ≥ 0"),
            (["--top-k", "-1"], "--top-k: value -1, expected an integer ≥ 0"),
            (["--top-p", "0"], "--top-p: value 0.0, expected a number in (0, 1]"),
            (["--top-p", "1.5"], "--top-p: value 1.5, expected a number in (0, 1]"),
            (["--repetition-penalty", "0"], "--repetition-penalty: value 0.0, expected a finite number > 0"),
        ]
        for (options, message) in cases {
            let lean = try runLeanRunner(["/nonexistent.ingot", "--prompt", "hi"] + options)
            XCTAssertEqual(lean.status, 64, options.joined(separator: " "))
            XCTAssertEqual(lean.stderr, "ingot-run: error: \(message)\n")
            // The argument parser reads "-1" as a flag, so `ingot` gets --flag=value.
            let full = try runIngot(["run", "/nonexistent.ingot", "--prompt", "hi", options[0] + "=" + options[1]])
            XCTAssertEqual(full.status, 64, options.joined(separator: " "))
            XCTAssertEqual(full.stderr, "ingot: error: \(message)\n")
        }
    }

    /// Values that are not numbers: ingot-run says what it expected; `ingot` leaves it to the argument parser.
    func testLeanRunnerNamesTheExpectedValue() throws {
        let cpus = Threads.availableCPUCount()
        let cases: [([String], String)] = [
            (["--max-tokens", "many"], "--max-tokens: value many, expected an integer ≥ 1"),
            (["--top-p", "abc"], "--top-p: value abc, expected a number in (0, 1]"),
            (["--seed", "-1"], "--seed: value -1, expected an integer from 0 to 18446744073709551615"),
            (["--threads", "0"], "--threads: value 0, expected an integer from 1 to \(4 * cpus) (4 × the \(cpus) CPUs this process may use)"),
            (["--threads", "\(4 * cpus + 1)"],
             "--threads: value \(4 * cpus + 1), expected an integer from 1 to \(4 * cpus) (4 × the \(cpus) CPUs this process may use)"),
        ]
        for (options, message) in cases {
            let lean = try runLeanRunner(["/nonexistent.ingot", "--prompt", "hi"] + options)
            XCTAssertEqual(lean.status, 64, options.joined(separator: " "))
            XCTAssertEqual(lean.stderr, "ingot-run: error: \(message)\n")
        }
        let threads = try runIngot(["run", "/nonexistent.ingot", "--prompt", "hi", "--threads", "\(4 * cpus + 1)"])
        XCTAssertEqual(threads.status, 64)
        XCTAssertTrue(threads.stderr.hasPrefix(
            "Error: --threads: value \(4 * cpus + 1), expected an integer from 1 to \(4 * cpus) (4 × the \(cpus) CPUs this process may use)\n"),
            threads.stderr)
    }

    func testHelpListsTheExitCodesOfTheKinds() {
        let discussion = IngotCommand.configuration.discussion
        let codes = discussion.split(separator: ";").compactMap { part in
            Int32(part.split(separator: ":").last!.trimmingCharacters(in: .whitespaces).prefix(while: \.isNumber))
        }
        XCTAssertEqual(Set(codes), Set(IngotError.Kind.allCases.map(\.exitCode)).union([0]), discussion)
    }

    // MARK: SmolLM2

    static let artifact: Result<String, Error> = Result {
        let gguf = try requireModel(TestPaths.smolLM2GGUF)
        let path = try TempDirectory.make("generation-cli").appendingPathComponent("smollm2.ingot").path
        let build = try runIngot(["build", gguf.path, "-o", path, "-q"])
        guard build.status == 0 else { throw IngotError(.internal, file: path, "ingot build failed: \(build.stderr)") }
        return path
    }

    static let prompt = "Natural language processing has recently undergone a revolution thanks to Large Language Models, often known as LLMOps"

    func testMaxTokensBeyondTheContextIsAOneLineUsageError() throws {
        let artifact = try Self.artifact.get()
        let message = "--max-tokens: value 9223372036854775807, expected at most 8172 (context length 8192 − 20 prompt tokens)\n"
        let lean = try runLeanRunner([artifact, "--prompt", Self.prompt, "--max-tokens", "9223372036854775807"])
        XCTAssertEqual(lean.status, 64)
        XCTAssertEqual(lean.stderr, "ingot-run: error: " + message)
        XCTAssertEqual(lean.stdout, "")
        let full = try runIngot(["run", artifact, "--prompt", Self.prompt, "--max-tokens", "9223372036854775807"])
        XCTAssertEqual(full.status, 64)
        XCTAssertEqual(full.stderr, "ingot: error: " + message)
    }

    /// The same greedy text from both runners: PyTorch's 32 greedy tokens when the reference is present.
    func testBothRunnersGiveTheSameGreedyText() throws {
        let artifact = try Self.artifact.get()
        let options = ["--prompt", Self.prompt, "--max-tokens", "32", "--ignore-eos"]
        let lean = try runLeanRunner([artifact] + options)
        let full = try runIngot(["run", artifact] + options)
        XCTAssertEqual(lean.status, 0, lean.stderr)
        XCTAssertEqual(full.status, 0, full.stderr)
        XCTAssertEqual(lean.stdout, full.stdout)
        if let reference = TestPaths.require(TestPaths.reference.appendingPathComponent("smollm2/greedy.json")) {
            let greedy = try JSONValue.parse(try Array(Data(contentsOf: reference)))
            let first = try XCTUnwrap(greedy["prompts"]?.array?.first)
            XCTAssertEqual(first["prompt_text"]?.string, Self.prompt)
            XCTAssertEqual(full.stdout, try XCTUnwrap(first["gen_text"]?.string) + "\n")
        }
    }

    /// `--chat` renders SmolLM2's own Jinja template and stops at its end-of-turn token
    /// (<|im_end|>): PyTorch's greedy answer up to that token.
    func testBothRunnersAnswerTheReferenceChatPromptAndStopAtEndOfTurn() throws {
        let artifact = try Self.artifact.get()
        let options = ["--prompt", "What is the capital of France?", "--max-tokens", "32", "--chat"]
        let lean = try runLeanRunner([artifact] + options)
        let full = try runIngot(["run", artifact] + options)
        XCTAssertEqual(lean.status, 0, lean.stderr)
        XCTAssertEqual(full.status, 0, full.stderr)
        XCTAssertEqual(lean.stdout, full.stdout)
        let greedy = try JSONValue.parse(try Array(Data(contentsOf: try referenceFile("smollm2/greedy.json"))))
        let answer = try XCTUnwrap(greedy["prompts"]?.array?[1]["gen_text"]?.string)
        XCTAssertEqual(full.stdout, String(try XCTUnwrap(answer.components(separatedBy: "<|im_end|>").first)) + "\n")
        let inspect = try runIngot(["inspect", artifact])
        XCTAssertTrue(inspect.stdout.contains("chat_template: the model's own"), inspect.stdout)
    }

    func testBothRunnersSampleTheSameText() throws {
        let artifact = try Self.artifact.get()
        let options = ["--prompt", "The capital of France is", "--max-tokens", "8", "--temperature", "0.8", "--top-k", "40",
                       "--top-p", "0.9", "--repetition-penalty", "1.2", "--seed", "7", "--chat"]
        let lean = try runLeanRunner([artifact] + options)
        let full = try runIngot(["run", artifact] + options)
        XCTAssertEqual(lean.status, 0, lean.stderr)
        XCTAssertEqual(full.status, 0, full.stderr)
        XCTAssertFalse(full.stdout.isEmpty)
        XCTAssertEqual(lean.stdout, full.stdout)
    }
}
