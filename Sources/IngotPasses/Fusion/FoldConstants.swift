// fold-constants: a node whose inputs are all constants is computed once at build time
// and becomes a constant, for the ops where that is cheap and exact: reshape, 2-D
// transpose, casts between f32/f16/bf16, and elementwise arithmetic on f32 of equal shapes.
// Other all-constant nodes are left alone (they run at load like any node).

import IngotCore
import IngotIR

extension Pass {
    /// Runs first in `fuse`. Must not fire when any input is not a constant.
    ///
    ///     @w: f32[4, 8]                                      @wt.folded: f32[8, 4]   (w transposed at build time)
    ///     %wt = transpose(@w) {permutation = [1, 0]}    →   %y = matmul(%x, @wt.folded) {transpose_b = false}
    ///     %y = matmul(%x, %wt) {transpose_b = false}
    public static let foldConstants = Pass(name: "fold-constants", summary: "compute all-constant nodes at build time") { g, _, _ in
        var folded = 0
        var i = 0
        while i < g.nodes.count {
            let node = g.nodes[i]
            guard node.outputs.count == 1, !node.inputs.isEmpty, node.inputs.allSatisfy(g.isConstant),
                  let compute = constantEvaluator(node.op, inputTypes: node.inputs.map { g.type(of: $0) }) else { i += 1; continue }
            let out = node.outputs[0]
            let type = g.type(of: out)
            guard type.shape.fixedSizes != nil else { i += 1; continue }
            let c = g.addDerivedConstant(g[out].name + ".folded", type, parents: node.inputs, origin: "folded \(node.op.name)",
                                         compute: compute)
            g.replaceUses(of: out, with: c)
            g.nodes.remove(at: i)
            folded += 1
        }
        g.compact()
        return PassRecord(name: "fold-constants", stats: [("nodes_folded", Double(folded))])
    }
}

/// How to compute an op on constant buffers, when folding it is supported.
func constantEvaluator(_ op: Op, inputTypes t: [TensorType]) -> (@Sendable ([TensorBuffer]) throws -> TensorBuffer)? {
    switch op {
    case .reshape:
        return { TensorBuffer(copying: $0[0].raw) }
    case .transpose(let perm):
        guard perm == [1, 0], let sizes = t[0].shape.fixedSizes else { return nil }
        let (rows, cols, size) = (sizes[0], sizes[1], t[0].dtype.byteSize)
        return { inputs in
            let out = try TensorBuffer(uninitializedByteCount: inputs[0].byteCount)
            inputs[0].withBytes { src in
                for r in 0..<rows {
                    for c in 0..<cols {
                        (out.mutableRaw.baseAddress! + (c * rows + r) * size).copyMemory(from: src.baseAddress! + (r * cols + c) * size, byteCount: size)
                    }
                }
            }
            return out
        }
    case .cast(let to):
        let from = t[0].dtype
        let floats: Set<DType> = [.f32, .f16, .bf16]
        guard floats.contains(from), floats.contains(to) else { return nil }
        return { inputs in
            let values = try Graph.floats(inputs[0], dtype: from, name: "cast input")
            switch to {
            case .f32: return TensorBuffer(array: values)
            case .f16: return TensorBuffer(array: values.map(halfBitsFromFloat))
            case .bf16: return TensorBuffer(array: values.map(bfloat16BitsFromFloat))
            case .f64, .i8, .u8, .i16, .i32, .i64, .bool, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q4_K, .q5_K, .q6_K: throw IngotError(.internal, "cast to \(to) is not foldable")
            }
        }
    case .binary(let kind):
        guard t[0] == t[1], t[0].dtype == .f32 else { return nil }
        return { inputs in
            let a = inputs[0].toArray(of: Float.self), b = inputs[1].toArray(of: Float.self)
            switch kind {
            case .add: return TensorBuffer(array: zip(a, b).map { $0 + $1 })
            case .sub: return TensorBuffer(array: zip(a, b).map { $0 - $1 })
            case .mul: return TensorBuffer(array: zip(a, b).map { $0 * $1 })
            case .div: return TensorBuffer(array: zip(a, b).map { $0 / $1 })
            }
        }
    default:
        return nil
    }
}
