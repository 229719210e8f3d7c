// Tape: reverse-mode differentiation over IR graphs. `forward` runs a graph on concrete
// inputs, keeping every intermediate value (and what each op's backward needs); `backward`
// walks the nodes in reverse and accumulates vector-Jacobian products into the gradients
// of the requested parameters. Generic over the scalar: Float to train, Double for the
// finite-difference checks. It covers the ops BERT and LLaMA graphs use, fused or not; the
// int8 ops run in the runtime only and are rejected here. It does not optimise or schedule.

import IngotCore
import IngotIR
import RealModule

public final class Tape<T: TrainingScalar> {
    public let graph: Graph
    /// Float data of constants by value index (row-major, the constant's shape).
    public var parameters: [Int: [T]]
    /// Parameters whose gradients `backward` computes.
    public var trainable: Set<Int>

    private(set) var shapes: [Int: [Int]] = [:]
    private(set) var floats: [Int: [T]] = [:]
    private(set) var ints: [Int: [Int32]] = [:]
    /// Per node: what its backward needs beyond inputs and outputs (normalisation statistics,
    /// pre-activations, attention probabilities).
    private var saved: [Int: [T]] = [:]
    public private(set) var gradients: [Int: [T]] = [:]

    public init(graph: Graph, parameters: [Int: [T]], trainable: Set<Int> = []) throws {
        self.graph = graph
        self.parameters = parameters
        self.trainable = trainable
        for c in graph.constants {
            let v = graph[c.value]
            guard v.type.dtype.isFloatingPoint else { continue }
            guard let data = parameters[c.value.index] else {
                throw IngotError(.invalidArgument, location: "constant '\(v.name)'", "no data given to the training graph")
            }
            let expected = v.type.shape.fixedSizes.map { $0.reduce(1, *) } ?? -1
            guard data.count == expected else {
                throw IngotError(.shape, location: "constant '\(v.name)'", "has \(data.count) values, expected \(expected) for \(v.type.shape)")
            }
        }
    }

    // MARK: Access

    public func shape(of id: ValueID) -> [Int]? { shapes[id.index] }
    public func values(of id: ValueID) -> [T]? { floats[id.index] }
    public func gradient(of id: ValueID) -> [T]? { gradients[id.index] }

    // MARK: Forward

    /// Runs the graph; `intInputs` and `floatInputs` are keyed by graph input name.
    public func forward(_ intInputs: [String: IntTensor], floatInputs: [String: ([Int], [T])] = [:]) throws {
        shapes = [:]; floats = [:]; ints = [:]; saved = [:]; gradients = [:]
        var bindings: [String: Int] = [:]
        for id in graph.inputs {
            let v = graph[id]
            let shape: [Int]
            if v.type.dtype.isFloatingPoint {
                guard let (s, data) = floatInputs[v.name] else {
                    throw IngotError(.invalidArgument, location: "input '\(v.name)'", "missing (float \(v.type.shape))")
                }
                guard data.count == s.reduce(1, *) else {
                    throw IngotError(.shape, location: "input '\(v.name)'", "\(data.count) values for shape \(s)")
                }
                floats[id.index] = data
                shape = s
            } else {
                guard let t = intInputs[v.name] else {
                    throw IngotError(.invalidArgument, location: "input '\(v.name)'", "missing (\(v.type))")
                }
                guard t.values.count == t.shape.reduce(1, *) else {
                    throw IngotError(.shape, location: "input '\(v.name)'", "\(t.values.count) values for shape \(t.shape)")
                }
                ints[id.index] = t.values
                shape = t.shape
            }
            guard shape.count == v.type.shape.rank else {
                throw IngotError(.shape, location: "input '\(v.name)'", "rank \(shape.count), expected \(v.type.shape)")
            }
            for (d, n) in zip(v.type.shape.dims, shape) {
                switch d {
                case .fixed(let f):
                    guard f == n else { throw IngotError(.shape, location: "input '\(v.name)'", "shape \(shape), expected \(v.type.shape)") }
                case .symbol(let s):
                    if let b = bindings[s], b != n {
                        throw IngotError(.shape, location: "input '\(v.name)'", "\(s) = \(n) here but \(b) in another input")
                    }
                    bindings[s] = n
                }
            }
            shapes[id.index] = shape
        }
        for c in graph.constants {
            shapes[c.value.index] = graph[c.value].type.shape.fixedSizes ?? []
            if let p = parameters[c.value.index] { floats[c.value.index] = p }
        }
        for (n, node) in graph.nodes.enumerated() {
            do {
                try forwardNode(n, node, bindings)
            } catch var e as IngotError {
                e.location = "node \(graph[node.outputs[0]].name) (\(node.op.name))" + (e.location.map { ": " + $0 } ?? "")
                throw e
            }
        }
    }

    private func f(_ id: ValueID) -> [T] { floats[id.index]! }
    private func s(_ id: ValueID) -> [Int] { shapes[id.index]! }

    private func set(_ id: ValueID, _ shape: [Int], _ data: [T]) {
        shapes[id.index] = shape
        floats[id.index] = data
    }

