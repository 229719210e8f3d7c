// ONNXOps: what ONNXTranslator does for each supported ONNX op type (the list is
// ONNXImporter.supportedOps): fold it at import time, extend a pending pattern (Sym), or write IR.
// Shapes in comments use the ONNX operand order. It does not check that the graph computes a
// BERT: any graph made only of these ops and recognised patterns imports.

import IngotCore
import IngotCheckpoint
import IngotIR

extension ONNXTranslator {
    mutating func translate(_ n: ONNXNode) throws -> [Sym] {
        switch n.opType {
        case "Constant": return [try constantNode()]
        case "Identity", "Dropout": return [try input(0)]
        case "Shape": return [try shapeOf()]
        case "Gather": return [try gather()]
        case "Unsqueeze": return [try unsqueeze()]
        case "Squeeze": return [try squeeze()]
        case "Concat": return [try concat()]
        case "Slice": return [try slice()]
        case "Cast": return [try cast()]
        case "Add", "Sub", "Mul", "Div", "Pow", "Equal": return [try binary(n.opType)]
        case "Sqrt", "Erf", "Not", "Neg", "Tanh", "IsNaN": return [try unary(n.opType)]
        case "GreaterOrEqual", "And", "Max": return [try indexLogic(n.opType)]
        case "GatherND": return [try gatherND()]
        case "DequantizeLinear": return [try dequantizeLinear()]
        case "ReduceMean", "ReduceSum": return [try reduce(n.opType)]
        case "Clip": return [try clip()]
        case "MatMul": return [try matmul()]
        case "Gemm": return [try gemm()]
        case "Reshape": return [try reshape()]
        case "Transpose": return [try transpose()]
        case "Softmax": return [try softmax()]
        case "LayerNormalization": return [try layerNormalization()]
        case "Where": return [try whereOp()]
        case "ConstantOfShape": return [try constantOfShape()]
        case "Expand": return [try expand()]
        case "Range": return [try range()]
        default: throw fail("op type \(n.opType) is not imported")
        }
    }

    // MARK: Constants and shapes

    func knownFromTensor(_ t: ONNXTensor) -> Sym {
        guard t.elementCount <= 1 << 16 else { return .weight(t) }
        if let ints = t.integers { return .known(Known(dtype: t.dtype, dims: t.dims, elements: ints.map { .int($0) })) }
        if let f = t.floats { return .known(Known(dtype: t.dtype, dims: t.dims, elements: f.map { .float(Double($0)) })) }
        return .weight(t)
    }

    func constantNode() throws -> Sym {
        guard let n = node, let (key, value) = n.attributes.first, n.attributes.count == 1 else {
            throw format("expected exactly one value attribute")
        }
        switch (key, value) {
        case ("value", .tensor(let t)):
            var named = t
            named.name = n.outputs.first ?? n.name
            return knownFromTensor(named)
        case ("value_float", .float(let f)): return .known(.scalar(.float(Double(f)), .f32))
        case ("value_int", .int(let i)): return .known(.scalar(.int(i), .i64))
        case ("value_floats", .floats(let f)): return .known(Known(dtype: .f32, dims: [f.count], elements: f.map { .float(Double($0)) }))
        case ("value_ints", .ints(let i)): return .known(Known(dtype: .i64, dims: [i.count], elements: i.map { .int($0) }))
        default: throw fail("constant attribute \(key) is not imported")
        }
    }

    func shapeOf() throws -> Sym {
        let x = try input(0)
        guard let dims = try typeOf(x) else { throw fail("the shape of a \(x.kind) is not known") }
        let r = Int64(dims.count)
        func clamp(_ v: Int64) -> Int { Int(max(0, min(r, v < 0 ? v + r : v))) }
        let start = clamp(try intAttr("start", 0)), end = clamp(try intAttr("end", r))
        let picked = start < end ? Array(dims[start..<end]) : []
        return .known(Known(dtype: .i64, dims: [picked.count], elements: picked.map { d in
            switch d {
            case .fixed(let v): return .int(Int64(v))
            case .symbol(let s): return .dim(s)
            }
        }))
    }

    func normalizeAxis(_ a: Int64, rank: Int) throws -> Int {
        let v = a < 0 ? a + Int64(rank) : a
        guard v >= 0, v < Int64(rank) else { throw format("axis \(a) is outside rank \(rank)") }
        return Int(v)
    }

    /// Known elements gathered along `axis` (row-major blocks).
    func gatherKnown(_ data: Known, _ idx: Known, axis: Int) throws -> Known {
        let dims = data.dims
        let outer = product(dims[..<axis]), n = dims[axis], inner = product(dims[(axis + 1)...])
        var out: [KnownElement] = []
        for o in 0..<outer {
            for e in idx.elements {
                guard var i = e.int else { throw fail("gather index \(e) is not an integer") }
                if i < 0 { i += Int64(n) }
                guard i >= 0, i < Int64(n) else { throw format("gather index \(e) is outside 0..<\(n)") }
                let base = (o * n + Int(i)) * inner
                out += data.elements[base..<(base + inner)]
            }
        }
        return Known(dtype: data.dtype, dims: Array(dims[..<axis]) + idx.dims + Array(dims[(axis + 1)...]), elements: out)
    }

