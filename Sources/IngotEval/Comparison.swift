// Comparison: accuracy and latency of an optimized model against its float32 baseline on
// the same evaluation data, in one process. Accuracy for encoders: cosine of sentence
// embeddings (mean, min) and nearest-neighbour agreement; for language models: perplexity
// of both under the reference protocol, top-1 next-token agreement and mean KL. Latency:
// both models timed interleaved (baseline run, optimized run, repeat) so drift hits both.

import IngotCore
import IngotRuntime

#if canImport(Glibc)
import Glibc
#endif

public struct AccuracyComparison: Sendable {
    public enum Task: String, Sendable { case embedding, languageModel = "language_model" }
    public var task: Task
    public var samples: Int
    public var cosineMean: Double?
    public var cosineMin: Double?
    public var top1Agreement: Double?
    public var top5Agreement: Double?
    public var perplexityBaseline: Double?
    public var perplexity: Double?
    public var nextTokenTop1Agreement: Double?
    public var klMean: Double?

    public var perplexityDeltaPercent: Double? {
        guard let a = perplexityBaseline, let b = perplexity, a > 0 else { return nil }
        return (b / a - 1) * 100
    }
}

public enum AccuracyEvaluator {
    /// Embeddings of both models for the sentences; neighbours are searched among the sentences themselves.
    public static func encoders(baseline: Model, candidate: Model, sentences: [[Int32]]) throws -> AccuracyComparison {
        func embed(_ m: Model) throws -> [[Float]] {
            let e = try Encoder(model: m)
            var out: [[Float]] = []
            for start in stride(from: 0, to: sentences.count, by: 16) {
                out += try e.embed(ids: Array(sentences[start..<min(sentences.count, start + 16)]))
            }
            return out
        }
        let a = try embed(baseline), b = try embed(candidate)
        return compareEmbeddings(a, b)
    }

    public static func compareEmbeddings(_ a: [[Float]], _ b: [[Float]]) -> AccuracyComparison {
        let cos = zip(a, b).map { cosine($0, $1) }
        var top1 = 0.0, top5 = 0.0
        if a.count > 5 {
            for i in a.indices {
                let na = neighbours(of: i, in: a, count: 5), nb = neighbours(of: i, in: b, count: 5)
                if na[0] == nb[0] { top1 += 1 }
                top5 += Double(Set(na).intersection(nb).count) / 5
            }
        }
        let n = Double(max(a.count, 1))
        return AccuracyComparison(task: .embedding, samples: a.count, cosineMean: cos.reduce(0, +) / n, cosineMin: cos.min(),
                                  top1Agreement: a.count > 5 ? top1 / n : nil, top5Agreement: a.count > 5 ? top5 / n : nil)
    }

    /// Indices of the `count` most similar other rows (cosine), most similar first; ties by index.
    static func neighbours(of i: Int, in rows: [[Float]], count: Int) -> [Int] {
        let scored = rows.indices.filter { $0 != i }.map { ($0, cosine(rows[i], rows[$0])) }
        return scored.sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }.prefix(count).map(\.0)
    }

    /// Both models under the reference perplexity protocol (PerplexityWindows,
    /// NegativeLogLikelihood), at most `maxWindows` windows; KL and top-1 agreement on the
    /// same scored positions.
    public static func languageModels(baseline: Model, candidate: Model, ids: [Int32], window: Int,
                                      maxWindows: Int = .max) throws -> AccuracyComparison {
        let windows = try PerplexityWindows(tokens: ids.count, window: window, maxWindows: maxWindows, text: "evaluation text")
        let a = try LanguageModel(model: baseline, maxContext: window), b = try LanguageModel(model: candidate, maxContext: window)
        var nllA = NegativeLogLikelihood(), nllB = NegativeLogLikelihood()
        var kl = 0.0, agree = 0
        for w in 0..<windows.count {
            let chunk = windows.ids(w, of: ids)
            a.session.reset()
            b.session.reset()
            let la = try a.logits(ids: chunk), lb = try b.logits(ids: chunk)
            let vocab = a.vocabularySize
            nllA.add(logits: la, window: chunk, vocabulary: vocab)
            nllB.add(logits: lb, window: chunk, vocabulary: vocab)
            let pairs = klAndAgreement(la, lb, vocab: vocab)
            for t in 0..<(window - 1) {
                kl += pairs[t].0
                if pairs[t].1 { agree += 1 }
            }
        }
        let n = Double(nllA.scored)
        return AccuracyComparison(task: .languageModel, samples: nllA.scored, perplexityBaseline: nllA.perplexity, perplexity: nllB.perplexity,
                                  nextTokenTop1Agreement: Double(agree) / n, klMean: kl / n)
    }
}

