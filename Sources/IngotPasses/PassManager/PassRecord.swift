// PassRecord and LayerRecord: what one pass did (counts, bytes saved, per-layer findings,
// a training curve, its options and time), kept in the artifact's provenance and the
// report. The runner fills in the name, options and seconds; the pass fills the rest.
//
// It does not serialise records (the artifact builder and the report writer do).

import IngotAutodiff

/// What a pass did: counts, bytes, parameters; kept in provenance and the report.
public struct PassRecord: Sendable, Equatable {
    public var name: String
    public var options: [String: String]
    /// Ordered statistics, e.g. ("nodes_rewritten", 18), ("bytes_saved", 6.9e7).
    public var stats: [(String, Double)]
    /// Per-layer findings (quantization error, sensitivity, sparsity), when the pass has any.
    public var layers: [LayerRecord]
    /// Training loss by step, for passes that train (distill).
    public var curve: [CurvePoint]
    public var seconds: Double
    /// Where the pass's time went, in order (quantize: statistics, weights, sensitivity,
    /// widening, keep_float, convert); report only, like `seconds`.
    public var phases: [(String, Double)] = []

    public init(name: String, options: [String: String] = [:], stats: [(String, Double)] = [], layers: [LayerRecord] = [],
                curve: [CurvePoint] = [], seconds: Double = 0) {
        self.name = name
        self.options = options
        self.stats = stats
        self.layers = layers
        self.curve = curve
        self.seconds = seconds
    }

    public static func == (a: PassRecord, b: PassRecord) -> Bool {
        a.name == b.name && a.options == b.options && a.stats.map(\.0) == b.stats.map(\.0)
            && a.stats.map(\.1) == b.stats.map(\.1) && a.layers == b.layers && a.curve == b.curve
    }

    public func stat(_ key: String) -> Double? { stats.first { $0.0 == key }?.1 }
}

public struct LayerRecord: Sendable, Equatable {
    public var name: String
    public var kind: String
    public var dtype: String
    public var quantError: Double?
    public var sensitivity: Double?
    public var keptFloat: Bool?
    public var sparsity: Double?

    public init(name: String, kind: String, dtype: String, quantError: Double? = nil, sensitivity: Double? = nil,
                keptFloat: Bool? = nil, sparsity: Double? = nil) {
        self.name = name
        self.kind = kind
        self.dtype = dtype
        self.quantError = quantError
        self.sensitivity = sensitivity
        self.keptFloat = keptFloat
        self.sparsity = sparsity
    }
}