    mutating func gather() throws -> Sym {
        let data = try input(0), ids = try input(1)
        let axis = try intAttr("axis", 0)
        if let d = known(data), let i = known(ids) {
            guard !d.dims.isEmpty else { throw format("gather from a scalar") }
            return .known(try gatherKnown(d, i, axis: try normalizeAxis(axis, rank: d.dims.count)))
        }
        guard axis == 0 else { throw fail("gather along axis \(axis) of a run-time value; expected a table lookup (axis 0)") }
        let name = node!.name
        // The ids: a run-time value, the position ids, or one repeated id (a token type buffer).
        let idsValue: ValueID
        switch ids {
        case .tensor(let v, 1, false):
            idsValue = v
        case .arange(let d, let axis) where axis == d.count - 1 && d[axis] == graph.type(of: positionsInput).shape[1]:
            idsValue = positionsInput
        case .fill(let e, _, _):
            // Every position reads the same row: that row as a constant [H], broadcast when added.
            guard case .weight(let t) = data, t.dims.count == 2, let row = e.int, row >= 0, row < Int64(t.dims[0]), let f = t.floats else {
                throw fail("a constant-index lookup into a \(data.kind); expected a float [rows, H] initializer")
            }
            let h = t.dims[1]
            let values = Array(f[(Int(row) * h)..<(Int(row) * h + h)])
            return .ir(graph.addConstant(fresh(t.name + ".row\(row)"), TensorType(.f32, Shape(fixed: [h])),
                                         source: ConstantSource(origin: "\(model.path):\(t.name) row \(row)", buffer: TensorBuffer(array: values))))
        case .known(let k):
            // Constant ids (a fixed-shape export's position or token-type buffer): an i32 constant.
            let values = k.elements.compactMap(\.int)
            let rows: Int
            switch data {
            case .weight(let t): rows = t.dims.first ?? 0
            case .dequantized(let q, _): rows = q.dims.first ?? 0
            default: throw fail("lookup table is a \(data.kind); expected an initializer")
            }
            guard values.count == k.elements.count, values.allSatisfy({ $0 >= 0 && $0 < Int64(rows) }) else {
                throw format("constant lookup ids outside 0..<\(rows)")
            }
            idsValue = graph.addConstant(fresh(name + ".ids"), TensorType(.i32, Shape(fixed: k.dims)),
                                         source: ConstantSource(origin: "ONNX import: constant lookup ids", buffer: TensorBuffer(array: values.map { Int32(truncatingIfNeeded: $0) })))
        default:
            throw fail("lookup indices are a \(ids.kind); expected token ids")
        }
        if idsValue == idsInput {
            switch data {
            case .weight(let t): vocabularyRows = t.dims.first
            case .dequantized(let q, _): vocabularyRows = q.dims.first
            default: break
            }
        }
        if idsValue == positionsInput {
            switch data {
            case .weight(let t): maxPositions = t.dims.first
            case .dequantized(let q, _): maxPositions = q.dims.first
            default: break
            }
        }
        switch data {
        case .weight(let t):
            guard t.dims.count == 2, t.dtype.isFloatingPoint else { throw fail("lookup table \"\(t.name)\" is \(t.dtype)\(t.dims); expected a float [rows, H] table") }
            return .ir(try add(.gather, [try constant(t), idsValue], name))
        case .dequantized(let q, let s):
            // Per-row scales [rows, 1]: gather_int8 with one group per row.
            guard q.dims.count == 2, s.elementCount == q.dims[0], s.dims.last == 1 || s.dims.count == 1, s.floats != nil else {
                throw fail("int8 table \"\(q.name)\" \(q.dims) with scales \(s.dims); expected per-row scales [rows, 1]")
            }
            let table = int8Constant(q, transposed: false)
            let scales = scalesConstant(s, rows: q.dims[0], name: q.name)
            return .ir(try add(.gatherInt8(group: q.dims[1]), [table, scales, idsValue], name))
        default:
            throw fail("lookup table is a \(data.kind); expected an initializer")
        }
    }

    // MARK: Int8 weights

    mutating func int8Constant(_ q: ONNXTensor, transposed: Bool) -> ValueID {
        let key = q.name + (transposed ? ".q8ᵀ" : ".q8")
        if let v = materialized[key] { return v }
        int8Weights += 1
        let (k, n) = (q.dims[0], q.dims[1])
        let v: ValueID
        if transposed {
            let data = q.data
            v = graph.addConstant(fresh(q.name + ".q8"), TensorType(.i8, Shape(fixed: [n, k])),
                                  source: ConstantSource(origin: "\(model.path):\(q.name) (i8, transposed)", loader: {
                let src = data.toArray(of: Int8.self)
                var out = [Int8](repeating: 0, count: k * n)
                for i in 0..<k { for j in 0..<n { out[j * k + i] = src[i * n + j] } }
                return TensorBuffer(array: out)
            }))
        } else {
            v = graph.addConstant(fresh(q.name + ".q8"), TensorType(.i8, Shape(fixed: q.dims)),
                                  source: ConstantSource(origin: "\(model.path):\(q.name) (i8)", buffer: q.data))
        }
        materialized[key] = v
        return v
    }

    mutating func scalesConstant(_ s: ONNXTensor, rows: Int, name: String) -> ValueID {
        let key = s.name + ".scales"
        if let v = materialized[key] { return v }
        let v = graph.addConstant(fresh(name + ".q8.scales"), TensorType(.f32, Shape(fixed: [rows, 1])),
                                  source: ConstantSource(origin: "\(model.path):\(s.name) (\(s.dtype))", buffer: TensorBuffer(array: s.floats ?? [])))
        materialized[key] = v
        return v
    }

    /// x[…, K] · dequantized(q[K, N], scale[1, N]) → linear_int8 weight-only with w[N, K] i8, scales[N, 1].
    mutating func int8Linear(_ x: ValueID, _ q: ONNXTensor, _ s: ONNXTensor, transposedWeight: Bool, bias: ValueID? = nil) throws -> ValueID {
        guard q.dims.count == 2 else { throw fail("int8 weight \"\(q.name)\" has dims \(q.dims); expected [in, out]") }
        let n = transposedWeight ? q.dims[0] : q.dims[1], k = transposedWeight ? q.dims[1] : q.dims[0]
        let perColumn = transposedWeight ? (s.dims == [n, 1] || s.dims == [n]) : (s.dims == [1, n] || s.dims == [n])
        guard perColumn, s.floats != nil else {
            throw fail("int8 weight \"\(q.name)\" \(q.dims) has scales \"\(s.name)\" \(s.dtype)\(s.dims); expected one float scale per output column")
        }
        let w = int8Constant(q, transposed: !transposedWeight)
        let scales = scalesConstant(s, rows: n, name: q.name)
        let attrs = Int8LinearAttributes(group: k, activation: .none, mode: .weightOnly)
        return try add(.linearInt8(attrs), [x, w, scales] + (bias.map { [$0] } ?? []), node!.name)
    }

    /// DequantizeLinear(q int8 initializer, scale, zero point 0) → the same int8 weight as Cast · Mul,
    /// with its scale laid out [1, N] (per column, axis 1 or per tensor) or [rows, 1] (per row, axis 0).
    func dequantizeLinear() throws -> Sym {
        guard case .weight(let q) = try input(0), q.dtype == .i8, q.dims.count == 2 else {
            throw fail("DequantizeLinear of a \(try input(0).kind); expected an int8 [rows, columns] initializer (activation quantization is not imported)")
        }
        guard case .weight(var scale) = try input(1), let values = scale.floats else {
            throw fail("DequantizeLinear scale is not a float initializer")
        }
        if hasInput(2) {
            guard let zero = known(try input(2)), zero.elements.allSatisfy({ $0.int == 0 }) else {
                throw fail("DequantizeLinear with a non-zero zero point; expected symmetric int8 weights")
            }
        }
        let axis = try normalizeAxis(try intAttr("axis", 1), rank: 2)
        let (rows, columns) = (q.dims[0], q.dims[1])
        switch values.count {
        case 1:
            scale = ONNXTensor(name: scale.name, dtype: .f32, dims: [1, columns], data: TensorBuffer(array: [Float](repeating: values[0], count: columns)))
        case columns where axis == 1:
            scale.dims = [1, columns]
        case rows where axis == 0:
            scale.dims = [rows, 1]
        default:
            throw fail("DequantizeLinear scale of \(values.count) values for an int8 \(q.dims) weight along axis \(axis)")
        }
        return .dequantized(q: q, scale: scale)
    }

