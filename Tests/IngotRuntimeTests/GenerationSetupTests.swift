// GenerationSettings, the set-up `ingot run` and `ingot-run` share: reading options from
// command-line words, their limits and exact error texts, the context-length check (no
// overflow for any --max-tokens), the greedy temperature floor, and a prepared SmolLM2
// prompt generating the PyTorch greedy tokens. The binaries themselves: IngotCLITests.
import Foundation
import XCTest
import IngotCore
import IngotTestSupport
@testable import IngotRuntime

final class GenerationSetupTests: XCTestCase {
    func read(_ words: [String]) throws -> GenerationSettings {
        var settings = GenerationSettings()
        var rest = words
        while !rest.isEmpty {
            let flag = rest.removeFirst()
            let known = try settings.read(flag: flag) { rest.removeFirst() }
            XCTAssertTrue(known, flag)
        }
        try settings.check()
        return settings
    }

    func message(_ words: [String]) -> String? {
        do { _ = try read(words); return nil } catch let e as IngotError {
            XCTAssertEqual(e.kind, .invalidArgument)
            return e.description
        } catch { return "\(error)" }
    }

    func testReadsEveryOption() throws {
        let s = try read(["--chat", "--max-tokens", "12", "--temperature", "0.7", "--top-k", "40", "--top-p", "0.9",
                          "--repetition-penalty", "1.1", "--seed", "18446744073709551615", "--ignore-eos"])
        var expected = GenerationSettings()
        expected.chat = true
        expected.options.maxTokens = 12
        expected.options.temperature = 0.7
        expected.options.topK = 40
        expected.options.topP = 0.9
        expected.options.repetitionPenalty = 1.1
        expected.options.seed = .max
        expected.ignoreEOS = true
        XCTAssertEqual(s, expected)
        var other = GenerationSettings()
        XCTAssertFalse(try other.read(flag: "--text") { "x" })
        XCTAssertEqual(other, GenerationSettings())
    }

    func testLimitsAndTheirErrorTexts() {
        XCTAssertEqual(message(["--max-tokens", "0"]), "--max-tokens: value 0, expected an integer ≥ 1")
        XCTAssertEqual(message(["--max-tokens", "x"]), "--max-tokens: value x, expected an integer ≥ 1")
        XCTAssertEqual(message(["--temperature", "-1"]), "--temperature: value -1.0, expected a finite number ≥ 0")
        XCTAssertEqual(message(["--temperature", "inf"]), "--temperature: value inf, expected a finite number ≥ 0")
        XCTAssertEqual(message(["--temperature", "nan"]), "--temperature: value nan, expected a finite number ≥ 0")
        XCTAssertEqual(message(["--top-k", "-1"]), "--top-k: value -1, expected an integer ≥ 0")
        XCTAssertEqual(message(["--top-p", "0"]), "--top-p: value 0.0, expected a number in (0, 1]")
        XCTAssertEqual(message(["--top-p", "1.5"]), "--top-p: value 1.5, expected a number in (0, 1]")
        XCTAssertEqual(message(["--top-p", "abc"]), "--top-p: value abc, expected a number in (0, 1]")
        XCTAssertEqual(message(["--repetition-penalty", "0"]), "--repetition-penalty: value 0.0, expected a finite number > 0")
        XCTAssertEqual(message(["--seed", "-1"]), "--seed: value -1, expected an integer from 0 to 18446744073709551615")
        XCTAssertNil(message(["--temperature", "0", "--top-k", "0", "--top-p", "1", "--max-tokens", "1"]))
    }

    func testContextCheckNeverOverflows() {
        var s = GenerationSettings()
        s.options.maxTokens = .max
        XCTAssertThrowsError(try s.checkContext(promptTokens: 20, contextLength: 8192)) { error in
            XCTAssertEqual((error as? IngotError)?.description,
                           "--max-tokens: value 9223372036854775807, expected at most 8172 (context length 8192 − 20 prompt tokens)")
        }
        s.options.maxTokens = 8172
        XCTAssertNoThrow(try s.checkContext(promptTokens: 20, contextLength: 8192))
        XCTAssertThrowsError(try s.checkContext(promptTokens: 8192, contextLength: 8192)) { error in
            XCTAssertEqual((error as? IngotError)?.description, "--prompt: 8192 tokens, expected fewer than the context length 8192")
        }
    }

