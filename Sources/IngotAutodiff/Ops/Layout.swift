// Gradients of the data-movement ops: reshape, transpose, slice, concat, split and cast.
// Each forward copies elements and each backward routes gradients back to where they came
// from; no arithmetic. Also the shape helpers they share (axis split, reshape targets).

import IngotCore
import IngotIR

extension Ops.Reshape: DifferentiableOp {
    static func forward<T: TrainingScalar>(_ node: Node, at index: Int, on tape: Tape<T>) throws {
        guard case .reshape(let target) = node.op else { throw mismatch(node) }
        let x = node.inputs[0]
        tape.set(node.outputs[0], try resolve(target, tape.bindings, count: tape.s(x).reduce(1, *)), tape.f(x))
    }

    static func backward<T: TrainingScalar>(_ node: Node, at index: Int, outputGradients gs: [[T]], on tape: Tape<T>) throws {
        tape.accumulate(node.inputs[0], gs[0])
    }
}

extension Ops.Transpose: DifferentiableOp {
    static func forward<T: TrainingScalar>(_ node: Node, at index: Int, on tape: Tape<T>) throws {
        guard case .transpose(let perm) = node.op else { throw mismatch(node) }
        let (y, shape) = transposeData(tape.f(node.inputs[0]), tape.s(node.inputs[0]), perm)
        tape.set(node.outputs[0], shape, y)
    }

    static func backward<T: TrainingScalar>(_ node: Node, at index: Int, outputGradients gs: [[T]], on tape: Tape<T>) throws {
        guard case .transpose(let perm) = node.op else { throw mismatch(node) }
        var inverse = [Int](repeating: 0, count: perm.count)
        for (i, p) in perm.enumerated() { inverse[p] = i }
        tape.accumulate(node.inputs[0], transposeData(gs[0], tape.s(node.outputs[0]), inverse).0)
    }
}

extension Ops.Slice: DifferentiableOp {
    static func forward<T: TrainingScalar>(_ node: Node, at index: Int, on tape: Tape<T>) throws {
        guard case .slice(let axis, let start, let end) = node.op else { throw mismatch(node) }
        let shape = tape.s(node.inputs[0]), ax = axis < 0 ? axis + shape.count : axis
        let (outer, len, inner) = axisSplit(shape, ax)
        let width = end - start
        var y = [T](repeating: 0, count: outer * width * inner)
        let x = tape.f(node.inputs[0])
        for o in 0..<outer {
            for i in 0..<width * inner { y[(o * width) * inner + i] = x[(o * len + start) * inner + i] }
        }
        var os = shape
        os[ax] = width
        tape.set(node.outputs[0], os, y)
    }

    static func backward<T: TrainingScalar>(_ node: Node, at index: Int, outputGradients gs: [[T]], on tape: Tape<T>) throws {
        guard case .slice(let axis, let start, let end) = node.op else { throw mismatch(node) }
        let shape = tape.s(node.inputs[0]), ax = axis < 0 ? axis + shape.count : axis, g = gs[0]
        let (outer, len, inner) = axisSplit(shape, ax)
        let width = end - start
        var dx = [T](repeating: 0, count: shape.reduce(1, *))
        for o in 0..<outer {
            for i in 0..<width * inner { dx[(o * len + start) * inner + i] = g[(o * width) * inner + i] }
        }
        tape.accumulate(node.inputs[0], dx)
    }
}

extension Ops.Concat: DifferentiableOp {
    static func forward<T: TrainingScalar>(_ node: Node, at index: Int, on tape: Tape<T>) throws {
        guard case .concat(let axis) = node.op else { throw mismatch(node) }
        let ins = node.inputs
        let shape0 = tape.s(ins[0]), ax = axis < 0 ? axis + shape0.count : axis
        let parts = ins.map { (tape.f($0), tape.s($0)[ax]) }
        let total = parts.reduce(0) { $0 + $1.1 }
        let (outer, _, inner) = axisSplit(shape0, ax)
        var y = [T](repeating: 0, count: outer * total * inner)
        var offset = 0
        for (x, len) in parts {
            for o in 0..<outer {
                for i in 0..<len * inner { y[(o * total + offset) * inner + i] = x[o * len * inner + i] }
            }
            offset += len
        }
        var os = shape0
        os[ax] = total
        tape.set(node.outputs[0], os, y)
    }

    static func backward<T: TrainingScalar>(_ node: Node, at index: Int, outputGradients gs: [[T]], on tape: Tape<T>) throws {
        guard case .concat(let axis) = node.op else { throw mismatch(node) }
        let shape = tape.s(node.outputs[0]), ax = axis < 0 ? axis + shape.count : axis, g = gs[0]
        let (outer, total, inner) = axisSplit(shape, ax)
        var offset = 0
        for (i, input) in node.inputs.enumerated() {
            let len = tape.s(input)[ax]
            if tape.wants(node, i) {
                var dx = [T](repeating: 0, count: outer * len * inner)
                for o in 0..<outer {
                    for j in 0..<len * inner { dx[o * len * inner + j] = g[(o * total + offset) * inner + j] }
                }
                tape.accumulate(input, dx)
            }
            offset += len
        }
    }
}

