// BuildEvaluation: after an optimizing build, compares the written artifact with the
// float32 baseline artifact built from the same checkpoint without passes: accuracy on the
// evaluation data, latency interleaved in this process, load times, sizes. The caller
// turns the result into a report; this file does no formatting.

import IngotArtifact
import IngotCore
import IngotIR
import IngotRuntime

public struct BuildEvaluation: Sendable {
    public var accuracy: AccuracyComparison?
    public var latency: [LatencyPair]
    public var loadSecondsBaseline: Double
    public var loadSeconds: Double
    public var threads: Int

    public struct Settings: Sendable {
        public var runs = 20
        public var encoderSequences = [16, 128]
        public var prompt = 128
        public var decode = 32
        public var perplexityWindow = 256
        public var maxEvaluationWindows = 8
        public init() {}
    }

    /// `baselinePath` and `optimizedPath` are artifacts; `data` may be nil (no accuracy then).
    public static func run(baselinePath: String, optimizedPath: String, data: EvaluationData?, settings: Settings,
                           log: (String) -> Void) throws -> BuildEvaluation {
        let t0 = monotonicSeconds()
        // Both files were just written by this build: INGOT_TRUSTED_KEY is for loading artifacts from elsewhere.
        let baseline = try Model(path: baselinePath, trust: .unchecked)
        let t1 = monotonicSeconds()
        let optimized = try Model(path: optimizedPath, trust: .unchecked)
        let t2 = monotonicSeconds()
        let isEncoder = baseline.outputNames.contains("embedding")
        var accuracy: AccuracyComparison?
        if let data {
            log("evaluating accuracy")
            if isEncoder {
                accuracy = try AccuracyEvaluator.encoders(baseline: baseline, candidate: optimized, sentences: data.evaluationSentences)
            } else {
                let window = min(settings.perplexityWindow, max(2, data.evaluationTokens.count))
                accuracy = try AccuracyEvaluator.languageModels(baseline: baseline, candidate: optimized, ids: data.evaluationTokens,
                                                                window: window, maxWindows: settings.maxEvaluationWindows)
            }
        }
        log("timing baseline and optimized, interleaved")
        let latency = isEncoder
            ? try LatencyComparison.encoders(baseline: baseline, candidate: optimized, sequences: settings.encoderSequences, runs: settings.runs)
            : try LatencyComparison.languageModels(baseline: baseline, candidate: optimized, prompt: settings.prompt,
                                                   decode: settings.decode, runs: max(3, settings.runs / 4))
        return BuildEvaluation(accuracy: accuracy, latency: latency, loadSecondsBaseline: t1 - t0, loadSeconds: t2 - t1,
                               threads: Threads.pool.count)
    }
}