    // MARK: Shape ops

    func axesInput(_ attr: String, inputIndex: Int) throws -> [Int64] {
        if let a = try intsAttr(attr) { return a }
        guard hasInput(inputIndex) else { return [] }
        return try knownInts(inputIndex, "axes")
    }

    mutating func unsqueeze() throws -> Sym {
        let x = try input(0)
        let axes = try axesInput("axes", inputIndex: 1)
        guard let dims = try typeOf(x) else { throw fail("unsqueeze of a \(x.kind)") }
        let r = dims.count + axes.count
        let positions = try axes.map { try normalizeAxis($0, rank: r) }.sorted()
        guard Set(positions).count == positions.count else { throw format("unsqueeze axes \(axes) repeat an axis") }
        var out = dims
        for p in positions { out.insert(.fixed(1), at: p) }
        switch x {
        case .known(let k):
            return .known(try reshaped(k, out.map { $0.fixedValue ?? 1 }))
        case .mask(var m):
            // Map each old axis to its new place.
            let oldToNew = (0..<r).filter { !positions.contains($0) }
            m.dims = out
            m.batchAxis = oldToNew[m.batchAxis]
            m.seqAxis = oldToNew[m.seqAxis]
            return .mask(m)
        case .fill(let e, let t, _): return .fill(e, t, out)
        case .arange(_, let axis): return .arange(out, axis: (0..<r).filter { !positions.contains($0) }[axis])
        default:
            let v = try tensor(x)
            return .ir(try add(.reshape(Shape(out)), [v], node!.name))
        }
    }

    mutating func squeeze() throws -> Sym {
        let x = try input(0)
        guard let dims = try typeOf(x) else { throw fail("squeeze of a \(x.kind)") }
        var axes = try axesInput("axes", inputIndex: 1).map { try normalizeAxis($0, rank: dims.count) }
        if axes.isEmpty { axes = dims.indices.filter { dims[$0] == .fixed(1) } }
        let out = dims.enumerated().filter { !axes.contains($0.offset) }.map(\.element)
        switch x {
        case .known(let k):
            return .known(try reshaped(k, out.map { $0.fixedValue ?? 1 }))
        default:
            let v = try tensor(x)
            return .ir(try add(.reshape(Shape(out)), [v], node!.name))
        }
    }

    mutating func concat() throws -> Sym {
        let n = node!
        let parts = try n.inputs.indices.map { try input($0) }
        let axis = try intAttr("axis")
        if parts.allSatisfy({ known($0) != nil }) {
            let ks = parts.map { known($0)! }
            guard ks.allSatisfy({ $0.dims.count <= 1 }) else {
                // Rare: fold only 1-D pieces (shape vectors).
                throw fail("concatenation of known tensors of rank > 1")
            }
            let elements = ks.flatMap(\.elements)
            return .known(Known(dtype: ks[0].dtype, dims: [elements.count], elements: elements))
        }
        if parts.count == 1 { return parts[0] }
        if let index = try indexConcat(parts, axis: axis) { return index }
        let values = try parts.map { try tensor($0) }
        let r = graph.type(of: values[0]).shape.rank
        return .ir(try add(.concat(axis: try normalizeAxis(axis, rank: r)), values, n.name))
    }

    mutating func slice() throws -> Sym {
        let x = try input(0)
        let startsK = try knownInput(1, "starts"), endsK = try knownInput(2, "ends")
        guard let dims = try typeOf(x) else { throw fail("slice of a \(x.kind)") }
        let axes = hasInput(3) ? try knownInts(3, "axes") : (0..<Int64(startsK.elements.count)).map { $0 }
        let steps = hasInput(4) ? try knownInts(4, "steps") : axes.map { _ in 1 }
        guard axes.count == startsK.elements.count, axes.count == endsK.elements.count, steps.allSatisfy({ $0 == 1 }) else {
            throw fail("slice with steps \(steps) or mismatched starts/ends/axes; expected unit steps")
        }
        var out = dims
        var ranges: [(axis: Int, start: Int, end: Int)] = []
        for (i, a) in axes.enumerated() {
            let axis = try normalizeAxis(a, rank: dims.count)
            guard let start = startsK.elements[i].int else { throw fail("slice start \(startsK.elements[i]) is not a known integer") }
            switch (dims[axis], endsK.elements[i]) {
            case (.symbol(let s), .dim(let e)) where s == e && start == 0:
                continue // the whole axis
            case (.fixed(let size), .dim(let e)) where start == 0:
                // A buffer sliced to the run-time length: the axis becomes that length.
                out[axis] = .symbol(e)
                ranges.append((axis, 0, size))
            case (.fixed(let size), let endElement):
                guard var end = endElement.int else { throw fail("slice end \(endElement) is not known") }
                var st = start
                if st < 0 { st += Int64(size) }
                if end < 0 { end += Int64(size) }
                st = max(0, min(Int64(size), st)); end = max(st, min(Int64(size), end))
                out[axis] = .fixed(Int(end - st))
                ranges.append((axis, Int(st), Int(end)))
            case (.symbol(let s), let endElement):
                guard start == 0, let end = endElement.int, end >= Int64(Int32.max) else {
                    throw fail("slice \(start)..<\(endElement) of run-time axis \(s); expected the whole axis")
                }
            }
        }
        let symbolicEnd = zip(out, dims).contains { $0.0 != $0.1 && $0.0.fixedValue == nil }
        switch x {
        case .known(let k) where !symbolicEnd:
            var data = k
            for r in ranges {
                let outer = product(data.dims[..<r.axis]), n = data.dims[r.axis], inner = product(data.dims[(r.axis + 1)...])
                var e: [KnownElement] = []
                for o in 0..<outer { e += data.elements[((o * n + r.start) * inner)..<((o * n + r.end) * inner)] }
                data.elements = e
                data.dims[r.axis] = r.end - r.start
            }
            return .known(data)
        case .known, .weight:
            // A buffer cut to the run-time length: all one value (token types), or 0, 1, 2, … (positions).
            guard let k = known(x), ranges.count == 1, let values = Optional(k.elements.compactMap(\.int)), values.count == k.elements.count else {
                throw fail("a slice of \(x.kind) to a run-time length; expected a constant or arange buffer")
            }
            if Set(values).count == 1 { return .fill(.int(values[0]), k.dtype, out) }
            if k.dims.filter({ $0 != 1 }).count <= 1, values == (0..<Int64(values.count)).map({ $0 }), ranges[0].start == 0,
               ranges[0].axis == dims.count - 1 {
                return .arange(out, axis: dims.count - 1)
            }
            throw fail("a slice of a buffer that is neither constant nor 0, 1, 2, …")
        case .arange(_, let axis):
            guard ranges.allSatisfy({ $0.start == 0 }) else { throw fail("index arithmetic sliced from a non-zero start") }
            return .arange(out, axis: axis)
        case .fill(let e, let t, _): return .fill(e, t, out)
        default:
            guard !symbolicEnd else { throw fail("a run-time value cut to a run-time length") }
            var v = try tensor(x)
            for r in ranges where !(r.start == 0 && dims[r.axis] == .fixed(r.end)) {
                v = try add(.slice(axis: r.axis, start: r.start, end: r.end), [v], node!.name)
            }
            return .ir(v)
        }
    }

