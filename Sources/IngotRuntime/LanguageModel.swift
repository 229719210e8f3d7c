// LanguageModel: next-token work on top of a Session for decoder artifacts (graph inputs
// input_ids and position_ids, output logits): logits for a sequence, perplexity under the
// reference protocol (counted by Perplexity.swift), and token generation with sampling.
// Tokenization and option checks (GenerationSetup.swift) are not done here.

import IngotCore

public struct PerplexityResult: Sendable, Equatable {
    public var perplexity: Double
    /// Total negative log-likelihood (nats) of the scored tokens.
    public var nll: Double
    /// Tokens in the text.
    public var tokens: Int
    /// Tokens whose probability was scored.
    public var scored: Int
    public var windows: Int
}

public struct GenerationOptions: Sendable, Equatable {
    public var maxTokens = 64
    /// 0 means greedy (argmax); so does anything below `greedyTemperatureFloor` (or NaN).
    public var temperature: Float = 0
    /// Keep only the k most likely tokens (0: off).
    public var topK = 0
    /// Keep the smallest set of tokens whose probability reaches p (1: off).
    public var topP: Float = 1
    /// > 1 discourages tokens already in the context (CTRL-style division of positive logits).
    public var repetitionPenalty: Float = 1
    public var seed: UInt64 = 0
    /// Stop when one of these ids is produced (it is not returned).
    public var stopTokens: Set<Int32> = []

    public init() {}

    /// Temperatures below this choose greedily: dividing logits by a smaller one overflows
    /// Float and would sample from NaN probabilities.
    public static let greedyTemperatureFloor: Float = 1e-6
}

public final class LanguageModel {
    public let session: Session
    public let vocabularySize: Int

    public init(model: Model, maxContext: Int = 8192) throws {
        let g = model.graph
        guard model.inputNames == ["input_ids", "position_ids"], model.outputNames == ["logits"] else {
            throw IngotError(.unsupported, file: model.path,
                             "not a language model: inputs \(model.inputNames), outputs \(model.outputNames); expected inputs input_ids, position_ids and output logits")
        }
        guard let v = g.type(of: g.outputs[0]).shape.dims.last?.fixedValue else {
            throw IngotError(.format, file: model.path, location: "logits", "the vocabulary dimension is not fixed")
        }
        vocabularySize = v
        session = model.makeSession(maxContext: maxContext)
    }

    /// Logits [ids.count, vocab] for `ids` appended after what the session has cached.
    public func logits(ids: [Int32]) throws -> [Float] {
        guard !ids.isEmpty else { throw IngotError(.invalidArgument, location: "ids", "empty; at least one token is needed") }
        let past = session.pastLength
        let positions = (0..<ids.count).map { Int32(past + $0) }
        let out = try session.run(inputs: [
            "input_ids": HostTensor(shape: [1, ids.count], ints: ids),
            "position_ids": HostTensor(shape: [1, ids.count], ints: positions),
        ])
        return out["logits"]!.floats!
    }

    /// Perplexity under the reference protocol (PerplexityWindows, NegativeLogLikelihood).
    public func perplexity(ids: [Int32], window: Int, progress: ((Int, Int) -> Void)? = nil) throws -> PerplexityResult {
        let windows = try PerplexityWindows(tokens: ids.count, window: window)
        var nll = NegativeLogLikelihood()
        for w in 0..<windows.count {
            progress?(w, windows.count)
            session.reset()
            let chunk = windows.ids(w, of: ids)
            nll.add(logits: try self.logits(ids: chunk), window: chunk, vocabulary: vocabularySize)
        }
        session.reset()
        progress?(windows.count, windows.count)
        return PerplexityResult(perplexity: nll.perplexity, nll: nll.total, tokens: ids.count, scored: nll.scored, windows: windows.count)
    }

    /// Generates after `prompt` (prefilled in one batched pass); calls `onToken` as each id is chosen.
    public func generate(prompt: [Int32], options: GenerationOptions, onToken: (Int32) throws -> Bool = { _ in true }) throws -> [Int32] {
        session.reset()
        var rng = SplitMix64(seed: options.seed)
        var context = prompt
        var produced: [Int32] = []
        var logits = try self.logits(ids: prompt)
        var row = prompt.count - 1
        while produced.count < options.maxTokens {
            var last = Array(logits[(row * vocabularySize)..<((row + 1) * vocabularySize)])
            let next = Sampler.choose(&last, context: context, options: options, rng: &rng)
            if options.stopTokens.contains(next) { break }
            produced.append(next)
            context.append(next)
            guard try onToken(next), produced.count < options.maxTokens else { break }
            logits = try self.logits(ids: [next])
            row = 0
        }
        return produced
    }
}

extension LanguageModel {
    /// Generated ids as an async stream; cancelling the consumer stops generation.
    public func tokens(prompt: [Int32], options: GenerationOptions) -> AsyncThrowingStream<Int32, Error> {
        AsyncThrowingStream { continuation in
            let task = Task.detached { [self] in
                do {
                    _ = try self.generate(prompt: prompt, options: options) { id in
                        continuation.yield(id)
                        return !Task.isCancelled
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif

enum Sampler {
    /// Picks the next id from one row of logits (modified in place by the penalties).
    static func choose(_ logits: inout [Float], context: [Int32], options: GenerationOptions, rng: inout SplitMix64) -> Int32 {
        if options.repetitionPenalty != 1 {
            for id in Set(context) where Int(id) < logits.count {
                let l = logits[Int(id)]
                logits[Int(id)] = l > 0 ? l / options.repetitionPenalty : l * options.repetitionPenalty
            }
        }
        guard options.temperature >= GenerationOptions.greedyTemperatureFloor else { return Int32(argmax(logits)) }
        var candidates = logits.indices.map { ($0, logits[$0] / options.temperature) }
        candidates.sort { $0.1 > $1.1 || ($0.1 == $1.1 && $0.0 < $1.0) }
        if options.topK > 0 { candidates = Array(candidates.prefix(options.topK)) }
        let m = candidates[0].1
        var probs = candidates.map { Double(exp($0.1 - m)) }
        let total = probs.reduce(0, +)
        probs = probs.map { $0 / total }
        if options.topP < 1 {
            var acc = 0.0
            var keep = 0
            for p in probs { acc += p; keep += 1; if acc >= Double(options.topP) { break } }
            candidates = Array(candidates.prefix(keep))
            probs = Array(probs.prefix(keep))
            let s = probs.reduce(0, +)
            probs = probs.map { $0 / s }
        }
        let u = Double(rng.next() >> 11) / Double(1 << 53)
        var acc = 0.0
        for (i, p) in probs.enumerated() {
            acc += p
            if u < acc { return Int32(candidates[i].0) }
        }
        return Int32(candidates[candidates.count - 1].0)
    }

    static func argmax(_ x: [Float]) -> Int {
        var best = 0
        for i in 1..<x.count where x[i] > x[best] { best = i }
        return best
    }
}