    private func forwardNode(_ n: Int, _ node: Node, _ bindings: [String: Int]) throws {
        let ins = node.inputs, out = node.outputs[0]
        switch node.op {
        case .gather:
            let table = f(ins[0]), width = s(ins[0])[1], rows = s(ins[0])[0]
            let ids = ints[ins[1].index]!
            var y = [T](repeating: 0, count: ids.count * width)
            for (i, id) in ids.enumerated() {
                guard id >= 0, Int(id) < rows else {
                    throw IngotError(.invalidArgument, location: "indices", "index \(id) outside 0..<\(rows)")
                }
                for j in 0..<width { y[i * width + j] = table[Int(id) * width + j] }
            }
            set(out, s(ins[1]) + [width], y)

        case .matmul(let transposeB):
            let (y, shape) = Tape.matmulForward(f(ins[0]), s(ins[0]), f(ins[1]), s(ins[1]), transposeB)
            set(out, shape, y)

        case .binary(let kind):
            let (sa, sb) = (s(ins[0]), s(ins[1]))
            let shape = try broadcastShape(sa, sb)
            let (oa, ob) = (broadcastOffsets(sa, to: shape), broadcastOffsets(sb, to: shape))
            let (a, b) = (f(ins[0]), f(ins[1]))
            var y = [T](repeating: 0, count: shape.reduce(1, *))
            for i in y.indices {
                let x = a[oa?[i] ?? i], z = b[ob?[i] ?? i]
                switch kind {
                case .add: y[i] = x + z
                case .sub: y[i] = x - z
                case .mul: y[i] = x * z
                case .div: y[i] = x / z
                }
            }
            set(out, shape, y)

        case .gelu(let approx):
            set(out, s(ins[0]), f(ins[0]).map { activate($0, approx == .erf ? .gelu : .geluTanh) })

        case .silu:
            set(out, s(ins[0]), f(ins[0]).map { activate($0, .silu) })

        case .layerNorm(let eps):
            let (y, stats) = layerNormForward(f(ins[0]), f(ins[1]), f(ins[2]), width: s(ins[0]).last!, eps: eps)
            saved[n] = stats
            set(out, s(ins[0]), y)

        case .rmsNorm(let eps):
            let (y, stats) = rmsNormForward(f(ins[0]), f(ins[1]), width: s(ins[0]).last!, eps: eps)
            saved[n] = stats
            set(out, s(ins[0]), y)

        case .rope(let theta, let heads, let headDim, let style):
            set(out, s(ins[0]), rope(f(ins[0]), ints[ins[1].index]!, heads: heads, headDim: headDim, theta: theta,
                                     interleaved: style == .interleaved, inverse: false))

        case .softmax(let axis):
            let shape = s(ins[0])
            guard axis == -1 || axis == shape.count - 1 else {
                throw IngotError(.unsupported, location: "softmax", "training supports the last axis only, got axis \(axis)")
            }
            set(out, shape, softmaxRows(f(ins[0]), width: shape.last!))

        case .attention(let a):
            let (sq, sk) = (s(ins[0]), s(ins[1]))
            let mask = ins.count == 4 ? ints[ins[3].index]! : nil
            let (y, probs) = attentionForward(q: f(ins[0]), k: f(ins[1]), v: f(ins[2]), mask: mask, batch: sq[0], seq: sq[1],
                                              keySeq: sk[1], a)
            saved[n] = probs
            set(out, sq, y)

        case .reshape(let target):
            let count = s(ins[0]).reduce(1, *)
            set(out, try resolve(target, bindings, count: count), f(ins[0]))

        case .transpose(let perm):
            let (y, shape) = transposeData(f(ins[0]), s(ins[0]), perm)
            set(out, shape, y)

        case .slice(let axis, let start, let end):
            let shape = s(ins[0]), ax = axis < 0 ? axis + shape.count : axis
            let (outer, len, inner) = axisSplit(shape, ax)
            let width = end - start
            var y = [T](repeating: 0, count: outer * width * inner)
            let x = f(ins[0])
            for o in 0..<outer {
                for i in 0..<width * inner { y[(o * width) * inner + i] = x[(o * len + start) * inner + i] }
            }
            var os = shape
            os[ax] = width
            set(out, os, y)

        case .concat(let axis):
            let shape0 = s(ins[0]), ax = axis < 0 ? axis + shape0.count : axis
            let parts = ins.map { (f($0), s($0)[ax]) }
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
            set(out, os, y)

        case .split(let axis, let sizes):
            let shape = s(ins[0]), ax = axis < 0 ? axis + shape.count : axis
            let (outer, len, inner) = axisSplit(shape, ax)
            let x = f(ins[0])
            var offset = 0
            for (piece, width) in zip(node.outputs, sizes) {
                var y = [T](repeating: 0, count: outer * width * inner)
                for o in 0..<outer {
                    for i in 0..<width * inner { y[o * width * inner + i] = x[(o * len + offset) * inner + i] }
                }
                var os = shape
                os[ax] = width
                set(piece, os, y)
                offset += width
            }

        case .meanPool:
            let shape = s(ins[0]), (b, sq, h) = (shape[0], shape[1], shape[2])
            let x = f(ins[0]), mask = ints[ins[1].index]!
            var y = [T](repeating: 0, count: b * h)
            for bi in 0..<b {
                var count: T = 0
                for t in 0..<sq where mask[bi * sq + t] != 0 {
                    count += 1
                    for d in 0..<h { y[bi * h + d] += x[(bi * sq + t) * h + d] }
                }
                let inv = 1 / max(count, T(1e-9))
                for d in 0..<h { y[bi * h + d] *= inv }
            }
            set(out, [b, h], y)

        case .l2Normalize(let axis, let eps):
            let shape = s(ins[0])
            guard axis == -1 || axis == shape.count - 1 else {
                throw IngotError(.unsupported, location: "l2_normalize", "training supports the last axis only, got axis \(axis)")
            }
            let w = shape.last!, x = f(ins[0])
            var y = x
            for r in 0..<x.count / w {
                var ss: T = 0
                for j in 0..<w { ss += x[r * w + j] * x[r * w + j] }
                let inv = 1 / max(ss.squareRoot(), T(eps))
                for j in 0..<w { y[r * w + j] *= inv }
            }
            set(out, shape, y)

        case .cast(let dtype):
            let shape = s(ins[0])
            if let i = ints[ins[0].index] {
                if dtype.isFloatingPoint { set(out, shape, i.map { T($0) }) } else { ints[out.index] = i; shapes[out.index] = shape }
            } else {
                guard dtype.isFloatingPoint else {
                    throw IngotError(.unsupported, location: "cast", "float to \(dtype) is not differentiable")
                }
                set(out, shape, f(ins[0]))
            }

        case .linear(let activation):
            let (z, shape) = Tape.matmulForward(f(ins[0]), s(ins[0]), f(ins[1]), s(ins[1]), true)
            var pre = z
            if ins.count == 3 {
                let bias = f(ins[2]), nOut = shape.last!
                for i in pre.indices { pre[i] += bias[i % nOut] }
            }
            if activation != .none { saved[n] = pre }
            set(out, shape, activation == .none ? pre : pre.map { activate($0, activation) })

        case .swiglu:
            let shape = s(ins[0]), half = shape.last! / 2, x = f(ins[0])
            let rows = x.count / (2 * half)
            var y = [T](repeating: 0, count: rows * half)
            for r in 0..<rows {
                for i in 0..<half { y[r * half + i] = activate(x[r * 2 * half + i], .silu) * x[r * 2 * half + half + i] }
            }
            var os = shape
            os[os.count - 1] = half
            set(out, os, y)

        case .addLayerNorm(let eps):
            let sum = zip(f(ins[0]), f(ins[1])).map { $0 + $1 }
            let (y, stats) = layerNormForward(sum, f(ins[2]), f(ins[3]), width: s(ins[0]).last!, eps: eps)
            saved[n] = stats
            set(node.outputs[0], s(ins[0]), y)
            set(node.outputs[1], s(ins[0]), sum)

        case .addRMSNorm(let eps):
            let sum = zip(f(ins[0]), f(ins[1])).map { $0 + $1 }
            let (y, stats) = rmsNormForward(sum, f(ins[2]), width: s(ins[0]).last!, eps: eps)
            saved[n] = stats
            set(node.outputs[0], s(ins[0]), y)
            set(node.outputs[1], s(ins[0]), sum)

        case .linearInt8, .gatherInt8, .linearSparse, .linearInt8Packed:
            throw IngotError(.unsupported, location: node.op.name,
                             "int8 and sparse-format ops are not differentiable; run distill before quantize and sparsify")
        }
    }

