// DifferentiableOp: the contract between the tape and the op families in Ops/. An op kind is
// differentiable when its IR definition type (IngotIR's `Ops.*`) conforms: its forward
// computes the node's outputs on the tape, its backward turns ∂L/∂outputs into ∂L/∂inputs.
// Adding a differentiable op is one conformance in its family file. Also here: the helpers
// that run the reference kernels (pointer based) on the tape's arrays. No op semantics here.

import IngotCore
import IngotIR
import IngotKernels

protocol DifferentiableOp {
    /// Reads the node's inputs from the tape and sets its outputs (and `tape.saved[index]`
    /// when the backward needs more than inputs and outputs).
    static func forward<T: TrainingScalar>(_ node: Node, at index: Int, on tape: Tape<T>) throws

    /// Given ∂L/∂outputs (one array per output, zeros where none flowed), adds ∂L/∂input to
    /// every input `tape.wants`, through `tape.accumulate`.
    static func backward<T: TrainingScalar>(_ node: Node, at index: Int, outputGradients: [[T]], on tape: Tape<T>) throws
}

extension DifferentiableOp {
    /// The error for a node whose op is not this definition's (a broken `Op.definition` table).
    static func mismatch(_ node: Node) -> IngotError {
        IngotError(.internal, location: node.op.name, "dispatched to the gradient of \(Self.self)")
    }
}

/// y[count] = kernel(x): runs a reference kernel reading `x` (and whatever it captures) into a
/// new array; an empty input or output runs nothing.
@inline(__always)
func kernelOutput<T: TrainingScalar>(_ x: [T], count: Int, _ kernel: (UnsafePointer<T>, UnsafeMutablePointer<T>) -> Void) -> [T] {
    var y = [T](repeating: 0, count: count)
    guard count > 0, !x.isEmpty else { return y }
    x.withUnsafeBufferPointer { px in
        y.withUnsafeMutableBufferPointer { py in kernel(px.baseAddress!, py.baseAddress!) }
    }
    return y
}

extension Activation {
    /// The same activation as the kernels name it.
    var epilogue: EpilogueActivation {
        switch self {
        case .none: return .none
        case .gelu: return .gelu
        case .geluTanh: return .geluTanh
        case .silu: return .silu
        }
    }
}