    func castElement(_ e: KnownElement, to t: DType) -> KnownElement {
        switch (e, t.isFloatingPoint) {
        case (.dim, _): return e
        case (.int(let i), true): return .float(Double(i))
        case (.float(let f), false): return t == .bool ? .int(f != 0 ? 1 : 0) : .int(exactInteger(f.rounded(.towardZero)) ?? 0)
        case (.int(let i), false): return t == .bool ? .int(i != 0 ? 1 : 0) : .int(i)
        case (.float, true): return e
        }
    }

    func castValue(_ d: Double, to t: DType) -> Double {
        if t == .bool { return d != 0 ? 1 : 0 }
        return t.isFloatingPoint ? d : d.rounded(.towardZero)
    }

    mutating func cast() throws -> Sym {
        let code = try intAttr("to")
        guard let to = ONNXModel.dtype(code: Int32(truncatingIfNeeded: code)) else { throw fail("cast to ONNX type \(code)") }
        let x = try input(0)
        switch x {
        case .weight(let t) where t.dtype == .i8 && to.isFloatingPoint:
            return .int8Cast(t)
        case .known(var k):
            k.elements = k.elements.map { castElement($0, to: to) }
            k.dtype = to
            return .known(k)
        case .weight(let t):
            if case .known(var k) = knownFromTensor(t) {
                k.elements = k.elements.map { castElement($0, to: to) }
                k.dtype = to
                return .known(k)
            }
            guard to.isFloatingPoint else { throw fail("cast of a large initializer to \(to)") }
            return x
        case .mask(let m): return .mask(m.map(to) { castValue($0, to: to) })
        case .fill(let e, _, let d): return .fill(castElement(e, to: to), to, d)
        case .arange: return x
        case .tensor(let v, _, _):
            let from = graph.type(of: v).dtype
            if from.isFloatingPoint == to.isFloatingPoint, to != .bool { return x }
            guard to == .f32 else { throw fail("cast of a run-time \(from) value to \(to)") }
            return .ir(try add(.cast(.f32), [try tensor(x)], node!.name))
        default:
            throw fail("cast of a \(x.kind)")
        }
    }

    // MARK: Elementwise

    /// Elementwise `f` over two known tensors with numpy broadcasting.
    func foldKnown(_ a: Known, _ b: Known, _ op: String, _ f: (KnownElement, KnownElement) throws -> KnownElement) throws -> Known {
        var out = try foldKnown([a, b], op) { try f($0[0], $0[1]) }
        out.dtype = op == "Equal" ? .bool : (a.dtype.isFloatingPoint ? a.dtype : b.dtype)
        return out
    }

    /// Elementwise `f` over known tensors with numpy broadcasting; the result has the first input's dtype.
    func foldKnown(_ inputs: [Known], _ op: String, _ f: ([KnownElement]) throws -> KnownElement) throws -> Known {
        var dims: [Int] = []
        for k in inputs { dims = try Shape.broadcast(dims, k.dims) }
        guard let count = Shape.checkedProduct(dims), count <= 1 << 16 else { throw fail("folding \(op) over dims \(dims)") }
        let strides = inputs.map { broadcastStrides($0.dims, rank: dims.count) }
        var out: [KnownElement] = []
        out.reserveCapacity(count)
        var index = [Int](repeating: 0, count: dims.count)
        for _ in 0..<count {
            let args = inputs.indices.map { i in
                inputs[i].elements[(0..<dims.count).reduce(0) { $0 + index[$1] * strides[i][$1] }]
            }
            out.append(try f(args))
            var d = dims.count - 1
            while d >= 0 { index[d] += 1; if index[d] < dims[d] { break }; index[d] = 0; d -= 1 }
        }
        return Known(dtype: inputs[0].dtype, dims: dims, elements: out)
    }

    func apply(_ op: String, _ x: Double, _ y: Double) -> Double {
        switch op {
        case "Add": return x + y
        case "Sub": return x - y
        case "Mul": return x * y
        case "Div": return x / y
        case "Pow": return knownPower(x, y)
        case "Equal": return x == y ? 1 : 0
        case "GreaterOrEqual": return x >= y ? 1 : 0
        case "And": return x != 0 && y != 0 ? 1 : 0
        case "Max": return Swift.max(x, y)
        default: return .nan
        }
    }

    func foldElement(_ op: String, _ a: KnownElement, _ b: KnownElement, integer: Bool) throws -> KnownElement {
        switch (a, b) {
        case (.dim(let s), .dim(let t)) where op == "Equal": return .int(s == t ? 1 : 0)
        // A size is never negative: −1 (the "keep this size" of expand) never equals one.
        case (.dim, .int(let v)) where op == "Equal" && v < 0, (.int(let v), .dim) where op == "Equal" && v < 0: return .int(0)
        case (.dim, .int(1)) where op == "Mul" || op == "Div", (.dim, .int(0)) where op == "Add" || op == "Sub": return a
        case (.int(1), .dim) where op == "Mul", (.int(0), .dim) where op == "Add": return b
        case (.dim, _), (_, .dim): throw fail("\(op) of symbolic size \(a) and \(b)")
        default:
            if integer, let x = a.int, let y = b.int {
                switch op {
                case "Add": return .int(x &+ y)
                case "Sub": return .int(x &- y)
                case "Mul": return .int(x &* y)
                case "Div":
                    let (q, overflow) = x.dividedReportingOverflow(by: y)
                    guard y != 0, !overflow else { throw format("integer division \(x) / \(y)") }
                    return .int(q)
                case "Equal": return .int(x == y ? 1 : 0)
                default: break
                }
            }
            return .float(apply(op, a.double!, b.double!))
        }
    }

