// Pipeline.checkOrder: the ordering rules checked when a pipeline is built, before any
// work — a pass listed before one it requires, a pass listed twice, or a pass whose options
// need another one later (quantize weight-bits=7 → pack) without it.
//
// It does not reorder passes; a message names the problem and the order given. Passes a step
// implies (quantize weight-bits=auto → pack) are appended before the check when not listed
// after it, so an implied step satisfies the same rules as a written one.

import IngotCore

extension Pipeline {
    /// This pipeline with every implied pass not listed after its step appended at the end, in
    /// default options (`fuse,quantize=int8` runs as `fuse,quantize=int8,pack`).
    func addingImpliedSteps() throws -> Pipeline {
        var all = steps
        for (i, step) in steps.enumerated() {
            for implied in step.implies where !all[(i + 1)...].contains(where: { $0.pass.name == implied.name }) {
                all.append(try PassInvocation(pass: implied, options: try implied.validated([:])))
            }
        }
        return Pipeline(steps: all)
    }

    /// A pass listed before one it requires, twice, or without a pass its options need later
    /// fails before any work.
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
            for later in step.needsLater where !steps[(i + 1)...].contains(where: { $0.pass.name == later.pass }) {
                throw IngotError(.invalidArgument, location: "pass order",
                                 "'\(step.pass.name)' needs '\(later.pass)' later in the pipeline: \(later.reason); order given: \(steps.map(\.pass.name).joined(separator: ", "))")
            }
        }
    }
}
