// PassContext: the inputs a pass may need beyond the graph and its options — a calibrator,
// whether to verify between passes, log and progress sinks, and, filled by the runner, the
// graphs before each pass, the original graph and the steps still to run.
//
// It does not run passes (Pipeline.run does) nor hold options (PassOptions).

import IngotIR

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
    /// Runs `body(0..<count)` for independent items (quantize's per-layer weights), in
    /// parallel when the caller provides a thread pool; by default one after another.
    public var parallelFor: @Sendable (Int, @escaping @Sendable (Int) -> Void) -> Void = { count, body in
        for i in 0..<count { body(i) }
    }

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
