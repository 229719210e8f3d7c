// PassManager: a pipeline is an ordered list of named passes, each with typed options,
// parsed from `--passes` text or a recipe (JSON value). Running it applies each pass in
// turn, verifies the graph between passes when asked (always in debug builds), and
// collects every pass's record (what it rewrote, bytes saved, its options) for the
// artifact's provenance and the report. Passes themselves live one per file.
//
//   --passes fuse,quantize=int8:mode=dynamic:max-drop=0.002
//   recipe:  {"passes": ["fuse", {"quantize": {"type": "int8", "mode": "dynamic"}}]}
//
// It does not run models; passes that need activations get them from PassContext.

import IngotAutodiff
import IngotCore
import IngotIR

#if canImport(Glibc)
import Glibc
#endif

/// One option a pass accepts, with its type, default and allowed values.
public struct PassOption: Sendable {
    public enum Kind: Sendable {
        case choice([String])
        /// A number in a closed range.
        case number(ClosedRange<Double>)
        /// `auto` (the pass decides) or a number in a closed range.
        case numberOrAuto(ClosedRange<Double>)
        case integer(ClosedRange<Int>)
        case flag
        /// Comma-separated non-negative integers ("0,2,4").
        case integerList
        /// Free text such as a file path (no ':' or ','; those separate options and passes).
        case text

        var isFlag: Bool {
            if case .flag = self { return true }
            return false
        }
    }

    public let name: String
    public let kind: Kind
    public let defaultValue: String
    public let help: String

    public init(_ name: String, _ kind: Kind, default defaultValue: String, _ help: String) {
        self.name = name
        self.kind = kind
        self.defaultValue = defaultValue
        self.help = help
    }

    /// Checks `text` against the kind; returns it normalised or a message naming the problem.
    func validate(_ text: String, pass: String) throws -> String {
        func bad(_ expected: String) -> IngotError {
            IngotError(.invalidArgument, location: "pass '\(pass)' option '\(name)'", "value '\(text)', expected \(expected)")
        }
        switch kind {
        case .choice(let allowed):
            guard allowed.contains(text) else { throw bad("one of \(allowed.joined(separator: ", "))") }
            return text
        case .number(let range):
            guard let v = Double(text), v.isFinite, range.contains(v) else { throw bad("a number in \(range.lowerBound)...\(range.upperBound)") }
            return text
        case .numberOrAuto(let range):
            if text == "auto" { return text }
            guard let v = Double(text), v.isFinite, range.contains(v) else { throw bad("auto or a number in \(range.lowerBound)...\(range.upperBound)") }
            return text
        case .integer(let range):
            guard let v = Int(text), range.contains(v) else { throw bad("an integer in \(range.lowerBound)...\(range.upperBound)") }
            return text
        case .flag:
            switch text {
            case "true", "yes", "1", "": return "true"
            case "false", "no", "0": return "false"
            default: throw bad("true or false")
            }
        case .integerList:
            let parts = text.split(separator: ",", omittingEmptySubsequences: false)
            guard !parts.isEmpty, parts.allSatisfy({ Int($0).map { $0 >= 0 } ?? false }) else { throw bad("a list of non-negative integers like 0,2,4") }
            return text
        case .text:
            return text
        }
    }
}

/// Options of one pass invocation, validated against the pass's declaration.
public struct PassOptions: Sendable, Equatable {
    public private(set) var values: [String: String]

    init(_ values: [String: String]) { self.values = values }

    public subscript(_ name: String) -> String { values[name] ?? "" }
    public func double(_ name: String) -> Double { Double(values[name] ?? "") ?? 0 }
    public func int(_ name: String) -> Int { Int(values[name] ?? "") ?? 0 }
    public func flag(_ name: String) -> Bool { values[name] == "true" }
    public func integers(_ name: String) -> [Int] { (values[name] ?? "").split(separator: ",").compactMap { Int($0) } }
}

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