    // MARK: Backward

    /// Accumulates ∂L/∂p for every trainable parameter p, given ∂L/∂y for some values y
    /// (usually graph outputs) from the last `forward`.
    public func backward(seeds: [ValueID: [T]]) throws {
        gradients = [:]
        // Values that depend on a trainable parameter or a float graph input need gradients.
        var needs = Set(trainable)
        for id in graph.inputs where graph[id].type.dtype.isFloatingPoint { needs.insert(id.index) }
        for node in graph.nodes where node.inputs.contains(where: { needs.contains($0.index) }) {
            for o in node.outputs { needs.insert(o.index) }
        }
        var grad: [Int: [T]] = [:]
        for (id, g) in seeds {
            guard let shape = shapes[id.index], g.count == shape.reduce(1, *) else {
                throw IngotError(.shape, location: "seed for '\(graph[id].name)'", "\(g.count) values, expected \(shapes[id.index] ?? [])")
            }
            grad[id.index] = g
        }
        func accumulate(_ id: ValueID, _ g: [T]) {
            guard needs.contains(id.index) else { return }
            if var existing = grad[id.index] {
                for i in existing.indices { existing[i] += g[i] }
                grad[id.index] = existing
            } else {
                grad[id.index] = g
            }
        }
        for n in graph.nodes.indices.reversed() {
            let node = graph.nodes[n]
            guard node.outputs.contains(where: { grad[$0.index] != nil }),
                  node.inputs.contains(where: { needs.contains($0.index) }) else { continue }
            let outGrads = node.outputs.map { grad[$0.index] ?? [T](repeating: 0, count: shapes[$0.index]!.reduce(1, *)) }
            for o in node.outputs where !graph.outputs.contains(o) && !trainable.contains(o.index) { grad[o.index] = nil }
            try backwardNode(n, node, outGrads, needs: needs, accumulate)
        }
        for p in trainable { gradients[p] = grad[p] ?? [T](repeating: 0, count: parameters[p]?.count ?? 0) }
        for id in graph.inputs where graph[id].type.dtype.isFloatingPoint { gradients[id.index] = grad[id.index] }
    }