/// One latency row: the same workload on both models, samples in seconds.
public struct LatencyPair: Sendable {
    public var label: String
    /// "ms" (per call) or "tok/s" (decode/prefill rows report throughput in tokens per second).
    public var unit: String
    public var itemsPerSample: Int
    public var baseline: [Double]
    public var optimized: [Double]
}

public enum LatencyComparison {
    /// Encoder rows: batch 1 at each sequence length, `runs` interleaved samples after `warmup`.
    public static func encoders(baseline: Model, candidate: Model, sequences: [Int], runs: Int, warmup: Int = 3) throws -> [LatencyPair] {
        let a = try Encoder(model: baseline), b = try Encoder(model: candidate)
        let spec = baseline.tokenizerSpec
        // Inside the vocabulary of any model (MiniLM: [CLS] 1000… [SEP], ids 101 … 2999, 102).
        let vocabulary = max(spec?.tokens.count ?? 1, 1)
        let cls = spec?.specialTokens["cls"] ?? 0, sep = spec?.specialTokens["sep"] ?? 0
        return try sequences.map { seq in
            let ids = [[cls] + (0..<max(seq - 2, 0)).map { Int32((1000 + $0 % 2000) % vocabulary) } + [sep]]
            for _ in 0..<warmup { _ = try a.run(ids: ids); _ = try b.run(ids: ids) }
            var sa: [Double] = [], sb: [Double] = []
            for _ in 0..<runs {
                sa.append(try seconds { _ = try a.run(ids: ids) })
                sb.append(try seconds { _ = try b.run(ids: ids) })
            }
            return LatencyPair(label: "seq\(seq)", unit: "ms", itemsPerSample: 1, baseline: sa, optimized: sb)
        }
    }

    /// Language-model rows: prefill of `prompt` tokens and `decode` single-token steps, interleaved.
    public static func languageModels(baseline: Model, candidate: Model, prompt: Int, decode: Int, runs: Int,
                                      warmup: Int = 1) throws -> [LatencyPair] {
        let a = try LanguageModel(model: baseline, maxContext: prompt + decode + 1)
        let b = try LanguageModel(model: candidate, maxContext: prompt + decode + 1)
        let vocabulary = a.vocabularySize
        let ids = (0..<prompt).map { Int32((100 + $0 % 1000) % vocabulary) }
        func prefill(_ m: LanguageModel) throws -> Double {
            m.session.reset()
            return try seconds { _ = try m.logits(ids: ids) }
        }
        func decodeSteps(_ m: LanguageModel) throws -> Double {
            try seconds { for i in 0..<decode { _ = try m.logits(ids: [Int32((200 + i) % vocabulary)]) } }
        }
        for _ in 0..<warmup { _ = try prefill(a); _ = try decodeSteps(a); _ = try prefill(b); _ = try decodeSteps(b) }
        var pa: [Double] = [], pb: [Double] = [], da: [Double] = [], db: [Double] = []
        for _ in 0..<runs {
            pa.append(try prefill(a)); da.append(try decodeSteps(a))
            pb.append(try prefill(b)); db.append(try decodeSteps(b))
        }
        return [LatencyPair(label: "prefill\(prompt)", unit: "tok/s", itemsPerSample: prompt, baseline: pa, optimized: pb),
                LatencyPair(label: "decode", unit: "tok/s", itemsPerSample: decode, baseline: da, optimized: db)]
    }

    static func seconds(_ body: () throws -> Void) rethrows -> Double {
        var t0 = timespec(), t1 = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t0)
        try body()
        clock_gettime(CLOCK_MONOTONIC, &t1)
        return Double(t1.tv_sec - t0.tv_sec) + Double(t1.tv_nsec - t0.tv_nsec) * 1e-9
    }
}