extension Ops.Split: DifferentiableOp {
    static func forward<T: TrainingScalar>(_ node: Node, at index: Int, on tape: Tape<T>) throws {
        guard case .split(let axis, let sizes) = node.op else { throw mismatch(node) }
        let shape = tape.s(node.inputs[0]), ax = axis < 0 ? axis + shape.count : axis
        let (outer, len, inner) = axisSplit(shape, ax)
        let x = tape.f(node.inputs[0])
        var offset = 0
        for (piece, width) in zip(node.outputs, sizes) {
            var y = [T](repeating: 0, count: outer * width * inner)
            for o in 0..<outer {
                for i in 0..<width * inner { y[o * width * inner + i] = x[(o * len + offset) * inner + i] }
            }
            var os = shape
            os[ax] = width
            tape.set(piece, os, y)
            offset += width
        }
    }

    static func backward<T: TrainingScalar>(_ node: Node, at index: Int, outputGradients gs: [[T]], on tape: Tape<T>) throws {
        guard case .split(let axis, _) = node.op else { throw mismatch(node) }
        let shape = tape.s(node.inputs[0]), ax = axis < 0 ? axis + shape.count : axis
        let (outer, len, inner) = axisSplit(shape, ax)
        var dx = [T](repeating: 0, count: shape.reduce(1, *))
        var offset = 0
        for (piece, pg) in zip(node.outputs, gs) {
            let width = tape.s(piece)[ax]
            for o in 0..<outer {
                for j in 0..<width * inner { dx[(o * len + offset) * inner + j] = pg[o * width * inner + j] }
            }
            offset += width
        }
        tape.accumulate(node.inputs[0], dx)
    }
}

extension Ops.Cast: DifferentiableOp {
    /// Integer → float converts; integer → integer passes through; float → float is the identity.
    static func forward<T: TrainingScalar>(_ node: Node, at index: Int, on tape: Tape<T>) throws {
        guard case .cast(let dtype) = node.op else { throw mismatch(node) }
        let x = node.inputs[0], out = node.outputs[0], shape = tape.s(x)
        if tape.isFloat(x) {
            guard dtype.isFloatingPoint else {
                throw IngotError(.unsupported, location: "cast", "float to \(dtype) is not differentiable")
            }
            tape.set(out, shape, tape.f(x))
        } else if dtype.isFloatingPoint {
            tape.set(out, shape, tape.i32(x).map { T($0) })
        } else {
            tape.setInts(out, shape, tape.i32(x))
        }
    }

    static func backward<T: TrainingScalar>(_ node: Node, at index: Int, outputGradients gs: [[T]], on tape: Tape<T>) throws {
        if tape.isFloat(node.inputs[0]) { tape.accumulate(node.inputs[0], gs[0]) }
    }
}

// MARK: Shapes

/// (product of dims before axis, dim at axis, product after).
func axisSplit(_ shape: [Int], _ axis: Int) -> (Int, Int, Int) {
    (shape[..<axis].reduce(1, *), shape[axis], shape[(axis + 1)...].reduce(1, *))
}

func transposeData<T>(_ x: [T], _ shape: [Int], _ perm: [Int]) -> ([T], [Int]) {
    let outShape = perm.map { shape[$0] }
    var inStrides = [Int](repeating: 1, count: shape.count)
    for d in stride(from: shape.count - 2, through: 0, by: -1) { inStrides[d] = inStrides[d + 1] * shape[d + 1] }
    let strides = perm.map { inStrides[$0] }
    var y = x
    var index = [Int](repeating: 0, count: shape.count)
    for i in 0..<x.count {
        var o = 0
        for d in 0..<shape.count { o += index[d] * strides[d] }
        y[i] = x[o]
        var d = shape.count - 1
        while d >= 0 {
            index[d] += 1
            if index[d] < outShape[d] { break }
            index[d] = 0
            d -= 1
        }
    }
    return (y, outShape)
}

/// A reshape target with symbols bound by the inputs; one unknown dim is inferred from the count.
func resolve(_ target: Shape, _ bindings: [String: Int], count: Int) throws -> [Int] {
    var dims: [Int?] = target.dims.map { d in
        switch d {
        case .fixed(let n): return n
        case .symbol(let s): return bindings[s]
        }
    }
    let unknown = dims.indices.filter { dims[$0] == nil }
    let known = dims.compactMap { $0 }.reduce(1, *)
    if unknown.count == 1, known > 0 { dims[unknown[0]] = count / known }
    guard let resolved = dims as? [Int], resolved.reduce(1, *) == count else {
        throw IngotError(.shape, location: "reshape", "cannot reshape \(count) elements to \(target)")
    }
    return resolved
}