    func testThreadsAreCappedAtFourTimesTheCPUs() throws {
        let cpus = Threads.availableCPUCount()
        XCTAssertEqual(Threads.maximumComputeThreads, 4 * cpus)
        XCTAssertEqual(try Threads.checkedCount(4 * cpus), 4 * cpus)
        XCTAssertEqual(try Threads.checkedCount(parsing: "1"), 1)
        let expected = "expected an integer from 1 to \(4 * cpus) (4 × the \(cpus) CPUs this process may use)"
        for word in ["0", "\(4 * cpus + 1)", "many"] {
            XCTAssertThrowsError(try Threads.checkedCount(parsing: word)) { error in
                XCTAssertEqual((error as? IngotError)?.description, "--threads: value \(word), \(expected)")
            }
        }
    }

    /// Below the floor, dividing by the temperature overflows Float; such temperatures are greedy.
    func testTemperaturesBelowTheFloorAreGreedy() {
        for t: Float in [1e-30, 1e-7, .leastNonzeroMagnitude] {
            var options = GenerationOptions()
            options.temperature = t
            var rng = SplitMix64(seed: 3)
            var logits: [Float] = [1, 30, 29.5, -4]
            XCTAssertEqual(Sampler.choose(&logits, context: [], options: options, rng: &rng), 1, "temperature \(t)")
        }
        var options = GenerationOptions()
        options.temperature = GenerationOptions.greedyTemperatureFloor
        var rng = SplitMix64(seed: 3)
        var logits: [Float] = [1, 30, 29.5, -4]
        XCTAssertEqual(Sampler.choose(&logits, context: [], options: options, rng: &rng), 1, "at the floor: sampled, still the peak")
    }

    /// The prepared prompt of the reference greedy run gives its ids and the 32 greedy tokens.
    func testPreparedSmolLM2PromptGeneratesTheReferenceGreedyTokens() throws {
        let model = try Model(path: try BuiltArtifacts.smolLM2())
        let greedy = try JSONValue.parse(try Array(Data(contentsOf: try referenceFile("smollm2/greedy.json"))))
        let p = try XCTUnwrap(greedy["prompts"]?.array?.first)
        var settings = GenerationSettings()
        settings.ignoreEOS = true
        let expected = (p["gen_ids"]?.array ?? []).map { Int32($0.int!) }
        settings.options.maxTokens = expected.count
        let generation = try settings.prepare(model: model, prompt: try XCTUnwrap(p["prompt_text"]?.string))
        XCTAssertEqual(generation.promptIDs, (p["prompt_ids"]?.array ?? []).map { Int32($0.int!) })
        XCTAssertEqual(generation.options.stopTokens, [])
        var text = ""
        XCTAssertEqual(try generation.run { text += $0 }, expected)
        XCTAssertEqual(text, p["gen_text"]?.string)
    }

    func testChatPromptStopsAtEndOfTurnAndChecksTheContext() throws {
        let model = try Model(path: try BuiltArtifacts.smolLM2())
        let spec = try XCTUnwrap(model.tokenizerSpec)
        let greedy = try JSONValue.parse(try Array(Data(contentsOf: try referenceFile("smollm2/greedy.json"))))
        var settings = GenerationSettings()
        settings.chat = true
        let generation = try settings.prepare(model: model, prompt: "What is the capital of France?")
        let rendered = try XCTUnwrap(greedy["chat_template_rendered"]?.string)
        XCTAssertEqual(generation.promptIDs, try ByteLevelBPETokenizer(spec).encode(rendered, addSpecialTokens: true, parseSpecial: true))
        let imEnd = Int32(try XCTUnwrap(spec.tokens.firstIndex(of: "<|im_end|>")))
        XCTAssertEqual(generation.options.stopTokens, Set([try XCTUnwrap(spec.specialTokens["eos"]), imEnd]))

        settings.options.maxTokens = .max
        XCTAssertThrowsError(try settings.prepare(model: model, prompt: "What is the capital of France?")) { error in
            let e = error as? IngotError
            XCTAssertEqual(e?.kind, .invalidArgument)
            XCTAssertEqual(e?.location, "--max-tokens")
        }
        settings.options.maxTokens = 1
        XCTAssertThrowsError(try settings.prepare(model: model, prompt: String(repeating: "word ", count: 9000)).promptIDs) { error in
            XCTAssertEqual((error as? IngotError)?.location, "--prompt")
        }
        XCTAssertThrowsError(try GenerationSettings().prepare(model: model, prompt: "")) { error in
            XCTAssertEqual((error as? IngotError)?.description, "--prompt: empty")
        }
    }
}
