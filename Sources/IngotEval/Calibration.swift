// Calibration: the Calibrator the quantization and pruning passes use — runs a graph on
// calibration data (sentences for encoders, token windows for language models) to gather
// activation statistics, and measures a candidate graph's output error against the float
// graph: 1 − mean cosine of sentence embeddings (encoders), or mean KL divergence of
// next-token distributions in nats (language models). No pass logic lives here.

import IngotAutodiff
import IngotCore
import IngotIR
import IngotPasses
import IngotRuntime

#if canImport(Glibc)
import Glibc
#endif

/// Token ids to calibrate or evaluate on.
public enum CalibrationData: Sendable {
    /// Tokenized sentences ([CLS] … [SEP]) for encoders.
    case sentences([[Int32]])
    /// Windows of consecutive tokens for language models, each run alone from position 0.
    case windows([[Int32]])

    public var count: Int {
        switch self {
        case .sentences(let s): return s.count
        case .windows(let w): return w.count
        }
    }
}

public final class ModelCalibrator: Calibrator, @unchecked Sendable {
    public let data: CalibrationData
    let models: GraphModels
    /// Samples kept per value for range estimation (rows subsampled evenly).
    let maxSampleRows = 256
    private struct ReferenceKey: Hashable {
        var graph: Int
        var items: [Int]
    }
    private var referenceOutputs: [ReferenceKey: [[Float]]] = [:]
    /// One graph's activations at the cuts resumed runs started from (ResumedRuns.swift).
    var resumePoints: [ResumePoint] = []
    /// Values (f32 or i32) the resume points may hold together: 64 Mi, 256 MB.
    let maxResumeFloats = 64 << 20
    /// Candidates measured by running only their nodes from the first one that differs from the reference.
    public internal(set) var resumedRuns = 0
    /// Measure a sentence-encoder candidate that shares its first nodes with the reference by
    /// running it from there on the reference's kept activations (false: always whole runs).
    public var resumesRuns = true

    public init(data: CalibrationData, models: GraphModels) {
        self.data = data
        self.models = models
    }

    public func statistics(of values: [ValueID], in graph: Graph) throws -> [ValueID: ActivationStatistics] {
        try collect(values, in: graph, sampleRows: maxSampleRows, stride: 4)
    }

    public func rows(of values: [ValueID], in graph: Graph, maxRows: Int) throws -> [ValueID: [Float]] {
        try collect(values, in: graph, sampleRows: maxRows, stride: 1).mapValues(\.samples)
    }

    /// Runs the calibration data; keeps every `stride`-th row (at most `sampleRows`) as samples.
    func collect(_ values: [ValueID], in graph: Graph, sampleRows: Int, stride sampleStride: Int) throws -> [ValueID: ActivationStatistics] {
        let model = try models.model(exposing(values, in: graph), label: "calibration graph")
        var maxAbs: [ValueID: [Float]] = [:], sumSq: [ValueID: [Double]] = [:], samples: [ValueID: [Float]] = [:]
        var rows: [ValueID: Int] = [:]
        let names = values.map { graph[$0].name }
        func accumulate(_ outputs: [String: HostTensor], validRows: [Range<Int>]) {
            for (id, name) in zip(values, names) {
                guard let t = outputs[name], let x = t.floats, let k = t.shape.last, k > 0 else { continue }
                var m = maxAbs[id] ?? [Float](repeating: 0, count: k)
                var s = sumSq[id] ?? [Double](repeating: 0, count: k)
                var kept = samples[id] ?? []
                // Token rows [batch, seq, k] use the valid (unpadded) ranges; a value with one row
                // per sequence (after pooling: a sentence-transformers Dense input [batch, k]) uses all.
                let ranges = t.shape.count == 2 && t.shape[0] == validRows.count ? [0..<t.shape[0]] : validRows
                for range in ranges {
                    for r in range {
                        let row = r * k
                        for j in 0..<k {
                            let v = x[row + j]
                            m[j] = max(m[j], abs(v))
                            s[j] += Double(v) * Double(v)
                        }
                        let seen = rows[id, default: 0]
                        if kept.count < sampleRows * k, seen % sampleStride == 0 { kept.append(contentsOf: x[row..<row + k]) }
                        rows[id] = seen + 1
                    }
                }
                maxAbs[id] = m
                sumSq[id] = s
                samples[id] = kept
            }
        }
        switch data {
        case .sentences(let sentences):
            let encoder = try Encoder(model: model)
            for start in stride(from: 0, to: sentences.count, by: 16) {
                let batch = Array(sentences[start..<min(sentences.count, start + 16)])
                let seq = batch.map(\.count).max()!
                let out = try encoder.run(ids: batch)
                accumulate(out, validRows: batch.enumerated().map { $0.offset * seq..<$0.offset * seq + $0.element.count })
            }
        case .windows(let windows):
            let session = model.makeSession(maxContext: windows.map(\.count).max() ?? 1)
            for w in windows {
                session.reset()
                let out = try session.run(inputs: [
                    "input_ids": HostTensor(shape: [1, w.count], ints: w),
                    "position_ids": HostTensor(shape: [1, w.count], ints: (0..<w.count).map(Int32.init)),
                ])
                accumulate(out, validRows: [0..<w.count])
            }
        }
        var result: [ValueID: ActivationStatistics] = [:]
        for id in values {
            guard let m = maxAbs[id], let s = sumSq[id] else { continue }
            result[id] = ActivationStatistics(channelMaxAbs: m, channelNorm: s.map { Float($0.squareRoot()) },
                                              samples: samples[id] ?? [], rows: rows[id] ?? 0)
        }
        return result
    }