    mutating func binary(_ op: String) throws -> Sym {
        let a = try input(0), b = try input(1)
        // Constant folding.
        if let ka = known(a), let kb = known(b) {
            let integer = !ka.dtype.isFloatingPoint && !kb.dtype.isFloatingPoint
            return .known(try foldKnown(ka, kb, op) { try foldElement(op, $0, $1, integer: integer) })
        }
        let sa = scalar(a), sb = scalar(b)
        switch (op, a, b) {
        // Mask expressions with scalars.
        case (_, .mask(let m), _) where sb != nil:
            return .mask(m.map(op == "Equal" ? .bool : m.dtype) { apply(op, $0, sb!) })
        case (_, _, .mask(let m)) where sa != nil:
            return .mask(m.map(op == "Equal" ? .bool : m.dtype) { apply(op, sa!, $0) })
        // Int8 dequantisation: Cast(q) · scale.
        case ("Mul", .int8Cast(let q), .weight(let s)), ("Mul", .weight(let s), .int8Cast(let q)):
            return .dequantized(q: q, scale: s)
        // Pending scales.
        case ("Mul", .tensor(let v, let c, let t), _) where sb != nil: return .tensor(v, scale: c * Float(sb!), transposedLast: t)
        case ("Mul", _, .tensor(let v, let c, let t)) where sa != nil: return .tensor(v, scale: c * Float(sa!), transposedLast: t)
        case ("Div", .tensor(let v, let c, let t), _) where sb != nil: return .tensor(v, scale: c / Float(sb!), transposedLast: t)
        // Layer normalisation.
        case ("Sub", .tensor(let v, 1, false), .mean(let w)) where v == w: return .centered(v, mean: true)
        case ("Pow", .centered(let v, _), _) where sb == 2: return .squaredCentered(v)
        case ("Mul", .centered(let v, _), .centered(let w, _)) where v == w: return .squaredCentered(v)
        case ("Add", .variance(let v, 0), _) where sb != nil: return .variance(v, epsilon: Float(sb!))
        case ("Add", _, .variance(let v, 0)) where sa != nil: return .variance(v, epsilon: Float(sa!))
        case ("Div", .centered(let v, _), .standardDeviation(let w, let eps)) where v == w: return .normalized(v, epsilon: eps)
        case ("Mul", .normalized(let v, let eps), .weight(let g)), ("Mul", .weight(let g), .normalized(let v, let eps)):
            return .normScaled(v, epsilon: eps, gamma: try constant(g))
        case ("Add", .normScaled(let v, let eps, let g), .weight(let bt)), ("Add", .weight(let bt), .normScaled(let v, let eps, let g)):
            return .ir(try add(.layerNorm(epsilon: eps), [v, g, try constant(bt)], node!.name))
        // GELU: x·½·(1 + erf(x/√2)) in either order.
        case ("Add", .erf(let v), _) where sb == 1: return .onePlusErf(v, coefficient: 1)
        case ("Add", _, .erf(let v)) where sa == 1: return .onePlusErf(v, coefficient: 1)
        case ("Mul", .onePlusErf(let v, let c), _) where sb != nil: return .onePlusErf(v, coefficient: c * Float(sb!))
        case ("Mul", _, .onePlusErf(let v, let c)) where sa != nil: return .onePlusErf(v, coefficient: c * Float(sa!))
        case ("Mul", .tensor(let x, let c, false), .onePlusErf(let v, let k)) where x == v,
             ("Mul", .onePlusErf(let v, let k), .tensor(let x, let c, false)) where x == v:
            let g = try add(.gelu(.erf), [v], node!.name)
            return .tensor(g, scale: 2 * c * k, transposedLast: false)
        // Mean pooling: Σ(x·m) / clip(Σ m).
        case ("Mul", .tensor, .mask(let m)) where m.at0 == 0 && m.at1 == 1,
             ("Mul", .mask(let m), .tensor) where m.at0 == 0 && m.at1 == 1:
            let x: Sym
            if case .mask = a { x = b } else { x = a }
            return .maskedTokens(try tensor(x))
        case ("Div", .maskedSum(let v), .maskCount): return .ir(try add(.meanPool, [v, maskInput], node!.name))
        case ("Equal", _, _), ("Pow", _, _):
            throw fail("\(op) of a \(a.kind) and a \(b.kind)")
        default:
            break
        }
        let kind: BinaryKind
        switch op {
        case "Add": kind = .add
        case "Sub": kind = .sub
        case "Mul": kind = .mul
        case "Div": kind = .div
        default: throw fail("\(op) of a \(a.kind) and a \(b.kind)")
        }
        // Bias first (bias + x·W) is written x·W + bias, as the safetensors importer has it.
        if kind == .add, case .weight = a, case .tensor = b {
            return .ir(try add(.binary(kind), [try tensor(b), try tensor(a)], node!.name))
        }
        let x = try tensor(a), y = try tensor(b)
        return .ir(try add(.binary(kind), [x, y], node!.name))
    }

    mutating func unary(_ op: String) throws -> Sym {
        let x = try input(0)
        if var k = known(x) {
            k.elements = try k.elements.map { e in
                guard let d = e.double else { throw fail("\(op) of symbolic size \(e)") }
                switch op {
                case "Sqrt": return .float(d.squareRoot())
                case "Neg": return k.dtype.isFloatingPoint ? .float(-d) : .int(-(e.int ?? 0))
                case "Not": return .int(d == 0 ? 1 : 0)
                default: throw fail("\(op) of a constant")
                }
            }
            return .known(k)
        }
        switch (op, x) {
        case ("Sqrt", .variance(let v, let eps)): return .standardDeviation(v, epsilon: eps)
        case ("Erf", .tensor(let v, let c, false)) where abs(Double(c) - 0.5.squareRoot()) < 1e-6: return .erf(v)
        case ("Not", .mask(let m)): return .mask(m.map(.bool) { $0 == 0 ? 1 : 0 })
        case ("Neg", .mask(let m)): return .mask(m.map(m.dtype) { -$0 })
        case ("Neg", .tensor(let v, let c, let t)): return .tensor(v, scale: -c, transposedLast: t)
        case ("Tanh", _): return .ir(try add(.tanh, [try tensor(x)], node!.name))
        case ("IsNaN", .tensor(let v, 1, false)): return .isNaN(v)
        default: throw fail("\(op) of a \(x.kind); expected it inside a recognised pattern (layer norm, GELU, mask)")
        }
    }

    mutating func reduce(_ op: String) throws -> Sym {
        let x = try input(0)
        let axes = opset >= 18 || op == "ReduceSum" && opset >= 13 ? try axesInput("axes", inputIndex: 1) : (try intsAttr("axes") ?? [])
        let keep = try intAttr("keepdims", 1) != 0
        guard let dims = try typeOf(x) ?? typeOfPending(x) else { throw fail("\(op) of a \(x.kind)") }
        let normalized = try axes.map { try normalizeAxis($0, rank: dims.count) }
        switch (op, x) {
        case ("ReduceMean", .tensor(let v, 1, false)) where normalized == [dims.count - 1] && keep: return .mean(v)
        case ("ReduceMean", .squaredCentered(let v)) where normalized == [dims.count - 1] && keep: return .variance(v, epsilon: 0)
        case ("ReduceSum", .maskedTokens(let v)) where normalized == [1] && !keep && dims.count == 3: return .maskedSum(v)
        case ("ReduceSum", .mask(let m)) where normalized == [m.seqAxis] && !keep && m.at0 == 0 && m.at1 == 1: return .maskCount
        default:
            throw fail("\(op) over axes \(axes) (keepdims \(keep)) of a \(x.kind); expected layer-norm statistics or mean pooling")
        }
    }