/// A named graph transformation. Its doc comment (at its definition) shows the IR before
/// and after and says when it runs.
public struct Pass: Sendable {
    public let name: String
    public let summary: String
    /// Options bare values set, in order: `prune=wanda:0.5` sets `method`, then `sparsity`.
    public let positionals: [String]
    public var positional: String? { positionals.first }
    public let options: [PassOption]
    /// Passes that must run earlier in the pipeline (a message names them otherwise).
    public let requires: [String]
    /// Passes that must run later in the pipeline with these options, each with the reason
    /// (quantize weight-bits=7 → pack).
    public let needsLater: @Sendable (PassOptions) -> [(pass: String, reason: String)]
    /// Whether these options need calibration data.
    public let needsCalibration: @Sendable (PassOptions) -> Bool
    /// Checks the options against the graph the pipeline starts from, before any pass runs
    /// (layers that do not exist, a file that is missing).
    public let check: @Sendable (Graph, PassOptions) throws -> Void
    let body: @Sendable (inout Graph, PassOptions, PassContext) throws -> PassRecord

    public init(name: String, summary: String, positional: String? = nil, positionals: [String] = [], options: [PassOption] = [],
                requires: [String] = [],
                needsCalibration: @escaping @Sendable (PassOptions) -> Bool = { _ in false },
                needsLater: @escaping @Sendable (PassOptions) -> [(pass: String, reason: String)] = { _ in [] },
                check: @escaping @Sendable (Graph, PassOptions) throws -> Void = { _, _ in },
                body: @escaping @Sendable (inout Graph, PassOptions, PassContext) throws -> PassRecord) {
        self.check = check
        self.name = name
        self.summary = summary
        self.positionals = positional.map { [$0] + positionals } ?? positionals
        self.options = options
        self.requires = requires
        self.needsCalibration = needsCalibration
        self.needsLater = needsLater
        self.body = body
    }

    /// Runs the pass with defaults for every option not given (tests and composite passes).
    public func run(_ graph: inout Graph, options given: [String: String] = [:], context: PassContext = PassContext()) throws -> PassRecord {
        try body(&graph, try validated(given), context)
    }

    func validated(_ given: [String: String]) throws -> PassOptions {
        var values: [String: String] = [:]
        for (key, text) in given {
            guard let option = options.first(where: { $0.name == key }) else {
                let known = options.map(\.name)
                throw IngotError(.invalidArgument, location: "pass '\(name)'",
                                 "unknown option '\(key)'" + (known.isEmpty ? "; it takes no options" : "; options: \(known.joined(separator: ", "))"))
            }
            values[key] = try option.validate(text, pass: name)
        }
        for option in options where values[option.name] == nil { values[option.name] = option.defaultValue }
        return PassOptions(values)
    }
}

/// Inputs a pass may need beyond the graph: calibration activations, an evaluator.
public struct PassContext: Sendable {
    /// Runs the float graph on calibration data and returns statistics of the requested values.
    public var calibrator: (any Calibrator)?
    /// Verify the graph after every pass.
    public var verifyBetweenPasses: Bool
    /// Detail messages (stderr in the CLI with --verbose).
    public var log: @Sendable (String) -> Void
    /// Progress of long passes, such as training loss (stderr in the CLI unless --quiet).
    public var progress: @Sendable (String) -> Void = { _ in }
    /// The graph as it was before each pass of the running pipeline (by pass name): the
    /// teacher of `reconstruct` and `distill`.
    public var graphsBefore: [String: Graph] = [:]
    /// The graph the pipeline started from (the float model; the teacher of `distill=kd`).
    public var originalGraph: Graph?
    /// The steps after the running one: a pass that measures its result (quantize) applies
    /// what will follow (pack) so that it measures the numerics that ship.
    public var passesAfter: [PassInvocation] = []

    public init(calibrator: (any Calibrator)? = nil, verifyBetweenPasses: Bool = PassContext.debugBuild,
                log: @escaping @Sendable (String) -> Void = { _ in }) {
        self.calibrator = calibrator
        self.verifyBetweenPasses = verifyBetweenPasses
        self.log = log
    }

    public static var debugBuild: Bool {
        #if DEBUG
        return true
        #else
        return false
        #endif
    }
}

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
    /// The calibration data as training batches of graph inputs: `batchSize` padded sentences
    /// (encoders) or windows of at most `maxTokens` tokens (language models) per batch.
    func trainingBatches(batchSize: Int, maxTokens: Int) throws -> [TrainingBatch]
}