    public var sampleCount: Int { data.count }

    public func outputError(reference: Graph, candidate: Graph) throws -> Double {
        try outputError(reference: reference, candidate: candidate, items: Array(0..<data.count))
    }

    public func outputError(reference: Graph, candidate: Graph, samples: Int) throws -> Double {
        let n = max(1, min(samples, data.count))
        return try outputError(reference: reference, candidate: candidate, items: (0..<n).map { $0 * data.count / n })
    }

    public func outputError(reference: Graph, candidate: Graph, samples: Int?, base: Graph) throws -> Double {
        let n = max(1, min(samples ?? data.count, data.count))
        return try outputError(reference: reference, candidate: candidate, items: (0..<n).map { $0 * data.count / n }, base: base)
    }

    /// The error on the given calibration items; the reference's outputs on the same items,
    /// batched the same way, are computed once per reference graph and item set. A candidate
    /// that shares its first nodes with `base` (default: the reference) runs from there.
    func outputError(reference: Graph, candidate: Graph, items: [Int], base: Graph? = nil) throws -> Double {
        let key = ReferenceKey(graph: reference.text.hashValue, items: items)
        let ref: [[Float]]
        if let known = referenceOutputs[key] {
            ref = known
        } else {
            ref = try outputs(of: reference, items: items)
            referenceOutputs = referenceOutputs.filter { $0.key.graph == key.graph }
            referenceOutputs[key] = ref
        }
        let got: [[Float]]
        if resumesRuns, let resumed = try resumedOutputs(base: base ?? reference, candidate: candidate, items: items) {
            got = resumed
        } else {
            got = try outputs(of: candidate, items: items)
        }
        switch data {
        case .sentences:
            let cosines = zip(ref, got).map { cosine($0, $1) }
            return 1 - cosines.reduce(0, +) / Double(max(cosines.count, 1))
        case .windows(let windows):
            // Each entry is one window's logits [n, vocab]; mean KL over positions.
            var total = 0.0, count = 0
            for (i, (r, c)) in zip(ref, got).enumerated() {
                for (kl, _) in klAndAgreement(r, c, vocab: r.count / windows[items[i]].count) { total += kl; count += 1 }
            }
            return total / Double(max(count, 1))
        }
    }