    func typeOfPending(_ s: Sym) -> [Dim]? {
        switch s {
        case .squaredCentered(let v), .maskedTokens(let v): return graph.type(of: v).shape.dims
        default: return nil
        }
    }

    func clip() throws -> Sym {
        let x = try input(0)
        let low: Double? = hasInput(1) ? scalar(try input(1)) : Double(try floatAttr("min", -.infinity))
        guard case .maskCount = x, let low, low > 0, low <= 1 else {
            throw fail("Clip of a \(x.kind); expected the clamped token count of mean pooling")
        }
        return .maskCount
    }

    // MARK: Products

    mutating func matmul() throws -> Sym {
        let a = try input(0), b = try input(1)
        let name = node!.name
        switch b {
        case .weight(let w):
            guard w.dims.count == 2, w.dtype.isFloatingPoint else { throw fail("weight \"\(w.name)\" is \(w.dtype)\(w.dims); expected float [in, out]") }
            return .ir(try add(.matmul(transposeB: true), [try tensor(a), try transposedConstant(w)], name))
        case .dequantized(let q, let s):
            return .ir(try int8Linear(try tensor(a), q, s, transposedWeight: false))
        case .tensor(let vb, let cb, let tb):
            guard case .tensor(let va, let ca, let ta) = a else { throw fail("MatMul of a \(a.kind)") }
            let x = try tensor(.tensor(va, scale: 1, transposedLast: ta))
            let out = try add(.matmul(transposeB: tb), [x, vb], name)
            return .tensor(out, scale: ca * cb, transposedLast: false)
        default:
            throw fail("MatMul with a \(b.kind) as its second operand")
        }
    }

    mutating func gemm() throws -> Sym {
        let a = try input(0), b = try input(1)
        guard try intAttr("transA", 0) == 0 else { throw fail("Gemm with transA = 1") }
        let transB = try intAttr("transB", 0) != 0
        let alpha = try floatAttr("alpha", 1), beta = try floatAttr("beta", 1)
        let x = try tensor(a)
        var y: ValueID
        switch b {
        case .weight(let w):
            guard w.dims.count == 2 else { throw fail("Gemm weight \"\(w.name)\" \(w.dims); expected rank 2") }
            y = try add(.matmul(transposeB: true), [x, transB ? try constant(w) : try transposedConstant(w)], node!.name + ".matmul")
        case .dequantized(let q, let s):
            y = try int8Linear(x, q, s, transposedWeight: transB)
        default:
            throw fail("Gemm with a \(b.kind) as B; expected an initializer")
        }
        if alpha != 1 { y = try add(.binary(.mul), [y, scalarConstant(alpha, node!.name + ".alpha")], node!.name + ".alpha_scaled") }
        if hasInput(2) {
            var c = try tensor(try input(2))
            if beta != 1 { c = try add(.binary(.mul), [c, scalarConstant(beta, node!.name + ".beta")], node!.name + ".beta_scaled") }
            y = try add(.binary(.add), [y, c], node!.name)
        }
        return .ir(y)
    }

    // MARK: Layout

    /// Target dims of a Reshape: 0 copies the input's size (unless allowzero), −1 is inferred,
    /// also over symbolic sizes ([batch, seq, 384] → [0, 0, 12, −1] gives [batch, seq, 12, 32]).
    func reshapeDims(_ input: [Dim], _ target: Known) throws -> [Dim] {
        let allowZero = try intAttr("allowzero", 0) != 0
        var out: [Dim?] = []
        for (i, e) in target.elements.enumerated() {
            switch e {
            case .dim(let s): out.append(.symbol(s))
            case .float: throw fail("reshape target \(e) is not an integer")
            case .int(let v):
                if v == 0 && !allowZero {
                    guard i < input.count else { throw format("reshape copies dimension \(i) of a rank-\(input.count) value") }
                    out.append(input[i])
                } else if v == -1 { out.append(nil) }
                else if v >= 0 && v <= Int64(Int32.max) { out.append(.fixed(Int(v))) }
                else { throw format("reshape target \(v)") }
            }
        }
        let unknown = out.indices.filter { out[$0] == nil }
        guard unknown.count <= 1 else { throw format("reshape has \(unknown.count) dimensions of −1") }
        if let u = unknown.first {
            func split(_ ds: [Dim]) -> (Int, [String]) {
                var p = 1
                var s: [String] = []
                for d in ds {
                    switch d {
                    case .fixed(let n): p = p.multipliedReportingOverflow(by: n).overflow ? 0 : p * n
                    case .symbol(let x): s.append(x)
                    }
                }
                return (p, s.sorted())
            }
            let (pi, si) = split(input)
            let (po, so) = split(out.compactMap { $0 })
            var left = si
            for s in so {
                guard let k = left.firstIndex(of: s) else { throw fail("cannot infer −1 in reshape \(input) → \(target.elements)") }
                left.remove(at: k)
            }
            guard po > 0, pi % po == 0 else { throw fail("cannot infer −1 in reshape \(input) → \(target.elements)") }
            let q = pi / po
            if left.isEmpty { out[u] = .fixed(q) }
            else if left.count == 1 && q == 1 { out[u] = .symbol(left[0]) }
            else { throw fail("cannot infer −1 in reshape \(input) → \(target.elements)") }
        }
        return out.map { $0! }
    }

    mutating func reshape() throws -> Sym {
        let x = try input(0)
        let target = try knownInput(1, "shape")
        guard let dims = try typeOf(x) else { throw fail("reshape of a \(x.kind)") }
        // [B, H, S, D] → [−1, S, D] and back: a view that only the head-merging kᵀ trick uses.
        if case .tensor(let v, let c, let t) = x, dims.count == 4, target.elements.count == 3, target.elements[0] == .int(-1),
           target.elements[1].asDim == dims[2], target.elements[2].asDim == dims[3] {
            return .mergedHeads(v, scale: c, transposedLast: t)
        }
        if case .mergedHeads(let v, let c, let t) = x {
            var d = graph.type(of: v).shape.dims
            if t { d.swapAt(2, 3) }
            guard target.elements.map(\.asDim) == d.map(Optional.some) else {
                throw fail("a merged-heads view reshaped to \(target.elements); expected \(d)")
            }
            return .tensor(v, scale: c, transposedLast: t)
        }
        let out = try reshapeDims(dims, target)
        switch x {
        case .known(let k):
            return .known(try reshaped(k, try out.map { d in
                guard let v = d.fixedValue else { throw fail("reshape of known data to a run-time size") }
                return v
            }))
        case .tensor(let v, let c, let t):
            // A pending scale commutes with the reshape.
            let base = try tensor(.tensor(v, scale: 1, transposedLast: t))
            if graph.type(of: base).shape.dims == out { return .tensor(base, scale: c, transposedLast: false) }
            return .tensor(try add(.reshape(Shape(out)), [base], node!.name), scale: c, transposedLast: false)
        case .fill(let e, let d, _): return .fill(e, d, out)
        default:
            return .ir(try add(.reshape(Shape(out)), [try tensor(x)], node!.name))
        }
    }