extension Calibrator {
    public func trainingBatches(batchSize: Int, maxTokens: Int) throws -> [TrainingBatch] {
        throw IngotError(.unsupported, location: "calibration", "this calibrator provides no training data")
    }
}

/// A pass and its validated options: one step of a pipeline.
public struct PassInvocation: Sendable {
    public let pass: Pass
    public let options: PassOptions
}

public struct Pipeline: Sendable {
    public private(set) var steps: [PassInvocation]

    public init(steps: [PassInvocation]) { self.steps = steps }

    /// `fuse,quantize=int8:mode=dynamic` — commas separate passes, `=` gives the positional
    /// option, `:` separates `key=value` options; a comma followed by a digit continues the
    /// previous value (`distill=student:layers=0,2,4`).
    public static func parse(_ spec: String, registry: PassRegistry = .standard) throws -> Pipeline {
        var items: [String] = []
        for piece in spec.split(separator: ",", omittingEmptySubsequences: false).map(String.init) {
            if let first = piece.first, first.isNumber, let last = items.popLast() {
                items.append(last + "," + piece)
            } else {
                items.append(piece)
            }
        }
        var steps: [PassInvocation] = []
        for item in items {
            guard !item.isEmpty else {
                throw IngotError(.invalidArgument, location: "--passes", "empty pass name in '\(spec)'")
            }
            let parts = item.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            let (name, positionalValue) = splitKeyValue(parts[0])
            guard let pass = registry.pass(named: name) else {
                throw IngotError(.invalidArgument, location: "--passes", "unknown pass '\(name)'; passes: \(registry.names.joined(separator: ", "))")
            }
            var options: [String: String] = [:]
            if let v = positionalValue {
                guard let key = pass.positional else {
                    throw IngotError(.invalidArgument, location: "pass '\(name)'", "takes no value after '=', got '\(v)'")
                }
                options[key] = v
            }
            // Bare values after the first (`prune=wanda:0.5`) fill the later positional options in order.
            var nextPositional = 1
            for part in parts.dropFirst() {
                var (key, value) = splitKeyValue(part)
                if value == nil, !pass.options.contains(where: { $0.name == key && $0.kind.isFlag }) {
                    guard nextPositional < pass.positionals.count else {
                        throw IngotError(.invalidArgument, location: "pass '\(name)'", "unexpected value '\(key)'; write option=value")
                    }
                    (key, value) = (pass.positionals[nextPositional], key)
                    nextPositional += 1
                }
                guard options[key] == nil else {
                    throw IngotError(.invalidArgument, location: "pass '\(name)'", "option '\(key)' given twice")
                }
                options[key] = value ?? ""
            }
            steps.append(PassInvocation(pass: pass, options: try pass.validated(options)))
        }
        let pipeline = Pipeline(steps: steps)
        try pipeline.checkOrder()
        return pipeline
    }

    /// A recipe: `{"passes": ["fuse", {"quantize": {"type": "int8", "max_drop": 0.002}}]}`
    /// (YAML recipes are converted to this JSON form by the caller). Underscores in option
    /// names read as dashes.
    public static func recipe(_ json: JSONValue, file: String, registry: PassRegistry = .standard) throws -> Pipeline {
        guard let list = json["passes"]?.array else {
            throw IngotError(.invalidArgument, file: file, location: "passes", "missing or not a list")
        }
        var steps: [PassInvocation] = []
        for (i, entry) in list.enumerated() {
            let field = "passes[\(i)]"
            let name: String
            var options: [String: String] = [:]
            if let s = entry.string {
                name = s
            } else if let obj = entry.object, obj.count == 1 {
                name = obj[0].0
                if let v = scalarText(obj[0].1) {
                    options["__positional"] = v
                } else if let fields = obj[0].1.object {
                    for (k, v) in fields {
                        guard let text = scalarText(v) else {
                            throw IngotError(.invalidArgument, file: file, location: "\(field).\(name).\(k)", "expected a string, number, boolean or list of integers")
                        }
                        options[k.replacingUnderscores()] = text
                    }
                } else {
                    throw IngotError(.invalidArgument, file: file, location: "\(field).\(name)", "expected a value or a map of options")
                }
            } else {
                throw IngotError(.invalidArgument, file: file, location: field, "expected a pass name or a one-key map {name: options}")
            }
            guard let pass = registry.pass(named: name) else {
                throw IngotError(.invalidArgument, file: file, location: field, "unknown pass '\(name)'; passes: \(registry.names.joined(separator: ", "))")
            }
            if let v = options.removeValue(forKey: "__positional") {
                guard let key = pass.positional else {
                    throw IngotError(.invalidArgument, file: file, location: field, "pass '\(name)' takes no value, got '\(v)'")
                }
                options[key] = v
            }
            do {
                steps.append(PassInvocation(pass: pass, options: try pass.validated(options)))
            } catch var e as IngotError {
                e.file = file
                throw e
            }
        }
        let pipeline = Pipeline(steps: steps)
        try pipeline.checkOrder()
        return pipeline
    }

