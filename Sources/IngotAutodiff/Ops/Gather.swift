// Gradient of gather (embedding lookup): the forward copies table rows, the backward adds
// each output row's gradient into the row it came from. Indices outside the table are errors.

import IngotCore
import IngotIR

extension Ops.Gather: DifferentiableOp {
    /// table [rows, width], indices [...] → [..., width].
    static func forward<T: TrainingScalar>(_ node: Node, at index: Int, on tape: Tape<T>) throws {
        let ins = node.inputs
        let table = tape.f(ins[0]), width = tape.s(ins[0])[1], rows = tape.s(ins[0])[0]
        let ids = tape.i32(ins[1])
        var y = [T](repeating: 0, count: ids.count * width)
        for (i, id) in ids.enumerated() {
            guard id >= 0, Int(id) < rows else {
                throw IngotError(.invalidArgument, location: "indices", "index \(id) outside 0..<\(rows)")
            }
            for j in 0..<width { y[i * width + j] = table[Int(id) * width + j] }
        }
        tape.set(node.outputs[0], tape.s(ins[1]) + [width], y)
    }

    static func backward<T: TrainingScalar>(_ node: Node, at index: Int, outputGradients gs: [[T]], on tape: Tape<T>) throws {
        let ins = node.inputs, g = gs[0]
        guard tape.wants(node, 0) else { return }
        let width = tape.s(ins[0])[1]
        var d = [T](repeating: 0, count: tape.f(ins[0]).count)
        for (i, id) in tape.i32(ins[1]).enumerated() {
            for j in 0..<width { d[Int(id) * width + j] += g[i * width + j] }
        }
        tape.accumulate(ins[0], d)
    }
}
