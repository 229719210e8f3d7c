// ONNXTranslator: the node-by-node translation behind ONNXImporter. Each ONNX value becomes a
// `Sym`: an IR value, data known at import time (shape arithmetic: Shape, Gather, Concat, Slice,
// Unsqueeze, Cast, Equal, Where on known data are folded), an initializer not yet in the graph,
// or a partly matched export pattern that is written out only when its consumer completes it:
//   - int8 weights: Cast(q i8) · scale → linear_int8 (weight-only, per-column scales) under a
//     MatMul, gather_int8 (per-row scales) under a Gather; q stays int8 in the artifact;
//   - x·c, x/c and the transpose of the last two axes stay pending, so MatMul(q·c₁, kᵀ·c₂) becomes
//     matmul(q, k) {transpose_b} · (c₁c₂): the decomposed attention `fuse-attention` folds;
//   - elementwise functions of attention_mask (Unsqueeze, Expand, Cast, Sub, Mul, Equal, Where…)
//     are kept as their values at mask 0 and mask 1; added to scores they become the canonical
//     bias (1 − f32(mask))·fill reshaped to [B, 1, 1, S];
//   - ReduceMean/Sub/Pow/ReduceMean/Add/Sqrt/Div/Mul/Add → layer_norm; x·½·(1 + erf(x/√2)) → gelu(erf);
//   - Σ(x·mask)/clip(Σ mask) → mean_pool; slices of an arange buffer → position_ids.
// A pending pattern read any other way is refused naming the node (exit 69): the IR has no
// reduce, erf or power op to fall back on. It does not run anything.

import IngotCore
import IngotCheckpoint
import IngotIR

/// One element of data known at import time: an integer, a float, or a named size (a symbolic dimension).
enum KnownElement: Hashable {
    case int(Int64)
    case float(Double)
    case dim(String)

    var double: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .float(let f): return f
        case .dim: return nil
        }
    }
    var int: Int64? {
        switch self {
        case .int(let i): return i
        case .float(let f): return f == f.rounded() && abs(f) < 9e18 ? Int64(f) : nil
        case .dim: return nil
        }
    }
    var asDim: Dim? {
        switch self {
        case .int(let i): return i >= 0 && i <= Int64(Int32.max) ? .fixed(Int(i)) : nil
        case .float: return nil
        case .dim(let s): return .symbol(s)
        }
    }
}

/// A small tensor whose elements are known at import time.
struct Known {
    var dtype: DType
    var dims: [Int]
    var elements: [KnownElement]

    static func scalar(_ e: KnownElement, _ dtype: DType) -> Known { Known(dtype: dtype, dims: [], elements: [e]) }
    var isScalarLike: Bool { elements.count == 1 }
}

/// An elementwise function of the attention mask m ∈ {0, 1}: its value at m = 0 and m = 1.
/// `dims` is the value's shape; the mask's batch and key axes are `batchAxis` and `seqAxis`,
/// every other axis repeats the same values.
struct MaskFunction {
    var at0: Double
    var at1: Double
    var dtype: DType
    var dims: [Dim]
    var batchAxis: Int
    var seqAxis: Int

    func map(_ dtype: DType, _ f: (Double) -> Double) -> MaskFunction {
        var m = self
        m.at0 = f(at0)
        m.at1 = f(at1)
        m.dtype = dtype
        return m
    }
}

/// What an ONNX value is during translation.
enum Sym {
    /// An IR value; pending `scale` and transpose of the last two axes (x·scale, then transposed).
    case tensor(ValueID, scale: Float, transposedLast: Bool)
    case known(Known)
    /// An initializer not yet in the graph.
    case weight(ONNXTensor)
    /// Cast(q) to float, not yet scaled.
    case int8Cast(ONNXTensor)
    /// float(q) · scale.
    case dequantized(q: ONNXTensor, scale: ONNXTensor)
    case mask(MaskFunction)
    /// A tensor of one value with the given (possibly symbolic) shape, e.g. a slice of a zero buffer.
    case fill(KnownElement, DType, [Dim])
    /// Each element is its index along `axis` (Range(0, n), a slice of the position_ids buffer), broadcast to `dims`.
    case arange([Dim], axis: Int)
    /// Index tuples for GatherND: dims without the tuple axis; component i is the index along axis `components[i]`
    /// of an arange over `symbols[i]`.
    case ndIndex([Dim], components: [Int], symbols: [Dim])
    /// A value known only by its shape (e.g. Max of two aranges, read by Shape).
    case shapeOnly([Dim])
    /// A rank-4 [B, H, S, D] value viewed as [B·H, S, D] (kᵀ by reshape + transpose (0, 2, 1) + reshape).
    case mergedHeads(ValueID, scale: Float, transposedLast: Bool)
    /// IsNaN(x) of an IR value x.
    case isNaN(ValueID)
    // Layer norm in pieces, x the normalised input.
    case mean(ValueID)
    case centered(ValueID, mean: Bool)
    case squaredCentered(ValueID)
    case variance(ValueID, epsilon: Float)
    case standardDeviation(ValueID, epsilon: Float)
    case normalized(ValueID, epsilon: Float)
    case normScaled(ValueID, epsilon: Float, gamma: ValueID)
    // GELU in pieces.
    case erf(ValueID)
    /// c·(1 + erf(x/√2)).
    case onePlusErf(ValueID, coefficient: Float)
    // Mean pooling in pieces.
    case maskedTokens(ValueID)
    case maskedSum(ValueID)
    case maskCount