    static func scalarText(_ v: JSONValue) -> String? {
        if let s = v.string { return s }
        if let b = v.bool { return b ? "true" : "false" }
        if let i = v.int { return String(i) }
        if let d = v.double { return String(d) }
        if let a = v.array {
            let ints = a.compactMap(\.int)
            return ints.count == a.count ? ints.map(String.init).joined(separator: ",") : nil
        }
        return nil
    }

    static func splitKeyValue(_ s: String) -> (String, String?) {
        guard let eq = s.firstIndex(of: "=") else { return (s, nil) }
        return (String(s[..<eq]), String(s[s.index(after: eq)...]))
    }

    /// A pass listed before one it requires, or twice, fails before any work.
    func checkOrder() throws {
        var seen: Set<String> = []
        for step in steps {
            for required in step.pass.requires where !seen.contains(required) {
                throw IngotError(.invalidArgument, location: "pass order",
                                 "'\(step.pass.name)' needs '\(required)' earlier in the pipeline; order given: \(steps.map(\.pass.name).joined(separator: ", "))")
            }
            guard !seen.contains(step.pass.name) else {
                throw IngotError(.invalidArgument, location: "pass order", "'\(step.pass.name)' appears twice")
            }
            seen.insert(step.pass.name)
        }
        for (i, step) in steps.enumerated() {
            for later in step.pass.needsLater(step.options) where !steps[(i + 1)...].contains(where: { $0.pass.name == later.pass }) {
                throw IngotError(.invalidArgument, location: "pass order",
                                 "'\(step.pass.name)' needs '\(later.pass)' later in the pipeline: \(later.reason); order given: \(steps.map(\.pass.name).joined(separator: ", "))")
            }
        }
    }

    public var needsCalibration: Bool { steps.contains { $0.pass.needsCalibration($0.options) } }

    /// Every pass's graph-dependent option checks, before any pass runs.
    public func check(against graph: Graph) throws {
        for step in steps { try step.pass.check(graph, step.options) }
    }

    /// Applies every step; verifies after each when the context asks; returns the records.
    public func run(_ graph: inout Graph, context initial: PassContext) throws -> [PassRecord] {
        try check(against: graph)
        var records: [PassRecord] = []
        var context = initial
        context.originalGraph = graph
        for (i, step) in steps.enumerated() {
            let start = monotonicSeconds()
            context.graphsBefore[step.pass.name] = graph
            context.passesAfter = Array(steps[(i + 1)...])
            context.log("pass \(step.pass.name)")
            var record = try step.pass.body(&graph, step.options, context)
            record.name = step.pass.name
            record.options = step.options.values
            record.seconds = monotonicSeconds() - start
            if context.verifyBetweenPasses {
                let problems = graph.verificationProblems()
                guard problems.isEmpty else {
                    throw IngotError(.internal, location: "after pass '\(step.pass.name)'",
                                     "the graph failed verification: " + problems.prefix(5).joined(separator: "; "))
                }
            }
            records.append(record)
        }
        return records
    }
}

/// The passes a pipeline can name.
public struct PassRegistry: Sendable {
    public let passes: [Pass]

    public init(_ passes: [Pass]) { self.passes = passes }

    public func pass(named name: String) -> Pass? { passes.first { $0.name == name } }
    public var names: [String] { passes.map(\.name) }
}

func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

extension String {
    func replacingUnderscores() -> String { String(map { $0 == "_" ? "-" : $0 }) }
}
