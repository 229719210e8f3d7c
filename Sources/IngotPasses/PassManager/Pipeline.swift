// Pipeline: an ordered list of pass invocations, built from `--passes` text
// (PipelineText.swift) or a recipe (PipelineRecipe.swift) and order-checked
// (PipelineOrder.swift). Running it applies each pass in turn, verifies the graph between
// passes when the context asks (always in debug builds), and collects every pass's record,
// with its options and time, for the artifact's provenance and the report.
//
//   --passes fuse,quantize=int8:mode=dynamic:max-drop=0.002
//   recipe:  {"passes": ["fuse", {"quantize": {"type": "int8", "mode": "dynamic"}}]}
//
// It does not run models; passes that need activations get them from PassContext.

import IngotCore
import IngotIR

#if canImport(Glibc)
import Glibc
#endif

public struct Pipeline: Sendable {
    public private(set) var steps: [PassInvocation]

    public init(steps: [PassInvocation]) { self.steps = steps }

    public var needsCalibration: Bool { steps.contains { $0.needsCalibration } }

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

func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}