    static func ir(_ v: ValueID) -> Sym { .tensor(v, scale: 1, transposedLast: false) }

    var kind: String {
        switch self {
        case .tensor: return "tensor"
        case .known: return "constant"
        case .weight: return "initializer"
        case .int8Cast, .dequantized: return "int8 dequantisation"
        case .mask: return "attention-mask expression"
        case .fill: return "constant fill"
        case .arange, .ndIndex: return "index arithmetic"
        case .shapeOnly: return "shape-only value"
        case .mergedHeads: return "merged-heads view"
        case .isNaN: return "NaN test"
        case .mean, .centered, .squaredCentered, .variance, .standardDeviation, .normalized, .normScaled:
            return "partial layer normalisation"
        case .erf, .onePlusErf: return "partial GELU"
        case .maskedTokens, .maskedSum, .maskCount: return "partial mean pooling"
        }
    }
}

struct ONNXTranslator {
    let model: ONNXModel
    var graph = Graph(name: "bert")
    var syms: [String: Sym] = [:]
    var node: ONNXNode? = nil
    var idsInput: ValueID
    var maskInput: ValueID
    var typesInput: ValueID
    var positionsInput: ValueID
    /// ONNX input name → role.
    var inputRoles: [String: String] = [:]
    /// Initializers already in the graph, by ONNX name (and transposed copies by name + "ᵀ").
    var materialized: [String: ValueID] = [:]
    var maskBias: ValueID? = nil
    var biasFill: Double = 0
    var maskFloat: ValueID? = nil
    var names: Set<String> = []
    var lastHidden: ValueID? = nil
    var maxPositions: Int? = nil
    var vocabularyRows: Int? = nil
    var fixedLimits: String? = nil
    var int8Weights = 0
    var opset: Int64

    init(model: ONNXModel) throws {
        self.model = model
        opset = model.opsets[""] ?? 17
        // Symbolic sizes: batch and seq, as the BERT importer names them; fixed sizes stay fixed.
        var batch: Dim = .symbol("batch"), seq: Dim = .symbol("seq")
        var fixed: [String] = []
        for input in model.inputs {
            guard let dims = input.dims, dims.count == 2 else {
                throw IngotError(.unsupported, file: model.path, location: "graph input \"\(input.name)\"",
                                 "shape \(input.dims.map { "\($0)" } ?? "unknown"), expected [batch, sequence]")
            }
            if case .fixed(let b) = dims[0] { batch = .fixed(b); fixed.append("\(input.name)[0] = \(b)") }
            if case .fixed(let s) = dims[1] { seq = .fixed(s); fixed.append("\(input.name)[1] = \(s)") }
        }
        if !fixed.isEmpty { fixedLimits = fixed.joined(separator: ", ") }
        let t = TensorType(.i32, Shape([batch, seq]))
        idsInput = graph.addInput("input_ids", t)
        maskInput = graph.addInput("attention_mask", t)
        typesInput = graph.addInput("token_type_ids", t)
        positionsInput = graph.addInput("position_ids", t)
        names = ["input_ids", "attention_mask", "token_type_ids", "position_ids"]
        for input in model.inputs {
            guard !input.dtype.isFloatingPoint else {
                throw IngotError(.unsupported, file: model.path, location: "graph input \"\(input.name)\"",
                                 "element type \(input.dtype), expected integer token ids or masks")
            }
            let lower = input.name.lowercased()
            let role: ValueID
            if lower.contains("mask") { role = maskInput; inputRoles[input.name] = "attention_mask" }
            else if lower.contains("type") || lower.contains("segment") { role = typesInput; inputRoles[input.name] = "token_type_ids" }
            else if lower.contains("position") { role = positionsInput; inputRoles[input.name] = "position_ids" }
            else if lower.contains("ids") || lower.contains("input") { role = idsInput; inputRoles[input.name] = "input_ids" }
            else {
                throw IngotError(.unsupported, file: model.path, location: "graph input \"\(input.name)\"",
                                 "not recognised; expected input ids, attention mask, token type ids or position ids")
            }
            syms[input.name] = role == maskInput
                ? .mask(MaskFunction(at0: 0, at1: 1, dtype: input.dtype, dims: [batch, seq], batchAxis: 0, seqAxis: 1))
                : .ir(role)
        }
        guard inputRoles.values.contains("input_ids") else {
            throw IngotError(.unsupported, file: model.path, location: "graph.input",
                             "no input ids among \(model.inputs.map(\.name)); expected input_ids")
        }
        for t in model.initializers { syms[t.name] = .weight(t) }
    }

