// LanguageModel: next-token work on top of a Session for decoder artifacts (graph inputs
// input_ids and position_ids, output logits): logits for a sequence, perplexity under the
// reference protocol, and token generation with sampling. Tokenization is not done here.

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

public struct GenerationOptions: Sendable {
    public var maxTokens = 64
    /// 0 means greedy (argmax).
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

    /// Perplexity protocol of shared/reference: full windows of `window` tokens from the
    /// start (the tail is dropped), each run alone from position 0, every token but the
    /// window's first scored, log-softmax in Float64.
    public func perplexity(ids: [Int32], window: Int, progress: ((Int, Int) -> Void)? = nil) throws -> PerplexityResult {
        guard window >= 2 else { throw IngotError(.invalidArgument, location: "window", "value \(window), expected at least 2") }
        let windows = ids.count / window
        guard windows > 0 else {
            throw IngotError(.invalidArgument, location: "text", "\(ids.count) tokens, expected at least one full window of \(window)")
        }
        var nll = 0.0
        var scored = 0
        for w in 0..<windows {
            progress?(w, windows)
            session.reset()
            let chunk = Array(ids[(w * window)..<((w + 1) * window)])
            let logits = try self.logits(ids: chunk)
            for t in 0..<(window - 1) {
                nll -= logSoftmax(logits, row: t, width: vocabularySize, at: Int(chunk[t + 1]))
                scored += 1
            }
        }
        session.reset()
        progress?(windows, windows)
        return PerplexityResult(perplexity: exp(nll / Double(scored)), nll: nll, tokens: ids.count, scored: scored, windows: windows)
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

/// log softmax(logits[row])[index], computed in Float64.
func logSoftmax(_ logits: [Float], row: Int, width: Int, at index: Int) -> Double {
    let base = row * width
    var m = -Double.infinity
    for j in 0..<width { m = max(m, Double(logits[base + j])) }
    var sum = 0.0
    for j in 0..<width { sum += exp(Double(logits[base + j]) - m) }
    return Double(logits[base + index]) - m - log(sum)
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
        if options.temperature <= 0 { return Int32(argmax(logits)) }
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