    private func backwardNode(_ n: Int, _ node: Node, _ gs: [[T]], needs: Set<Int>,
                              _ acc: (ValueID, [T]) -> Void) throws {
        let ins = node.inputs, g = gs[0]
        func wants(_ i: Int) -> Bool { i < ins.count && needs.contains(ins[i].index) }
        switch node.op {
        case .gather:
            guard wants(0) else { return }
            let width = s(ins[0])[1]
            var d = [T](repeating: 0, count: f(ins[0]).count)
            for (i, id) in ints[ins[1].index]!.enumerated() {
                for j in 0..<width { d[Int(id) * width + j] += g[i * width + j] }
            }
            acc(ins[0], d)

        case .matmul(let transposeB):
            let (da, db) = Tape.matmulBackward(g, f(ins[0]), s(ins[0]), f(ins[1]), s(ins[1]), transposeB, wantA: wants(0), wantB: wants(1))
            if let da { acc(ins[0], da) }
            if let db { acc(ins[1], db) }

        case .binary(let kind):
            let (sa, sb) = (s(ins[0]), s(ins[1]))
            let shape = s(node.outputs[0])
            let (oa, ob) = (broadcastOffsets(sa, to: shape), broadcastOffsets(sb, to: shape))
            let (a, b) = (f(ins[0]), f(ins[1]))
            var da = [T](repeating: 0, count: a.count), db = [T](repeating: 0, count: b.count)
            for i in g.indices {
                let ia = oa?[i] ?? i, ib = ob?[i] ?? i
                switch kind {
                case .add: da[ia] += g[i]; db[ib] += g[i]
                case .sub: da[ia] += g[i]; db[ib] -= g[i]
                case .mul: da[ia] += g[i] * b[ib]; db[ib] += g[i] * a[ia]
                case .div: da[ia] += g[i] / b[ib]; db[ib] -= g[i] * a[ia] / (b[ib] * b[ib])
                }
            }
            if wants(0) { acc(ins[0], da) }
            if wants(1) { acc(ins[1], db) }

        case .gelu(let approx):
            let x = f(ins[0]), act: Activation = approx == .erf ? .gelu : .geluTanh
            acc(ins[0], x.indices.map { g[$0] * activationDerivative(x[$0], act) })

        case .silu:
            let x = f(ins[0])
            acc(ins[0], x.indices.map { g[$0] * activationDerivative(x[$0], .silu) })

        case .layerNorm:
            let (dx, dgamma, dbeta) = layerNormBackward(g, f(ins[0]), f(ins[1]), saved[n]!, width: s(ins[0]).last!)
            if wants(0) { acc(ins[0], dx) }
            if wants(1) { acc(ins[1], dgamma) }
            if wants(2) { acc(ins[2], dbeta) }

        case .rmsNorm:
            let (dx, dw) = rmsNormBackward(g, f(ins[0]), f(ins[1]), saved[n]!, width: s(ins[0]).last!)
            if wants(0) { acc(ins[0], dx) }
            if wants(1) { acc(ins[1], dw) }

        case .rope(let theta, let heads, let headDim, let style):
            acc(ins[0], rope(g, ints[ins[1].index]!, heads: heads, headDim: headDim, theta: theta,
                             interleaved: style == .interleaved, inverse: true))

        case .softmax:
            let y = f(node.outputs[0]), w = s(ins[0]).last!
            var dx = [T](repeating: 0, count: y.count)
            for r in 0..<y.count / w {
                var dot: T = 0
                for j in 0..<w { dot += g[r * w + j] * y[r * w + j] }
                for j in 0..<w { dx[r * w + j] = y[r * w + j] * (g[r * w + j] - dot) }
            }
            acc(ins[0], dx)

        case .attention(let a):
            let (sq, sk) = (s(ins[0]), s(ins[1]))
            let (dq, dk, dv) = attentionBackward(g, q: f(ins[0]), k: f(ins[1]), v: f(ins[2]), probs: saved[n]!,
                                                 batch: sq[0], seq: sq[1], keySeq: sk[1], a)
            if wants(0) { acc(ins[0], dq) }
            if wants(1) { acc(ins[1], dk) }
            if wants(2) { acc(ins[2], dv) }

        case .reshape:
            acc(ins[0], g)

        case .transpose(let perm):
            var inverse = [Int](repeating: 0, count: perm.count)
            for (i, p) in perm.enumerated() { inverse[p] = i }
            acc(ins[0], transposeData(g, s(node.outputs[0]), inverse).0)

        case .slice(let axis, let start, let end):
            let shape = s(ins[0]), ax = axis < 0 ? axis + shape.count : axis
            let (outer, len, inner) = axisSplit(shape, ax)
            let width = end - start
            var dx = [T](repeating: 0, count: shape.reduce(1, *))
            for o in 0..<outer {
                for i in 0..<width * inner { dx[(o * len + start) * inner + i] = g[(o * width) * inner + i] }
            }
            acc(ins[0], dx)

        case .concat(let axis):
            let shape = s(node.outputs[0]), ax = axis < 0 ? axis + shape.count : axis
            let (outer, total, inner) = axisSplit(shape, ax)
            var offset = 0
            for (i, input) in ins.enumerated() {
                let len = s(input)[ax]
                if wants(i) {
                    var dx = [T](repeating: 0, count: outer * len * inner)
                    for o in 0..<outer {
                        for j in 0..<len * inner { dx[o * len * inner + j] = g[(o * total + offset) * inner + j] }
                    }
                    acc(input, dx)
                }
                offset += len
            }

        case .split(let axis, _):
            let shape = s(ins[0]), ax = axis < 0 ? axis + shape.count : axis
            let (outer, len, inner) = axisSplit(shape, ax)
            var dx = [T](repeating: 0, count: shape.reduce(1, *))
            var offset = 0
            for (piece, pg) in zip(node.outputs, gs) {
                let width = s(piece)[ax]
                for o in 0..<outer {
                    for j in 0..<width * inner { dx[(o * len + offset) * inner + j] = pg[o * width * inner + j] }
                }
                offset += width
            }
            acc(ins[0], dx)

        case .meanPool:
            let shape = s(ins[0]), (b, sq, h) = (shape[0], shape[1], shape[2])
            let mask = ints[ins[1].index]!
            var dx = [T](repeating: 0, count: b * sq * h)
            for bi in 0..<b {
                let count = T((0..<sq).filter { mask[bi * sq + $0] != 0 }.count)
                let inv = 1 / max(count, T(1e-9))
                for t in 0..<sq where mask[bi * sq + t] != 0 {
                    for d in 0..<h { dx[(bi * sq + t) * h + d] = g[bi * h + d] * inv }
                }
            }
            acc(ins[0], dx)

        case .l2Normalize(_, let eps):
            let x = f(ins[0]), y = f(node.outputs[0]), w = s(ins[0]).last!
            var dx = [T](repeating: 0, count: x.count)
            for r in 0..<x.count / w {
                var ss: T = 0, dot: T = 0
                for j in 0..<w { ss += x[r * w + j] * x[r * w + j]; dot += y[r * w + j] * g[r * w + j] }
                let norm = ss.squareRoot()
                if norm > T(eps) {
                    for j in 0..<w { dx[r * w + j] = (g[r * w + j] - y[r * w + j] * dot) / norm }
                } else {
                    for j in 0..<w { dx[r * w + j] = g[r * w + j] / T(eps) }
                }
            }
            acc(ins[0], dx)

        case .cast:
            if floats[ins[0].index] != nil { acc(ins[0], g) }

        case .linear(let activation):
            var dz = g
            if activation != .none {
                let pre = saved[n]!
                for i in dz.indices { dz[i] *= activationDerivative(pre[i], activation) }
            }
            let (dx, dw) = Tape.matmulBackward(dz, f(ins[0]), s(ins[0]), f(ins[1]), s(ins[1]), true, wantA: wants(0), wantB: wants(1))
            if let dx { acc(ins[0], dx) }
            if let dw { acc(ins[1], dw) }
            if wants(2) {
                let nOut = s(ins[1])[0]
                var db = [T](repeating: 0, count: nOut)
                for i in dz.indices { db[i % nOut] += dz[i] }
                acc(ins[2], db)
            }

        case .swiglu:
            let x = f(ins[0]), half = s(ins[0]).last! / 2
            var dx = [T](repeating: 0, count: x.count)
            for r in 0..<x.count / (2 * half) {
                for i in 0..<half {
                    let gate = x[r * 2 * half + i], up = x[r * 2 * half + half + i], d = g[r * half + i]
                    dx[r * 2 * half + i] = d * up * activationDerivative(gate, .silu)
                    dx[r * 2 * half + half + i] = d * activate(gate, .silu)
                }
            }
            acc(ins[0], dx)

        case .addLayerNorm:
            let sum = f(node.outputs[1])
            var (dsum, dgamma, dbeta) = layerNormBackward(g, sum, f(ins[2]), saved[n]!, width: s(ins[0]).last!)
            for i in dsum.indices { dsum[i] += gs[1][i] }
            if wants(0) { acc(ins[0], dsum) }
            if wants(1) { acc(ins[1], dsum) }
            if wants(2) { acc(ins[2], dgamma) }
            if wants(3) { acc(ins[3], dbeta) }

        case .addRMSNorm:
            let sum = f(node.outputs[1])
            var (dsum, dw) = rmsNormBackward(g, sum, f(ins[2]), saved[n]!, width: s(ins[0]).last!)
            for i in dsum.indices { dsum[i] += gs[1][i] }
            if wants(0) { acc(ins[0], dsum) }
            if wants(1) { acc(ins[1], dsum) }
            if wants(2) { acc(ins[2], dw) }

        case .linearInt8, .gatherInt8, .linearSparse, .linearInt8Packed:
            throw IngotError(.unsupported, location: node.op.name, "int8 and sparse-format ops are not differentiable")
        }
    }