    // MARK: Errors

    func fail(_ message: String) -> IngotError {
        let n = node.map { "node \"\($0.name)\" (\($0.opType))" } ?? "graph"
        return IngotError(.unsupported, file: model.path, location: n, message)
    }

    func format(_ message: String) -> IngotError {
        let n = node.map { "node \"\($0.name)\" (\($0.opType))" } ?? "graph"
        return IngotError(.format, file: model.path, location: n, message)
    }

    // MARK: Names and constants

    mutating func fresh(_ base: String) -> String {
        var cleaned = String(base.map { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "." ? $0 : "_" })
        if cleaned.isEmpty { cleaned = "v" }
        var name = cleaned
        var k = 1
        while names.contains(name) { k += 1; name = "\(cleaned)_\(k)" }
        names.insert(name)
        return name
    }

    mutating func add(_ op: Op, _ inputs: [ValueID], _ base: String) throws -> ValueID {
        do {
            return try graph.add(op, inputs, name: fresh(base))
        } catch let e as IngotError {
            throw format("\(op.name) does not fit its inputs: \(e.message)")
        }
    }

    mutating func scalarConstant(_ value: Float, _ base: String) -> ValueID {
        graph.addConstant(fresh(base), TensorType(.f32, Shape([])),
                          source: ConstantSource(origin: "ONNX import: \(base) = \(formatFloat(value))", buffer: TensorBuffer(array: [value])))
    }

    /// A float32 IR constant for an initializer (converted from f64/f16 or integers as needed).
    mutating func constant(_ t: ONNXTensor) throws -> ValueID {
        if let v = materialized[t.name] { return v }
        let data: TensorBuffer
        switch t.dtype {
        case .f32: data = t.data
        case .f64, .i64, .i32, .i16, .i8, .u8, .bool:
            data = TensorBuffer(array: t.floats ?? [])
        case .f16:
            data = TensorBuffer(array: t.data.toArray(of: UInt16.self).map(floatFromHalfBits))
        case .bf16:
            data = TensorBuffer(array: t.data.toArray(of: UInt16.self).map(floatFromBFloat16Bits))
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q4_K, .q5_K, .q6_K:
            throw fail("initializer \"\(t.name)\" has the GGML block type \(t.dtype), which ONNX cannot hold")
        }
        let v = graph.addConstant(fresh(t.name), TensorType(.f32, Shape(fixed: t.dims)),
                                  source: ConstantSource(origin: "\(model.path):\(t.name) (\(t.dtype))", buffer: data))
        materialized[t.name] = v
        return v
    }

    /// A 2-D float initializer [K, N] as an IR constant [N, K] (weights as [out, in], matmul transpose_b).
    mutating func transposedConstant(_ t: ONNXTensor) throws -> ValueID {
        let key = t.name + "ᵀ"
        if let v = materialized[key] { return v }
        guard t.dims.count == 2, let w = t.floats else { throw fail("initializer \"\(t.name)\" \(t.dtype)\(t.dims) cannot be a [in, out] float weight") }
        let (k, n) = (t.dims[0], t.dims[1])
        let v = graph.addConstant(fresh(t.name + ".weight"), TensorType(.f32, Shape(fixed: [n, k])),
                                  source: ConstantSource(origin: "\(model.path):\(t.name) (\(t.dtype), transposed)", loader: {
            var out = [Float](repeating: 0, count: k * n)
            for i in 0..<k { for j in 0..<n { out[j * k + i] = w[i * n + j] } }
            return TensorBuffer(array: out)
        }))
        materialized[key] = v
        return v
    }

    // MARK: Reading inputs