    mutating func transpose() throws -> Sym {
        let x = try input(0)
        guard let dims = try typeOf(x) else { throw fail("transpose of a \(x.kind)") }
        let r = dims.count
        let perm = try intsAttr("perm")?.map { try normalizeAxis($0, rank: r) } ?? Array((0..<r).reversed())
        guard perm.sorted() == Array(0..<r) else { throw format("perm \(perm) is not a permutation of 0..<\(r)") }
        if perm == Array(0..<r) { return x }
        if case .mergedHeads(let v, let c, let t) = x, perm == [0, 2, 1] { return .mergedHeads(v, scale: c, transposedLast: !t) }
        if case .tensor(let v, let c, let t) = x {
            if r >= 2, perm == Array(0..<(r - 2)) + [r - 1, r - 2] { return .tensor(v, scale: c, transposedLast: !t) }
            let base = try tensor(.tensor(v, scale: 1, transposedLast: t))
            // (0, 2, 3, 1) = the head transpose (0, 2, 1, 3), then the last two axes swapped (kᵀ for q·kᵀ).
            if perm == [0, 2, 3, 1] {
                let heads = try add(.transpose(permutation: [0, 2, 1, 3]), [base], node!.name)
                return .tensor(heads, scale: c, transposedLast: true)
            }
            return .tensor(try add(.transpose(permutation: perm), [base], node!.name), scale: c, transposedLast: false)
        }
        return .ir(try add(.transpose(permutation: perm), [try tensor(x)], node!.name))
    }

    mutating func softmax() throws -> Sym {
        let x = try tensor(try input(0))
        let r = graph.type(of: x).shape.rank
        let axis = try normalizeAxis(try intAttr("axis", opset >= 13 ? -1 : 1), rank: r)
        guard axis == r - 1 else { throw fail("softmax over axis \(axis) of rank \(r); expected the last axis") }
        return .ir(try add(.softmax(axis: -1), [x], node!.name))
    }

    mutating func layerNormalization() throws -> Sym {
        let x = try tensor(try input(0))
        let r = graph.type(of: x).shape.rank
        guard try normalizeAxis(try intAttr("axis", -1), rank: r) == r - 1 else { throw fail("layer normalisation over more than the last axis") }
        guard node!.outputs.count == 1 || node!.outputs.dropFirst().allSatisfy(\.isEmpty) else {
            throw fail("layer normalisation with mean / inverse-deviation outputs")
        }
        let eps = try floatAttr("epsilon", 1e-5)
        let gamma = try tensor(try input(1))
        let beta: ValueID
        if hasInput(2) { beta = try tensor(try input(2)) }
        else {
            let h = graph.type(of: gamma).shape
            beta = graph.addConstant(fresh(node!.name + ".zero_bias"), TensorType(.f32, h),
                                     source: ConstantSource(origin: "ONNX import: zero bias", buffer: TensorBuffer(zeroedByteCount: (h.elementCount ?? 0) * 4)))
        }
        return .ir(try add(.layerNorm(epsilon: eps), [x, gamma, beta], node!.name))
    }

    // MARK: Index arithmetic (masks built from aranges, as the PyTorch 2 exporter writes them)

    /// GreaterOrEqual, And and Max over aranges, fills and mask expressions.
    func indexLogic(_ op: String) throws -> Sym {
        let a = try input(0), b = try input(1)
        if let ka = known(a), let kb = known(b) {
            return .known(try foldKnown(ka, kb, op) { x, y in
                guard let u = x.double, let v = y.double else { throw fail("\(op) of symbolic sizes") }
                guard let r = exactInteger(apply(op, u, v)) else { throw format("\(op) of \(u) and \(v) is not an integer") }
                return .int(r)
            })
        }
        func dims(_ s: Sym) throws -> [Dim] {
            guard let d = try typeOf(s) else { throw fail("\(op) of a \(s.kind)") }
            return d
        }
        func broadcastDims(_ x: [Dim], _ y: [Dim]) throws -> [Dim] {
            do { return try Shape.broadcast(Shape(x), Shape(y)).dims } catch { throw fail("\(op) of \(x) and \(y): \(error)") }
        }
        /// The constant value of a fill or a known scalar.
        func constantValue(_ s: Sym) -> Double? {
            if case .fill(let e, _, _) = s { return e.double }
            return scalar(s)
        }
        switch op {
        case "GreaterOrEqual":
            // An index is never negative: arange ≥ c for c ≤ 0 is all true.
            if case .arange(let d, _) = a, let c = scalar(b), c <= 0 { return .fill(.int(1), .bool, d) }
        case "And":
            for (x, y) in [(a, b), (b, a)] {
                guard let c = constantValue(x) else { continue }
                let out = try broadcastDims(try dims(x), try dims(y))
                if c == 0 { return .fill(.int(0), .bool, out) }
                switch y {
                case .mask(var m):
                    let shift = out.count - m.dims.count
                    m.dims = out
                    m.batchAxis += shift
                    m.seqAxis += shift
                    return .mask(m)
                case .fill(let e, let t, _): return .fill(e, t, out)
                case .known(let k) where k.isScalarLike: return .fill(k.elements[0], .bool, out)
                default: break
                }
            }
        case "Max":
            // Only its shape is read (Shape → Expand).
            return .shapeOnly(try broadcastDims(try dims(a), try dims(b)))
        default: break
        }
        throw fail("\(op) of a \(a.kind) and a \(b.kind); expected index arithmetic that builds an attention mask")
    }

    /// Concat of aranges with a trailing 1 along the last axis: the index tuples GatherND reads.
    func indexConcat(_ parts: [Sym], axis: Int64) throws -> Sym? {
        var components: [Int] = []
        var symbols: [Dim] = []
        var shared: [Dim]? = nil
        for p in parts {
            guard case .arange(let d, let a) = p, d.last == .fixed(1), a < d.count - 1 else { return nil }
            guard try normalizeAxis(axis, rank: d.count) == d.count - 1 else { return nil }
            let lead = Array(d.dropLast())
            if let s = shared, s != lead { throw fail("index tuples of different shapes \(s) and \(lead)") }
            shared = lead
            components.append(a)
            symbols.append(d[a])
        }
        guard let shared else { return nil }
        return .ndIndex(shared, components: components, symbols: symbols)
    }