    // MARK: Matrix products

    /// a[…, K] · b (b [N, K] with transposeB, else [K, N]; or batched b [B…, K, N] matching a's leading dims).
    static func matmulForward(_ a: [T], _ sa: [Int], _ b: [T], _ sb: [Int], _ transposeB: Bool) -> ([T], [Int]) {
        let k = sa.last!
        let n = transposeB ? sb[sb.count - 2] : sb.last!
        if sb.count == 2 {
            let m = a.count / max(k, 1)
            var y = [T](repeating: 0, count: m * n)
            matmul(a, b, into: &y, m: m, n: n, k: k, transB: transposeB)
            return (y, Array(sa.dropLast()) + [n])
        }
        let m = sa[sa.count - 2], batches = a.count / (m * k)
        var y = [T](repeating: 0, count: batches * m * n)
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                y.withUnsafeMutableBufferPointer { py in
                    for i in 0..<batches {
                        T.gemm(transA: false, transB: transposeB, m: m, n: n, k: k, alpha: 1, a: pa.baseAddress! + i * m * k, lda: k,
                               b: pb.baseAddress! + i * k * n, ldb: transposeB ? k : n, beta: 0, c: py.baseAddress! + i * m * n, ldc: n)
                    }
                }
            }
        }
        return (y, Array(sa.dropLast()) + [n])
    }

    static func matmulBackward(_ g: [T], _ a: [T], _ sa: [Int], _ b: [T], _ sb: [Int], _ transposeB: Bool,
                               wantA: Bool, wantB: Bool) -> ([T]?, [T]?) {
        let k = sa.last!
        let n = transposeB ? sb[sb.count - 2] : sb.last!
        if sb.count == 2 {
            let m = a.count / max(k, 1)
            var da: [T]? = nil, db: [T]? = nil
            if wantA {
                // y = a·bᵀ: da = g·b;  y = a·b: da = g·bᵀ
                var d = [T](repeating: 0, count: a.count)
                matmul(g, b, into: &d, m: m, n: k, k: n, transB: !transposeB)
                da = d
            }
            if wantB {
                var d = [T](repeating: 0, count: b.count)
                if transposeB { matmul(g, a, into: &d, m: n, n: k, k: m, transA: true) }   // db[N, K] = gᵀ·a
                else { matmul(a, g, into: &d, m: k, n: n, k: m, transA: true) }            // db[K, N] = aᵀ·g
                db = d
            }
            return (da, db)
        }
        let m = sa[sa.count - 2], batches = a.count / (m * k)
        var da = [T](repeating: 0, count: wantA ? a.count : 0), db = [T](repeating: 0, count: wantB ? b.count : 0)
        g.withUnsafeBufferPointer { pg in
            a.withUnsafeBufferPointer { pa in
                b.withUnsafeBufferPointer { pb in
                    for i in 0..<batches {
                        let gi = pg.baseAddress! + i * m * n, ai = pa.baseAddress! + i * m * k, bi = pb.baseAddress! + i * k * n
                        if wantA {
                            da.withUnsafeMutableBufferPointer { d in
                                T.gemm(transA: false, transB: !transposeB, m: m, n: k, k: n, alpha: 1, a: gi, lda: n, b: bi,
                                       ldb: transposeB ? k : n, beta: 0, c: d.baseAddress! + i * m * k, ldc: k)
                            }
                        }
                        if wantB {
                            db.withUnsafeMutableBufferPointer { d in
                                if transposeB {
                                    T.gemm(transA: true, transB: false, m: n, n: k, k: m, alpha: 1, a: gi, lda: n, b: ai, ldb: k,
                                           beta: 0, c: d.baseAddress! + i * k * n, ldc: k)
                                } else {
                                    T.gemm(transA: true, transB: false, m: k, n: n, k: m, alpha: 1, a: ai, lda: k, b: gi, ldb: n,
                                           beta: 0, c: d.baseAddress! + i * k * n, ldc: n)
                                }
                            }
                        }
                    }
                }
            }
        }
        return (wantA ? da : nil, wantB ? db : nil)
    }

    // MARK: Attention

    /// Per batch b and head h (kv head h / (H / KV)): P = softmax(scale·Q·Kᵀ + mask), O = P·V.
    /// q, out [B, S, H·D]; k, v [B, T, KV·D]; probs [B, H, S, T] (kept for backward).
    func attentionForward(q: [T], k: [T], v: [T], mask: [Int32]?, batch: Int, seq: Int, keySeq: Int,
                          _ a: AttentionAttributes) -> ([T], [T]) {
        let (H, KV, D) = (a.heads, a.kvHeads, a.headDim)
        var out = [T](repeating: 0, count: batch * seq * H * D)
        var probs = [T](repeating: 0, count: batch * H * seq * keySeq)
        q.withUnsafeBufferPointer { pq in
            k.withUnsafeBufferPointer { pk in
                v.withUnsafeBufferPointer { pv in
                    probs.withUnsafeMutableBufferPointer { pp in
                        out.withUnsafeMutableBufferPointer { po in
                            for b in 0..<batch {
                                for h in 0..<H {
                                    let gIdx = h / (H / KV)
                                    let p = pp.baseAddress! + (b * H + h) * seq * keySeq
                                    let qb = pq.baseAddress! + b * seq * H * D + h * D
                                    let kb = pk.baseAddress! + b * keySeq * KV * D + gIdx * D
                                    let vb = pv.baseAddress! + b * keySeq * KV * D + gIdx * D
                                    T.gemm(transA: false, transB: true, m: seq, n: keySeq, k: D, alpha: T(a.scale), a: qb, lda: H * D,
                                           b: kb, ldb: KV * D, beta: 0, c: p, ldc: keySeq)
                                    for i in 0..<seq {
                                        let row = p + i * keySeq
                                        var m = -T.infinity
                                        for j in 0..<keySeq {
                                            let masked = (mask.map { $0[b * keySeq + j] == 0 } ?? false) || (a.causal && j > i)
                                            if masked { row[j] = -T.infinity } else { m = max(m, row[j]) }
                                        }
                                        guard m > -T.infinity else { for j in 0..<keySeq { row[j] = 0 }; continue }
                                        var z: T = 0
                                        for j in 0..<keySeq {
                                            let e = row[j] == -T.infinity ? 0 : T.exp(row[j] - m)
                                            row[j] = e
                                            z += e
                                        }
                                        for j in 0..<keySeq { row[j] /= z }
                                    }
                                    T.gemm(transA: false, transB: false, m: seq, n: D, k: keySeq, alpha: 1, a: p, lda: keySeq,
                                           b: vb, ldb: KV * D, beta: 0, c: po.baseAddress! + b * seq * H * D + h * D, ldc: H * D)
                                }
                            }
                        }
                    }
                }
            }
        }
        return (out, probs)
    }

    /// dP = dO·Vᵀ; dS = P ⊙ (dP − rowsum(dP ⊙ P)); dQ = scale·dS·K; dK += scale·dSᵀ·Q; dV += Pᵀ·dO.
    func attentionBackward(_ g: [T], q: [T], k: [T], v: [T], probs: [T], batch: Int, seq: Int, keySeq: Int,
                           _ a: AttentionAttributes) -> ([T], [T], [T]) {
        let (H, KV, D) = (a.heads, a.kvHeads, a.headDim)
        var dq = [T](repeating: 0, count: q.count), dk = [T](repeating: 0, count: k.count), dv = [T](repeating: 0, count: v.count)
        var ds = [T](repeating: 0, count: seq * keySeq)
        g.withUnsafeBufferPointer { pg in
            q.withUnsafeBufferPointer { pq in
                k.withUnsafeBufferPointer { pk in
                    v.withUnsafeBufferPointer { pv in
                        probs.withUnsafeBufferPointer { pp in
                            for b in 0..<batch {
                                for h in 0..<H {
                                    let gIdx = h / (H / KV)
                                    let p = pp.baseAddress! + (b * H + h) * seq * keySeq
                                    let qOff = b * seq * H * D + h * D, kOff = b * keySeq * KV * D + gIdx * D
                                    let gb = pg.baseAddress! + qOff
                                    ds.withUnsafeMutableBufferPointer { pd in
                                        let d = pd.baseAddress!
                                        T.gemm(transA: false, transB: true, m: seq, n: keySeq, k: D, alpha: 1, a: gb, lda: H * D,
                                               b: pv.baseAddress! + kOff, ldb: KV * D, beta: 0, c: d, ldc: keySeq)
                                        for i in 0..<seq {
                                            var dot: T = 0
                                            for j in 0..<keySeq { dot += d[i * keySeq + j] * p[i * keySeq + j] }
                                            for j in 0..<keySeq { d[i * keySeq + j] = p[i * keySeq + j] * (d[i * keySeq + j] - dot) }
                                        }
                                        dq.withUnsafeMutableBufferPointer { o in
                                            T.gemm(transA: false, transB: false, m: seq, n: D, k: keySeq, alpha: T(a.scale), a: d, lda: keySeq,
                                                   b: pk.baseAddress! + kOff, ldb: KV * D, beta: 1, c: o.baseAddress! + qOff, ldc: H * D)
                                        }
                                        dk.withUnsafeMutableBufferPointer { o in
                                            T.gemm(transA: true, transB: false, m: keySeq, n: D, k: seq, alpha: T(a.scale), a: d, lda: keySeq,
                                                   b: pq.baseAddress! + qOff, ldb: H * D, beta: 1, c: o.baseAddress! + kOff, ldc: KV * D)
                                        }
                                    }
                                    dv.withUnsafeMutableBufferPointer { o in
                                        T.gemm(transA: true, transB: false, m: keySeq, n: D, k: seq, alpha: 1, a: p, lda: keySeq,
                                               b: gb, ldb: H * D, beta: 1, c: o.baseAddress! + kOff, ldc: KV * D)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return (dq, dk, dv)
    }
}

// MARK: Elementwise pieces shared by forward and backward

@inline(__always)
func activate<T: TrainingScalar>(_ x: T, _ a: Activation) -> T {
    switch a {
    case .none: return x
    case .gelu: return x * (1 + T.erf(x / T.sqrt(2))) / 2
    case .geluTanh:
        let c = T.sqrt(2 / T.pi)
        return x * (1 + T.tanh(c * (x + T(0.044715) * x * x * x))) / 2
    case .silu: return x / (1 + T.exp(-x))
    }
}

/// d act(x) / dx.
@inline(__always)
func activationDerivative<T: TrainingScalar>(_ x: T, _ a: Activation) -> T {
    switch a {
    case .none: return 1
    case .gelu:
        // Φ(x) + x·φ(x)
        let cdf = (1 + T.erf(x / T.sqrt(2))) / 2
        return cdf + x * T.exp(-x * x / 2) / T.sqrt(2 * T.pi)
    case .geluTanh:
        let c = T.sqrt(2 / T.pi)
        let t = T.tanh(c * (x + T(0.044715) * x * x * x))
        return (1 + t) / 2 + x * (1 - t * t) * c * (1 + 3 * T(0.044715) * x * x) / 2
    case .silu:
        let sig = 1 / (1 + T.exp(-x))
        return sig * (1 + x * (1 - sig))
    }
}

/// Rows of width w: x̂ = (x − μ)·r, y = γ·x̂ + β; stats = [μ, r] per row.
func layerNormForward<T: TrainingScalar>(_ x: [T], _ gamma: [T], _ beta: [T], width w: Int, eps: Float) -> ([T], [T]) {
    let rows = x.count / w
    var y = [T](repeating: 0, count: x.count), stats = [T](repeating: 0, count: 2 * rows)
    for r in 0..<rows {
        var mean: T = 0
        for j in 0..<w { mean += x[r * w + j] }
        mean /= T(w)
        var v: T = 0
        for j in 0..<w { let d = x[r * w + j] - mean; v += d * d }
        let rstd = 1 / (v / T(w) + T(eps)).squareRoot()
        stats[2 * r] = mean
        stats[2 * r + 1] = rstd
        for j in 0..<w { y[r * w + j] = (x[r * w + j] - mean) * rstd * gamma[j] + beta[j] }
    }
    return (y, stats)
}

/// dx = r·(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂)), dx̂ = g·γ; dγ = Σ g·x̂; dβ = Σ g.
func layerNormBackward<T: TrainingScalar>(_ g: [T], _ x: [T], _ gamma: [T], _ stats: [T], width w: Int) -> ([T], [T], [T]) {
    var dx = [T](repeating: 0, count: x.count), dgamma = [T](repeating: 0, count: w), dbeta = [T](repeating: 0, count: w)
    for r in 0..<x.count / w {
        let (mean, rstd) = (stats[2 * r], stats[2 * r + 1])
        var sum1: T = 0, sum2: T = 0
        for j in 0..<w {
            let xhat = (x[r * w + j] - mean) * rstd, dxhat = g[r * w + j] * gamma[j]
            sum1 += dxhat
            sum2 += dxhat * xhat
            dgamma[j] += g[r * w + j] * xhat
            dbeta[j] += g[r * w + j]
        }
        sum1 /= T(w)
        sum2 /= T(w)
        for j in 0..<w {
            let xhat = (x[r * w + j] - mean) * rstd
            dx[r * w + j] = rstd * (g[r * w + j] * gamma[j] - sum1 - xhat * sum2)
        }
    }
    return (dx, dgamma, dbeta)
}

/// y = w·x·r, r = 1/√(mean(x²) + ε); stats = r per row.
func rmsNormForward<T: TrainingScalar>(_ x: [T], _ weight: [T], width w: Int, eps: Float) -> ([T], [T]) {
    let rows = x.count / w
    var y = [T](repeating: 0, count: x.count), stats = [T](repeating: 0, count: rows)
    for r in 0..<rows {
        var ss: T = 0
        for j in 0..<w { ss += x[r * w + j] * x[r * w + j] }
        let inv = 1 / (ss / T(w) + T(eps)).squareRoot()
        stats[r] = inv
        for j in 0..<w { y[r * w + j] = x[r * w + j] * inv * weight[j] }
    }
    return (y, stats)
}

/// dx = r·gw − x·r³·Σ(gw·x)/n with gw = g·w; dw = Σ g·x·r.
func rmsNormBackward<T: TrainingScalar>(_ g: [T], _ x: [T], _ weight: [T], _ stats: [T], width w: Int) -> ([T], [T]) {
    var dx = [T](repeating: 0, count: x.count), dw = [T](repeating: 0, count: w)
    for r in 0..<x.count / w {
        let inv = stats[r]
        var dot: T = 0
        for j in 0..<w {
            dot += g[r * w + j] * weight[j] * x[r * w + j]
            dw[j] += g[r * w + j] * x[r * w + j] * inv
        }
        let c = dot * inv * inv * inv / T(w)
        for j in 0..<w { dx[r * w + j] = g[r * w + j] * weight[j] * inv - x[r * w + j] * c }
    }
    return (dx, dw)
}

/// Rotates pairs by position · θ^(−2i/D); `inverse` rotates back (the transpose: RoPE's backward).
func rope<T: TrainingScalar>(_ x: [T], _ positions: [Int32], heads: Int, headDim: Int, theta: Float,
                             interleaved: Bool, inverse: Bool) -> [T] {
    var y = x
    let half = headDim / 2
    for t in 0..<positions.count {
        for h in 0..<heads {
            let base = (t * heads + h) * headDim
            for i in 0..<half {
                let angle = T(Double(positions[t]) * Double.pow(Double(theta), -2 * Double(i) / Double(headDim)))
                let (c, s0) = (T.cos(angle), T.sin(angle))
                let sn = inverse ? -s0 : s0
                let (ia, ib) = interleaved ? (base + 2 * i, base + 2 * i + 1) : (base + i, base + i + half)
                let a = x[ia], b = x[ib]
                y[ia] = a * c - b * sn
                y[ib] = a * sn + b * c
            }
        }
    }
    return y
}

func softmaxRows<T: TrainingScalar>(_ x: [T], width w: Int) -> [T] {
    var y = x
    for r in 0..<x.count / w {
        var m = -T.infinity
        for j in 0..<w { m = max(m, x[r * w + j]) }
        var z: T = 0
        for j in 0..<w { let e = T.exp(x[r * w + j] - m); y[r * w + j] = e; z += e }
        for j in 0..<w { y[r * w + j] /= z }
    }
    return y
}

// MARK: Shapes

/// (product of dims before axis, dim at axis, product after).
func axisSplit(_ shape: [Int], _ axis: Int) -> (Int, Int, Int) {
    (shape[..<axis].reduce(1, *), shape[axis], shape[(axis + 1)...].reduce(1, *))
}

func broadcastShape(_ a: [Int], _ b: [Int]) throws -> [Int] {
    let rank = max(a.count, b.count)
    let pa = [Int](repeating: 1, count: rank - a.count) + a, pb = [Int](repeating: 1, count: rank - b.count) + b
    return try zip(pa, pb).map { x, y in
        guard x == y || x == 1 || y == 1 else {
            throw IngotError(.shape, location: "broadcast", "shapes \(a) and \(b) do not broadcast")
        }
        return max(x, y)
    }
}

/// For each element of `shape`, the offset of the element of `from` it reads; nil when the shapes are equal.
func broadcastOffsets(_ from: [Int], to shape: [Int]) -> [Int]? {
    guard from != shape else { return nil }
    let count = shape.reduce(1, *), fromCount = from.reduce(1, *)
    // Trailing broadcast (a bias [H] over [..., H]): offsets repeat.
    if fromCount > 0, shape.count >= from.count, Array(shape.suffix(from.count)) == from {
        return (0..<count).map { $0 % fromCount }
    }
    let rank = shape.count
    let strides = broadcastStrides(from, rank: rank)
    var offsets = [Int](repeating: 0, count: count)
    var index = [Int](repeating: 0, count: rank)
    for i in 0..<count {
        var o = 0
        for d in 0..<rank { o += index[d] * strides[d] }
        offsets[i] = o
        var d = rank - 1
        while d >= 0 {
            index[d] += 1
            if index[d] < shape[d] { break }
            index[d] = 0
            d -= 1
        }
    }
    return offsets
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