    func sym(_ name: String) throws -> Sym {
        guard let s = syms[name] else { throw format("input \"\(name)\" is not defined before this node") }
        return s
    }

    func input(_ i: Int) throws -> Sym {
        guard let n = node, i < n.inputs.count, !n.inputs[i].isEmpty else { throw format("input \(i) is missing") }
        return try sym(n.inputs[i])
    }

    func hasInput(_ i: Int) -> Bool {
        guard let n = node else { return false }
        return i < n.inputs.count && !n.inputs[i].isEmpty
    }

    /// Known data of a value, including small initializers.
    func known(_ s: Sym) -> Known? {
        switch s {
        case .known(let k): return k
        case .weight(let t):
            guard t.elementCount <= 1 << 16 else { return nil }
            if let ints = t.integers { return Known(dtype: t.dtype, dims: t.dims, elements: ints.map { .int($0) }) }
            if let f = t.floats { return Known(dtype: t.dtype, dims: t.dims, elements: f.map { .float(Double($0)) }) }
            return nil
        default: return nil
        }
    }

    func knownInput(_ i: Int, _ what: String) throws -> Known {
        guard let k = known(try input(i)) else { throw fail("\(what) (input \(i)) must be known at import time, got a \(try input(i).kind)") }
        return k
    }

    func knownInts(_ i: Int, _ what: String) throws -> [Int64] {
        let k = try knownInput(i, what)
        return try k.elements.map { e in
            guard let v = e.int else { throw fail("\(what) must be integers known at import time, got \(e)") }
            return v
        }
    }

    /// A scalar float constant (a one-element known tensor or initializer).
    func scalar(_ s: Sym) -> Double? {
        guard let k = known(s), k.isScalarLike else { return nil }
        return k.elements[0].double
    }

    func intAttr(_ name: String, _ fallback: Int64? = nil) throws -> Int64 {
        switch node?.attributes[name] {
        case .int(let v)?: return v
        case nil:
            guard let fallback else { throw format("attribute \(name) is missing") }
            return fallback
        default: throw format("attribute \(name) is not an integer")
        }
    }

    func intsAttr(_ name: String) throws -> [Int64]? {
        switch node?.attributes[name] {
        case .ints(let v)?: return v
        case nil: return nil
        default: throw format("attribute \(name) is not a list of integers")
        }
    }

    func floatAttr(_ name: String, _ fallback: Float) throws -> Float {
        switch node?.attributes[name] {
        case .float(let v)?: return v
        case nil: return fallback
        default: throw format("attribute \(name) is not a float")
        }
    }

    /// The IR value of a symbol, writing out whatever is pending.
    mutating func tensor(_ s: Sym) throws -> ValueID {
        switch s {
        case .tensor(let v, let scale, let transposedLast):
            var x = v
            if transposedLast {
                let r = graph.type(of: x).shape.rank
                guard r >= 2 else { throw fail("transpose of the last two axes of a rank-\(r) value") }
                x = try add(.transpose(permutation: Array(0..<(r - 2)) + [r - 1, r - 2]), [x], graph[x].name + ".t")
            }
            if scale != 1 {
                x = try add(.binary(.mul), [x, scalarConstant(scale, graph[x].name + ".scale")], graph[x].name + ".scaled")
            }
            return x
        case .weight(let t): return try constant(t)
        case .known(let k):
            guard k.elements.allSatisfy({ $0.double != nil }) else { throw fail("a shape with symbolic sizes used as data") }
            let v = graph.addConstant(fresh("const"), TensorType(.f32, Shape(fixed: k.dims)),
                                      source: ConstantSource(origin: "ONNX import: folded constant", buffer: TensorBuffer(array: k.elements.map { Float($0.double!) })))
            return v
        case .mask(let m): return try maskTensor(m)
        default:
            throw fail("a \(s.kind) is used in a way Ingot does not recognise (the IR has no op to compute it separately)")
        }
    }

    func typeOf(_ s: Sym) throws -> [Dim]? {
        switch s {
        case .tensor(let v, _, let t):
            var d = graph.type(of: v).shape.dims
            if t && d.count >= 2 { d.swapAt(d.count - 1, d.count - 2) }
            return d
        case .weight(let t): return t.dims.map { .fixed($0) }
        case .known(let k): return k.dims.map { .fixed($0) }
        case .dequantized(let q, _), .int8Cast(let q): return q.dims.map { .fixed($0) }
        case .mask(let m): return m.dims
        case .fill(_, _, let d), .arange(let d, _), .shapeOnly(let d): return d
        case .ndIndex(let d, let c, _): return d + [.fixed(c.count)]
        case .mergedHeads(let v, _, let t):
            let d = graph.type(of: v).shape.dims
            guard d.count == 4 else { return nil }
            return t ? [.symbol("\(d[0])·\(d[1])"), d[3], d[2]] : [.symbol("\(d[0])·\(d[1])"), d[2], d[3]]
        case .mean, .centered, .squaredCentered, .variance, .standardDeviation, .normalized, .normScaled,
             .erf, .onePlusErf, .maskedTokens, .maskedSum, .maskCount, .isNaN:
            return nil
        }
    }