    /// Sentences padded per batch (input_ids, attention_mask, token_type_ids, position_ids), or
    /// windows cut to `maxTokens` (input_ids, position_ids); a sentence longer than
    /// `maxTokens` keeps its first tokens and its final [SEP].
    public func trainingBatches(batchSize: Int, maxTokens: Int) throws -> [TrainingBatch] {
        func batch(_ rows: [[Int32]], mask: Bool) -> TrainingBatch {
            let seq = rows.map(\.count).max() ?? 0
            var ids: [Int32] = [], m: [Int32] = [], pos: [Int32] = []
            for r in rows {
                ids += r + [Int32](repeating: 0, count: seq - r.count)
                m += [Int32](repeating: 1, count: r.count) + [Int32](repeating: 0, count: seq - r.count)
                pos += (0..<seq).map(Int32.init)
            }
            let shape = [rows.count, seq]
            var inputs = ["input_ids": IntTensor(shape: shape, values: ids), "position_ids": IntTensor(shape: shape, values: pos)]
            if mask {
                inputs["attention_mask"] = IntTensor(shape: shape, values: m)
                inputs["token_type_ids"] = IntTensor(shape: shape, values: [Int32](repeating: 0, count: ids.count))
            }
            return TrainingBatch(inputs)
        }
        switch data {
        case .sentences(let sentences):
            let cut = sentences.map { s in s.count <= maxTokens ? s : Array(s.prefix(maxTokens - 1)) + [s.last!] }
            return stride(from: 0, to: cut.count, by: batchSize).map { batch(Array(cut[$0..<min(cut.count, $0 + batchSize)]), mask: true) }
        case .windows(let windows):
            var pieces: [[Int32]] = []
            for w in windows {
                for start in stride(from: 0, to: w.count, by: maxTokens) where w.count - start >= 2 {
                    pieces.append(Array(w[start..<min(w.count, start + maxTokens)]))
                }
            }
            let byLength = Dictionary(grouping: pieces, by: \.count).sorted { $0.key > $1.key }
            return byLength.flatMap { _, rows in
                stride(from: 0, to: rows.count, by: batchSize).map { batch(Array(rows[$0..<min(rows.count, $0 + batchSize)]), mask: false) }
            }
        }
    }

    /// Embeddings per sentence, or logits per window, of the given calibration items.
    func outputs(of graph: Graph, items: [Int]) throws -> [[Float]] {
        let model = try models.model(graph, label: "candidate graph")
        switch data {
        case .sentences(let sentences):
            let encoder = try Encoder(model: model)
            let chosen = items.map { sentences[$0] }
            var out: [[Float]] = []
            for start in stride(from: 0, to: chosen.count, by: 16) {
                out += try encoder.embed(ids: Array(chosen[start..<min(chosen.count, start + 16)]))
            }
            return out
        case .windows(let windows):
            let chosen = items.map { windows[$0] }
            let lm = try LanguageModel(model: model, maxContext: chosen.map(\.count).max() ?? 1)
            return try chosen.map { w in
                lm.session.reset()
                return try lm.logits(ids: w)
            }
        }
    }
}

extension ModelCalibrator {
    /// Runs body(i) for i in 0..<count on the compute thread pool, each participant taking the
    /// next unclaimed item (items may differ much in size: an embedding table against a layer).
    public static func parallelFor(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
        let next = ItemCounter()
        Threads.pool.run { _ in
            while let i = next.claim(below: count) { body(i) }
        }
    }
}

/// The next unclaimed index, under a mutex.
final class ItemCounter: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    private var value = 0

    init() { pthread_mutex_init(&mutex, nil) }
    deinit { pthread_mutex_destroy(&mutex) }

    func claim(below count: Int) -> Int? {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        guard value < count else { return nil }
        value += 1
        return value - 1
    }
}

func cosine(_ a: [Float], _ b: [Float]) -> Double {
    var dot = 0.0, na = 0.0, nb = 0.0
    for i in a.indices {
        dot += Double(a[i]) * Double(b[i])
        na += Double(a[i]) * Double(a[i])
        nb += Double(b[i]) * Double(b[i])
    }
    return na > 0 && nb > 0 ? dot / (na.squareRoot() * nb.squareRoot()) : 0
}

/// Per position of two logit matrices [n, vocab]: KL(softmax(p) ‖ softmax(q)) in nats and
/// whether their argmax agrees.
func klAndAgreement(_ p: [Float], _ q: [Float], vocab: Int) -> [(Double, Bool)] {
    let n = p.count / vocab
    var out: [(Double, Bool)] = []
    out.reserveCapacity(n)
    for i in 0..<n {
        let pr = p[i * vocab..<(i + 1) * vocab], qr = q[i * vocab..<(i + 1) * vocab]
        let pz = LogPartition(pr), qz = LogPartition(qr)
        var kl = 0.0
        for (a, b) in zip(pr, qr) {
            let lp = pz.logProbability(a), lq = qz.logProbability(b)
            kl += exp(lp) * (lp - lq)
        }
        out.append((max(kl, 0), pr.firstIndex(of: pr.max()!)! == qr.firstIndex(of: qr.max()!)!))
    }
    return out
}
