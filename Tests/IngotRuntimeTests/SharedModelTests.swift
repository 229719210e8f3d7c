// One loaded Model shared by several threads, each with its own Session (the contract Model
// documents): MiniLM embeddings and a KV-cache decoder's greedy continuations computed on
// four threads at once equal, bit for bit, the same work done serially. scripts/tsan.sh runs
// these under ThreadSanitizer.
import Foundation
import XCTest
import IngotCore
import IngotTestSupport
@testable import IngotRuntime

/// What each thread produced, or the error it met; written under a lock.
private final class ThreadResults<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [Int: Result<Value, Error>] = [:]

    func set(_ t: Int, _ result: Result<Value, Error>) {
        lock.lock()
        values[t] = result
        lock.unlock()
    }

    func get(_ t: Int) throws -> Value {
        lock.lock()
        defer { lock.unlock() }
        return try XCTUnwrap(values[t], "thread \(t) produced nothing").get()
    }
}

/// Starts `count` threads that wait on one signal, releases them together, waits for all.
private func onThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let done = DispatchGroup()
    let go = DispatchSemaphore(value: 0)
    for t in 0..<count {
        done.enter()
        let thread = Thread {
            go.wait()
            body(t)
            done.leave()
        }
        thread.stackSize = 8 << 20
        thread.start()
    }
    for _ in 0..<count { go.signal() }
    done.wait()
}

final class SharedModelTests: XCTestCase {
    static let threads = 4

    func testMiniLMOnFourThreadsEqualsASerialRun() throws {
        let model = try Model(path: try BuiltArtifacts.miniLM())
        let text = try String(contentsOf: TestPaths.fixtures.appendingPathComponent("eval/minilm-dev-sentences.txt"), encoding: .utf8)
        let sentences = text.split(separator: "\n").prefix(4 * SharedModelTests.threads).map(String.init)
        // Per thread: its four sentences as one padded batch [4, S], then each alone [1, S_i],
        // so sessions also build plans for different shapes at the same time.
        let work: @Sendable (Encoder, Int) throws -> [[Float]] = { encoder, t in
            let mine = Array(sentences[(4 * t)..<(4 * t + 4)])
            return try encoder.embed(mine) + mine.flatMap { try encoder.embed([$0]) }
        }
        let serial = try Encoder(model: model)
        let expected = try (0..<SharedModelTests.threads).map { try work(serial, $0) }

        let results = ThreadResults<[[Float]]>()
        onThreads(SharedModelTests.threads) { t in
            results.set(t, Result { try work(try Encoder(model: model), t) })
        }
        for t in 0..<SharedModelTests.threads {
            let got = try results.get(t)
            XCTAssertEqual(got.count, 8)
            XCTAssertEqual(got.first?.count, 384)
            XCTAssertEqual(got, expected[t], "thread \(t): embeddings differ from the serial run")
        }
    }

    /// The tiny LLaMA of the GGUF fuzz seeds (SmolLM2's tokenizer cut to 400 tokens, hidden 32,
    /// one layer, random quantized weights): every thread's session keeps its own KV cache.
    func testKVCacheDecoderOnFourThreadsEqualsASerialRun() throws {
        let source = TestPaths.fixtures.appendingPathComponent("fuzz/gguf/tiny-llama.gguf")
        let model = try Model(path: try BuiltArtifacts.path(for: source, name: "tiny-llama"))
        var greedy = GenerationOptions()
        greedy.maxTokens = 24
        greedy.temperature = 0
        let options = greedy
        // Thread t: a prompt of 3 + 2t ids among the 383 ordinary tokens (17 control tokens first).
        var prompts: [[Int32]] = []
        for t in 0..<SharedModelTests.threads {
            prompts.append((0..<(3 + 2 * t)).map { i -> Int32 in Int32(17 + (37 * t + 11 * i) % 383) })
        }
        let work: @Sendable (Int) throws -> [Int32] = { [prompts] t in
            try LanguageModel(model: model, maxContext: 64).generate(prompt: prompts[t], options: options)
        }
        let expected = try (0..<SharedModelTests.threads).map(work)
        XCTAssertEqual(expected.map(\.count), [24, 24, 24, 24], "greedy decoding stops only at max-tokens here")
        XCTAssertGreaterThan(Set(expected).count, 1, "different prompts continue differently")

        let results = ThreadResults<[Int32]>()
        onThreads(SharedModelTests.threads) { t in results.set(t, Result { try work(t) }) }
        for t in 0..<SharedModelTests.threads {
            XCTAssertEqual(try results.get(t), expected[t], "thread \(t): continuation differs from the serial run")
        }
    }
}