    /// GatherND(mask[B, S], (b, s) index tuples) → the mask expression laid out as the tuples are.
    func gatherND() throws -> Sym {
        let data = try input(0), indices = try input(1)
        guard try intAttr("batch_dims", 0) == 0 else { throw fail("GatherND with batch_dims ≠ 0") }
        guard case .mask(let m) = data, m.dims.count == 2, case .ndIndex(let d, let comps, let syms) = indices,
              comps.count == 2, syms[0] == m.dims[0], syms[1] == m.dims[1], comps[0] < comps[1] else {
            throw fail("GatherND of a \(data.kind) at a \(indices.kind); expected the attention mask read at (batch, key) indices")
        }
        return .mask(MaskFunction(at0: m.at0, at1: m.at1, dtype: m.dtype, dims: d, batchAxis: comps[0], seqAxis: comps[1]))
    }

    // MARK: Masks and fills

    func whereOp() throws -> Sym {
        let c = try input(0), x = try input(1), y = try input(2)
        // where(isnan(p), 0, p): softmax rows with every key masked; the fused attention gives those zeros.
        if case .isNaN(let v) = c, scalar(x) == 0, case .tensor(let w, 1, false) = y, v == w { return y }
        if let kc = known(c), let kx = known(x), let ky = known(y) {
            var out = try foldKnown([kc, kx, ky], "Where") { e in (e[0].double ?? 0) != 0 ? e[1] : e[2] }
            out.dtype = kx.dtype
            return .known(out)
        }
        guard case .mask(let m) = c else { throw fail("Where with a \(c.kind) as condition; expected an attention-mask expression") }
        func at(_ s: Sym, _ mValue: Int) -> Double? {
            if let v = scalar(s) { return v }
            if case .mask(let n) = s { return mValue == 0 ? n.at0 : n.at1 }
            return nil
        }
        guard let x0 = at(x, 0), let x1 = at(x, 1), let y0 = at(y, 0), let y1 = at(y, 1) else {
            throw fail("Where over a \(x.kind) and a \(y.kind); expected constants or mask expressions")
        }
        var out = m
        if case .mask(let n) = x, n.dims.count > out.dims.count { out = MaskFunction(at0: 0, at1: 0, dtype: n.dtype, dims: n.dims, batchAxis: n.batchAxis, seqAxis: n.seqAxis) }
        if case .mask(let n) = y, n.dims.count > out.dims.count { out = MaskFunction(at0: 0, at1: 0, dtype: n.dtype, dims: n.dims, batchAxis: n.batchAxis, seqAxis: n.seqAxis) }
        out.at0 = m.at0 != 0 ? x0 : y0
        out.at1 = m.at1 != 0 ? x1 : y1
        out.dtype = known(x)?.dtype ?? known(y)?.dtype ?? .f32
        if case .mask(let n) = x { out.dtype = n.dtype }
        if case .mask(let n) = y { out.dtype = n.dtype }
        return .mask(out)
    }

    func constantOfShape() throws -> Sym {
        let shape = try knownInput(0, "shape")
        var value: KnownElement = .float(0)
        var dtype: DType = .f32
        if case .tensor(let t)? = node!.attributes["value"], t.elementCount == 1 {
            dtype = t.dtype
            value = t.integers.map { .int($0[0]) } ?? .float(Double(t.floats?.first ?? 0))
        }
        let dims = try shape.elements.map { e -> Dim in
            guard let d = e.asDim else { throw fail("ConstantOfShape size \(e)") }
            return d
        }
        if let fixed = Shape(dims).fixedSizes, let count = Shape.checkedProduct(fixed), count <= 1 << 16 {
            return .known(Known(dtype: dtype, dims: fixed, elements: Array(repeating: value, count: count)))
        }
        return .fill(value, dtype, dims)
    }

    mutating func expand() throws -> Sym {
        let x = try input(0)
        let shape = try knownInput(1, "shape")
        let target = try shape.elements.map { e -> Dim in
            guard let d = e.asDim else { throw fail("Expand size \(e)") }
            return d
        }
        guard let dims = try typeOf(x) else { throw fail("Expand of a \(x.kind)") }
        let out: [Dim]
        do { out = try Shape.broadcast(Shape(dims), Shape(target)).dims } catch {
            throw fail("Expand of \(dims) to \(target): \(error)")
        }
        if out == dims { return x }
        let shift = out.count - dims.count
        switch x {
        case .mask(var m):
            m.dims = out
            m.batchAxis += shift
            m.seqAxis += shift
            return .mask(m)
        case .fill(let e, let t, _): return .fill(e, t, out)
        case .arange(_, let axis): return .arange(out, axis: axis + shift)
        case .known(let k) where k.isScalarLike: return .fill(k.elements[0], k.dtype, out)
        default:
            // Run-time values broadcast where they are used; an expand that changes nothing is dropped.
            let v = try tensor(x)
            guard graph.type(of: v).shape.dims == out else { throw fail("Expand of a run-time value from \(dims) to \(out)") }
            return .ir(v)
        }
    }

    func range() throws -> Sym {
        let start = try knownInput(0, "start"), limit = try knownInput(1, "limit"), delta = try knownInput(2, "delta")
        guard start.isScalarLike, limit.isScalarLike, delta.isScalarLike else { throw format("Range bounds must be scalars") }
        switch (start.elements[0], limit.elements[0], delta.elements[0]) {
        case (.int(0), .dim(let s), .int(1)): return .arange([.symbol(s)], axis: 0)
        case (.int(let a), .int(let b), .int(let d)) where d != 0:
            let (span, overflow) = b.subtractingReportingOverflow(a)
            guard !overflow, span / d <= 1 << 16 else { throw fail("Range(\(a), \(b), \(d)) is too long to fold") }
            let values = stride(from: a, to: b, by: Int(d)).map { KnownElement.int($0) }
            return .known(Known(dtype: start.dtype, dims: [values.count], elements: values))
        default:
            throw fail("Range(\(start.elements[0]), \(limit.elements[0]), \(delta.elements[0])); expected 0..<seq or constants")
        }
    }
}

func knownPower(_ x: Double, _ y: Double) -> Double {
    if y == 2 { return x * x }
    if y == 0.5 { return x.squareRoot() }
    if y == 1 { return x }
    if abs(y) < 64, y == y.rounded() {
        var r = 1.0
        for _ in 0..<Int(abs(y)) { r *= x }
        return y < 0 ? 1 / r : r
    }
    return .nan
}

/// An integer element from a float, or nil when it is not finite or outside Int64.
func exactInteger(_ d: Double) -> Int64? {
    d.isFinite && abs(d) < 9.2e18 ? Int64(d) : nil
}

extension ONNXTranslator {
    /// `k` with `dims`, refused unless they hold exactly its elements.
    func reshaped(_ k: Known, _ dims: [Int]) throws -> Known {
        guard let n = Shape.checkedProduct(dims), n == k.elements.count else {
            throw format("\(k.elements.count) known elements cannot take the shape \(dims)")
        }
        var out = k
        out.dims = dims
        return out
    }
}

/// The product of sizes of a known tensor's dims (whose whole product was checked), 0 when one is 0.
func product(_ dims: ArraySlice<Int>) -> Int { dims.contains(0) ? 0 : dims.reduce(1, *) }
