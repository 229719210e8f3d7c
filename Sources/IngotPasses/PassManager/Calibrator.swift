// Calibrator: what passes ask of the world outside the IR — run a graph on calibration data
// and return activation statistics, rows of values, an output error against a reference,
// or training batches — and ActivationStatistics, what it returns per value.
//
// It does not run anything itself; the compiler provides an implementation that does.

import IngotAutodiff
import IngotCore
import IngotIR

/// Activation statistics of the inputs of linear layers, gathered by running the float graph.
public struct ActivationStatistics: Sendable {
    /// Per input channel: max |x| over all calibration rows.
    public var channelMaxAbs: [Float]
    /// Per input channel: √(Σ x²) over all rows (Wanda's activation norm).
    public var channelNorm: [Float]
    /// Samples of x (row-major rows of length channels), for range search; may be subsampled.
    public var samples: [Float]
    public var rows: Int

    public init(channelMaxAbs: [Float], channelNorm: [Float], samples: [Float], rows: Int) {
        self.channelMaxAbs = channelMaxAbs
        self.channelNorm = channelNorm
        self.samples = samples
        self.rows = rows
    }
}

/// What quantization passes ask of the world outside the IR: run a graph on calibration data.
public protocol Calibrator: Sendable {
    /// Statistics of the given values when `graph` runs on the calibration set.
    func statistics(of values: [ValueID], in graph: Graph) throws -> [ValueID: ActivationStatistics]
    /// Up to `maxRows` rows of each value ([rows, channels] row-major), in calibration order:
    /// the same rows for any two graphs run on the same data.
    func rows(of values: [ValueID], in graph: Graph, maxRows: Int) throws -> [ValueID: [Float]]
    /// A scalar error of `candidate` against the float `reference` graph's outputs on the
    /// calibration set (encoders: 1 − mean cosine; language models: mean KL of next-token
    /// distributions). Lower is better; 0 means identical.
    func outputError(reference: Graph, candidate: Graph) throws -> Double
    /// `outputError` on at most `samples` calibration items, evenly spaced through the data
    /// (the same items for every candidate): a cheaper first look at a candidate.
    func outputError(reference: Graph, candidate: Graph, samples: Int) throws -> Double
    /// `outputError` on at most `samples` items (nil: all) of a candidate that differs from
    /// `base` (the reference or another candidate) only from some node on: an implementation
    /// may run the candidate from there on the base's activations. The value is the same.
    func outputError(reference: Graph, candidate: Graph, samples: Int?, base: Graph) throws -> Double
    /// Calibration items (sentences or windows); 0 when unknown.
    var sampleCount: Int { get }
    /// The calibration data as training batches of graph inputs: `batchSize` padded sentences
    /// (encoders) or windows of at most `maxTokens` tokens (language models) per batch.
    func trainingBatches(batchSize: Int, maxTokens: Int) throws -> [TrainingBatch]
}

extension Calibrator {
    /// Without a cheaper measurement, all of the data.
    public func outputError(reference: Graph, candidate: Graph, samples: Int) throws -> Double {
        try outputError(reference: reference, candidate: candidate)
    }

    public func outputError(reference: Graph, candidate: Graph, samples: Int?, base: Graph) throws -> Double {
        guard let samples else { return try outputError(reference: reference, candidate: candidate) }
        return try outputError(reference: reference, candidate: candidate, samples: samples)
    }

    public var sampleCount: Int { 0 }

    public func trainingBatches(batchSize: Int, maxTokens: Int) throws -> [TrainingBatch] {
        throw IngotError(.unsupported, location: "calibration", "this calibrator provides no training data")
    }
}
