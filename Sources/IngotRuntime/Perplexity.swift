// Perplexity: the one implementation of the reference perplexity protocol of shared/reference
// (full windows of `window` tokens from the start, the tail dropped, each window run alone
// from position 0, every token but a window's first scored) and of the Float64 log-softmax it
// scores with. `LanguageModel.perplexity` and IngotEval's accuracy comparison both use it.
// Running the model is not done here: callers hand in each window's logits.

import IngotCore

#if canImport(Glibc)
import Glibc
#endif

/// The windows a text of `tokens` ids is cut into.
public struct PerplexityWindows: Sendable, Equatable {
    /// Tokens per window.
    public let window: Int
    /// Full windows scored (at most the `maxWindows` asked for).
    public let count: Int

    /// `text` names the token sequence in the error when not even one window fits.
    public init(tokens: Int, window: Int, maxWindows: Int = .max, text: String = "text") throws {
        guard window >= 2 else { throw IngotError(.invalidArgument, location: "window", "value \(window), expected at least 2") }
        let count = min(tokens / window, maxWindows)
        guard count > 0 else {
            throw IngotError(.invalidArgument, location: text, "\(tokens) tokens, expected at least one full window of \(window)")
        }
        self.window = window
        self.count = count
    }

    /// ids of window `index`: [window].
    public func ids(_ index: Int, of ids: [Int32]) -> [Int32] {
        Array(ids[(index * window)..<((index + 1) * window)])
    }
}

/// Negative log-likelihood summed over scored tokens, in the order they are scored.
public struct NegativeLogLikelihood: Sendable, Equatable {
    /// Total (nats).
    public private(set) var total = 0.0
    /// Tokens scored so far.
    public private(set) var scored = 0

    public init() {}

    /// Scores every token of `window` but the first against the logits [window.count, vocabulary]
    /// the model gave for `window` run alone.
    public mutating func add(logits: [Float], window: [Int32], vocabulary: Int) {
        for t in 0..<(window.count - 1) {
            total -= logSoftmax(logits, row: t, width: vocabulary, at: Int(window[t + 1]))
            scored += 1
        }
    }

    /// exp(total / scored).
    public var perplexity: Double { exp(total / Double(scored)) }
}

/// log softmax(logits[row])[index], computed in Float64; `logits` is [rows, width].
public func logSoftmax(_ logits: [Float], row: Int, width: Int, at index: Int) -> Double {
    let base = row * width
    return LogPartition(logits[base..<base + width]).logProbability(logits[base + index])
}

/// A row's log-partition log Σ_j exp(x_j), kept as its two terms (max and log Σ exp(x_j − max))
/// so that log-probabilities are x − max − logSum in one fixed order. Perplexity and the
/// calibration KL both go through it.
public struct LogPartition {
    public let max: Double
    public let logSum: Double

    @inlinable public init<Row: Collection>(_ row: Row) where Row.Element == Float {
        var m = -Double.infinity
        for x in row { m = Swift.max(m, Double(x)) }
        var sum = 0.0
        for x in row { sum += exp(Double(x) - m) }
        self.max = m
        self.logSum = log(sum)
    }

    /// log softmax(row) at an entry whose logit is `x`.
    @inlinable public func logProbability(_ x: Float) -> Double { Double(x) - max - logSum }
}