    // MARK: Masks

    /// The attention mask as f32 [B, S].
    mutating func maskAsFloat() throws -> ValueID {
        if let v = maskFloat { return v }
        let v = try add(.cast(.f32), [maskInput], "attention.mask_f32")
        maskFloat = v
        return v
    }

    /// A mask function written out: a0 + (a1 − a0)·f32(m), shaped with 1s on its repeated axes.
    mutating func maskTensor(_ m: MaskFunction) throws -> ValueID {
        if m.at1 == 0, m.dims.count == 4, let b = maskBias, biasFill == m.at0 { return b }
        let mf = try maskAsFloat()
        var v = mf
        if !(m.at0 == 0 && m.at1 == 1) {
            if m.at1 == 0 {
                // (1 − m)·a0: the form fuse-attention reads for an additive key bias.
                let pad = try add(.binary(.sub), [scalarConstant(1, "attention.one"), mf], "attention.padding")
                v = try add(.binary(.mul), [pad, scalarConstant(Float(m.at0), "attention.mask_fill")], "attention.mask_bias_2d")
            } else {
                let slope = try add(.binary(.mul), [mf, scalarConstant(Float(m.at1 - m.at0), "mask.slope")], "mask.scaled")
                v = m.at0 == 0 ? slope : try add(.binary(.add), [slope, scalarConstant(Float(m.at0), "mask.offset")], "mask.offset")
            }
        }
        let base = graph.type(of: maskInput).shape.dims
        var dims = [Dim](repeating: .fixed(1), count: m.dims.count)
        guard m.batchAxis < dims.count, m.seqAxis < dims.count, m.batchAxis < m.seqAxis else {
            throw fail("an attention-mask expression with the batch axis after the key axis")
        }
        dims[m.batchAxis] = base[0]
        dims[m.seqAxis] = base[1]
        if dims != base {
            let r = try add(.reshape(Shape(dims)), [v], m.at1 == 0 ? "attention.mask_bias" : "mask.reshaped")
            if m.at1 == 0, dims.count == 4 { maskBias = r; biasFill = m.at0 }
            return r
        }
        return v
    }

    // MARK: Running

    mutating func run() throws {
        for n in model.nodes {
            node = n
            let outs = try translate(n)
            guard outs.count <= n.outputs.count else { throw format("\(outs.count) results for \(n.outputs.count) outputs") }
            for (name, s) in zip(n.outputs, outs) where !name.isEmpty { syms[name] = s }
        }
        node = nil
        var seenHidden = false
        for out in model.outputs {
            guard let s = syms[out.name] else {
                throw IngotError(.format, file: model.path, location: "graph output \"\(out.name)\"", "no node computes it")
            }
            // Echoes of an input (the int64 ids or mask passed through) are not model outputs here.
            if case .mask = s, !out.dtype.isFloatingPoint { continue }
            if case .tensor(let v, 1, false) = s, graph.inputs.contains(v) { continue }
            let v: ValueID
            do { v = try tensor(s) } catch let e as IngotError {
                throw IngotError(e.kind, file: model.path, location: "graph output \"\(out.name)\"", e.message)
            }
            let t = graph.type(of: v)
            let name: String
            if t.shape.rank == 3, !seenHidden { name = "last_hidden_state"; seenHidden = true; lastHidden = v }
            else if t.shape.rank == 2, t.dtype == .f32, !names.contains("sentence_embedding") { name = "sentence_embedding" }
            else {
                names.remove(graph[v].name)
                name = fresh(out.name)
                names.remove(name)
            }
            if graph.inputs.contains(v) || graph.isConstant(v) || graph.outputs.contains(v) {
                throw IngotError(.unsupported, file: model.path, location: "graph output \"\(out.name)\"", "is an input or a constant; expected a computed value")
            }
            names.remove(graph[v].name)
            guard !names.contains(name) else {
                throw IngotError(.unsupported, file: model.path, location: "graph output \"\(out.name)\"", "a second output would be named \(name)")
            }
            graph.values[v.index].name = name
            names.insert(name)
            graph.markOutput(v)
        }
    }
}
