// Gradient of rope (rotary position embedding). The forward runs ReferenceKernels.rope; the
// backward is the transpose of the rotation, the same kernel at negated positions.

import IngotIR
import IngotKernels

extension Ops.Rope: DifferentiableOp {
    /// x [..., heads·headDim] (tokens flattened), positions [...] one per token.
    static func forward<T: TrainingScalar>(_ node: Node, at index: Int, on tape: Tape<T>) throws {
        guard case .rope(let theta, let heads, let headDim, let style) = node.op else { throw mismatch(node) }
        let ins = node.inputs
        tape.set(node.outputs[0], tape.s(ins[0]), rotate(tape.f(ins[0]), tape.i32(ins[1]), heads: heads, headDim: headDim,
                                                         theta: theta, interleaved: style == .interleaved))
    }

    static func backward<T: TrainingScalar>(_ node: Node, at index: Int, outputGradients gs: [[T]], on tape: Tape<T>) throws {
        guard case .rope(let theta, let heads, let headDim, let style) = node.op else { throw mismatch(node) }
        let ins = node.inputs
        tape.accumulate(ins[0], rotate(gs[0], tape.i32(ins[1]).map { -$0 }, heads: heads, headDim: headDim,
                                       theta: theta, interleaved: style == .interleaved))
    }

    static func rotate<T: TrainingScalar>(_ x: [T], _ positions: [Int32], heads: Int, headDim: Int, theta: Float,
                                          interleaved: Bool) -> [T] {
        kernelOutput(x, count: x.count) { px, py in
            positions.withUnsafeBufferPointer { pp in
                ReferenceKernels.rope(px, positions: pp.baseAddress!, py, tokens: positions.count, heads: heads, headDim: headDim,
                                      theta: theta, interleaved: interleaved)
            }
        }
    }
}
