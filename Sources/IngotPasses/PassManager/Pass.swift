// Pass: a named graph transformation with its declared options, what it needs earlier and
// later in a pipeline, whether it needs calibration, its graph-dependent option checks and
// its body; PassInvocation, a pass with validated options (one pipeline step); and
// PassRegistry, the passes a pipeline can name. Passes themselves live one per file.
//
// It does not parse pipeline text or recipes, check pass order, or run pipelines.

import IngotCore
import IngotIR

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
    public let needsLater: @Sendable (PassOptions) throws -> [(pass: String, reason: String)]
    /// Passes that follow this one at the end of the pipeline when not listed after it
    /// (quantize with weight-bits=auto → pack).
    public let implies: @Sendable (PassOptions) throws -> [Pass]
    /// Whether these options need calibration data.
    public let needsCalibration: @Sendable (PassOptions) throws -> Bool
    /// Checks the options against the graph the pipeline starts from, before any pass runs
    /// (layers that do not exist, a file that is missing).
    public let check: @Sendable (Graph, PassOptions) throws -> Void
    let body: @Sendable (inout Graph, PassOptions, PassContext) throws -> PassRecord

    public init(name: String, summary: String, positional: String? = nil, positionals: [String] = [], options: [PassOption] = [],
                requires: [String] = [],
                needsCalibration: @escaping @Sendable (PassOptions) throws -> Bool = { _ in false },
                needsLater: @escaping @Sendable (PassOptions) throws -> [(pass: String, reason: String)] = { _ in [] },
                implies: @escaping @Sendable (PassOptions) throws -> [Pass] = { _ in [] },
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
        self.implies = implies
        self.body = body
    }

    /// Runs the pass with defaults for every option not given (tests and composite passes).
    public func run(_ graph: inout Graph, options given: [String: String] = [:], context: PassContext = PassContext()) throws -> PassRecord {
        try body(&graph, try validated(given), context)
    }

    /// The given options checked against the declarations, with defaults for the rest.
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
        return PassOptions(pass: name, declarations: options, values: values)
    }
}

/// A pass and its validated options: one step of a pipeline.
public struct PassInvocation: Sendable {
    public let pass: Pass
    public let options: PassOptions
    /// Whether this step needs calibration data.
    public let needsCalibration: Bool
    /// Passes that must follow this step, each with the reason.
    let needsLater: [(pass: String, reason: String)]
    /// Passes appended to the pipeline unless listed after this step.
    let implies: [Pass]

    /// Asks the pass, with these options, what it needs; fails on an option it cannot read.
    init(pass: Pass, options: PassOptions) throws {
        self.pass = pass
        self.options = options
        self.needsCalibration = try pass.needsCalibration(options)
        self.needsLater = try pass.needsLater(options)
        self.implies = try pass.implies(options)
    }
}

/// The passes a pipeline can name.
public struct PassRegistry: Sendable {
    public let passes: [Pass]

    public init(_ passes: [Pass]) { self.passes = passes }

    public func pass(named name: String) -> Pass? { passes.first { $0.name == name } }
    public var names: [String] { passes.map(\.name) }
}
