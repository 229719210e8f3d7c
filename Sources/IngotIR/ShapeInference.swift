// Type inference: the output dtype and shape of every op from its input types, with
// symbolic dimensions. Used by the graph builder and the verifier; it never looks at data.

import IngotCore

struct InferenceError: Error {
    let message: String
    init(_ message: String) { self.message = message }
}

/// Output types of `op` applied to inputs of `inputTypes`; throws IngotError(.verification).
public func inferOutputTypes(_ op: Op, _ inputTypes: [TensorType]) throws -> [TensorType] {
    do {
        return try infer(op, inputTypes)
    } catch let e as InferenceError {
        let args = inputTypes.map(\.description).joined(separator: ", ")
        throw IngotError(.verification, "\(op.name)(\(args)): \(e.message)")
    }
}

private func isIndexType(_ d: DType) -> Bool { d == .i32 || d == .i64 }

private func requireFloat(_ t: TensorType, _ what: String) throws {
    guard t.dtype.isFloatingPoint else { throw InferenceError("\(what) must be floating point, got \(t.dtype)") }
}

private func requireIndex(_ t: TensorType, _ what: String) throws {
    guard isIndexType(t.dtype) else { throw InferenceError("\(what) must be i32 or i64, got \(t.dtype)") }
}

private func requireRank(_ t: TensorType, _ rank: Int, _ what: String) throws {
    guard t.shape.rank == rank else { throw InferenceError("\(what) must have rank \(rank), got \(t.shape)") }
}

/// Two dimensions that must be the same size.
private func same(_ a: Dim, _ b: Dim) -> Bool { a == b }

private func requireDim(_ d: Dim, equals expected: Dim, _ what: String) throws {
    guard same(d, expected) else { throw InferenceError("\(what) is \(d), expected \(expected)") }
}

private func normalizedAxis(_ axis: Int, rank: Int) throws -> Int {
    let a = axis < 0 ? axis + rank : axis
    guard a >= 0, a < rank else { throw InferenceError("axis \(axis) out of range for rank \(rank)") }
    return a
}

/// numpy broadcasting of trailing dimensions; symbols only broadcast with an equal symbol or 1.
func broadcast(_ a: Shape, _ b: Shape) throws -> Shape {
    let n = max(a.rank, b.rank)
    var out: [Dim] = []
    for i in 0..<n {
        let da: Dim = i < n - a.rank ? .fixed(1) : a.dims[i - (n - a.rank)]
        let db: Dim = i < n - b.rank ? .fixed(1) : b.dims[i - (n - b.rank)]
        if da == db { out.append(da) }
        else if da == .fixed(1) { out.append(db) }
        else if db == .fixed(1) { out.append(da) }
        else { throw InferenceError("shapes \(a) and \(b) do not broadcast (dimension \(i): \(da) vs \(db))") }
    }
    return Shape(out)
}

/// Fixed product and sorted symbol list: two shapes hold the same number of elements when both agree.
private func symbolicSize(_ s: Shape) -> (Int?, [String]) {
    var product: Int? = 1
    var symbols: [String] = []
    for d in s.dims {
        switch d {
        case .fixed(let n):
            if let p = product {
                let (r, o) = p.multipliedReportingOverflow(by: n)
                product = o ? nil : r
            }
        case .symbol(let s): symbols.append(s)
        }
    }
    return (product, symbols.sorted())
}

private func infer(_ op: Op, _ t: [TensorType]) throws -> [TensorType] {
    guard op.arity.contains(t.count) else {
        throw InferenceError("takes \(op.arity.lowerBound == op.arity.upperBound ? String(op.arity.lowerBound) : "\(op.arity.lowerBound)…\(op.arity.upperBound)") inputs, got \(t.count)")
    }
    switch op {
    case .gather:
        let (table, ids) = (t[0], t[1])
        try requireRank(table, 2, "table")
        try requireIndex(ids, "indices")
        return [TensorType(table.dtype, Shape(ids.shape.dims + [table.shape[1]]))]

    case .matmul(let transposeB):
        let (a, b) = (t[0], t[1])
        try requireFloat(a, "a")
        guard a.shape.rank >= 2 else { throw InferenceError("a must have rank ≥ 2, got \(a.shape)") }
        let r = b.shape.rank
        guard r == 2 || r == a.shape.rank else {
            throw InferenceError("b must have rank 2 (shared) or rank \(a.shape.rank) like a (batched), got \(b.shape)")
        }
        if r > 2 {
            for d in 0..<(r - 2) { try requireDim(b.shape[d], equals: a.shape[d], "batch dimension \(d) of b") }
        }
        let k = a.shape.dims[a.shape.rank - 1]
        let (bk, bn) = transposeB ? (b.shape[r - 1], b.shape[r - 2]) : (b.shape[r - 2], b.shape[r - 1])
        try requireDim(bk, equals: k, "contraction dimension of b")
        return [TensorType(a.dtype, Shape(Array(a.shape.dims.dropLast()) + [bn]))]

    case .binary:
        guard t[0].dtype == t[1].dtype else { throw InferenceError("dtypes differ: \(t[0].dtype) vs \(t[1].dtype)") }
        return [TensorType(t[0].dtype, try broadcast(t[0].shape, t[1].shape))]

    case .gelu, .silu:
        try requireFloat(t[0], "input")
        return [t[0]]

    case .layerNorm:
        try requireFloat(t[0], "x")
        guard let h = t[0].shape.dims.last else { throw InferenceError("x must have rank ≥ 1") }
        for (i, what) in [(1, "gamma"), (2, "beta")] {
            try requireRank(t[i], 1, what)
            try requireDim(t[i].shape[0], equals: h, "\(what) length")
        }
        return [t[0]]

    case .rmsNorm:
        try requireFloat(t[0], "x")
        guard let h = t[0].shape.dims.last else { throw InferenceError("x must have rank ≥ 1") }
        try requireRank(t[1], 1, "weight")
        try requireDim(t[1].shape[0], equals: h, "weight length")
        return [t[0]]

    case .rope(_, let heads, let headDim, _):
        let (x, pos) = (t[0], t[1])
        try requireFloat(x, "x")
        try requireRank(x, 3, "x")
        try requireIndex(pos, "positions")
        guard heads > 0, headDim > 0, headDim % 2 == 0 else {
            throw InferenceError("heads \(heads) and head_dim \(headDim) must be positive, head_dim even")
        }
        try requireDim(x.shape[2], equals: .fixed(heads * headDim), "x last dimension")
        try requireRank(pos, 2, "positions")
        try requireDim(pos.shape[0], equals: x.shape[0], "positions batch")
        try requireDim(pos.shape[1], equals: x.shape[1], "positions sequence")
        return [x]

    case .softmax(let axis):
        try requireFloat(t[0], "input")
        _ = try normalizedAxis(axis, rank: t[0].shape.rank)
        return [t[0]]

    case .attention(let a):
        let (q, k, v) = (t[0], t[1], t[2])
        guard a.heads > 0, a.kvHeads > 0, a.headDim > 0, a.heads % a.kvHeads == 0 else {
            throw InferenceError("heads \(a.heads) must be a positive multiple of kv_heads \(a.kvHeads), head_dim \(a.headDim) positive")
        }
        for (x, what) in [(q, "q"), (k, "k"), (v, "v")] {
            try requireFloat(x, what)
            try requireRank(x, 3, what)
        }
        try requireDim(q.shape[2], equals: .fixed(a.heads * a.headDim), "q last dimension")
        try requireDim(k.shape[2], equals: .fixed(a.kvHeads * a.headDim), "k last dimension")
        guard k.shape == v.shape else { throw InferenceError("k \(k.shape) and v \(v.shape) differ") }
        try requireDim(k.shape[0], equals: q.shape[0], "k batch")
        if a.causal || a.kvCache { try requireDim(k.shape[1], equals: q.shape[1], "k sequence (self-attention)") }
        if t.count == 4 {
            let mask = t[3]
            try requireIndex(mask, "mask")
            try requireRank(mask, 2, "mask")
            try requireDim(mask.shape[0], equals: q.shape[0], "mask batch")
            try requireDim(mask.shape[1], equals: k.shape[1], "mask sequence")
        }
        return [q]

    case .reshape(let target):
        let (fa, sa) = symbolicSize(t[0].shape)
        let (fb, sb) = symbolicSize(target)
        guard fa != nil, fa == fb, sa == sb else {
            throw InferenceError("cannot reshape \(t[0].shape) to \(target): element counts differ")
        }
        return [TensorType(t[0].dtype, target)]

    case .transpose(let perm):
        let r = t[0].shape.rank
        guard perm.count == r, perm.sorted() == Array(0..<r) else {
            throw InferenceError("permutation \(perm) is not a permutation of 0..<\(r)")
        }
        return [TensorType(t[0].dtype, Shape(perm.map { t[0].shape[$0] }))]

    case .slice(let axis, let start, let end):
        let a = try normalizedAxis(axis, rank: t[0].shape.rank)
        guard start >= 0, start < end else { throw InferenceError("slice \(start)..<\(end) is empty or negative") }
        if let n = t[0].shape[a].fixedValue, end > n {
            throw InferenceError("slice end \(end) past dimension \(a) of size \(n)")
        }
        var dims = t[0].shape.dims
        dims[a] = .fixed(end - start)
        return [TensorType(t[0].dtype, Shape(dims))]

    case .concat(let axis):
        let first = t[0]
        let a = try normalizedAxis(axis, rank: first.shape.rank)
        var total = 0
        for (i, x) in t.enumerated() {
            guard x.dtype == first.dtype, x.shape.rank == first.shape.rank else {
                throw InferenceError("input \(i) is \(x), expected \(first.dtype) of rank \(first.shape.rank)")
            }
            for d in 0..<x.shape.rank where d != a {
                try requireDim(x.shape[d], equals: first.shape[d], "input \(i) dimension \(d)")
            }
            guard let n = x.shape[a].fixedValue else { throw InferenceError("concat axis \(a) of input \(i) is symbolic") }
            total += n
        }
        var dims = first.shape.dims
        dims[a] = .fixed(total)
        return [TensorType(first.dtype, Shape(dims))]

    case .meanPool:
        let (x, mask) = (t[0], t[1])
        try requireFloat(x, "x")
        try requireRank(x, 3, "x")
        try requireIndex(mask, "mask")
        try requireRank(mask, 2, "mask")
        try requireDim(mask.shape[0], equals: x.shape[0], "mask batch")
        try requireDim(mask.shape[1], equals: x.shape[1], "mask sequence")
        return [TensorType(x.dtype, Shape([x.shape[0], x.shape[2]]))]

    case .l2Normalize(let axis, _):
        try requireFloat(t[0], "input")
        _ = try normalizedAxis(axis, rank: t[0].shape.rank)
        return [t[0]]

    case .cast(let to):
        return [TensorType(to, t[0].shape)]

    case .linear:
        let (x, w) = (t[0], t[1])
        try requireFloat(x, "x")
        guard x.shape.rank >= 1 else { throw InferenceError("x must have rank ≥ 1") }
        try requireRank(w, 2, "weight")
        guard w.dtype == x.dtype else { throw InferenceError("weight dtype \(w.dtype) differs from x dtype \(x.dtype)") }
        try requireDim(w.shape[1], equals: x.shape.dims[x.shape.rank - 1], "weight input dimension")
        if t.count == 3 {
            try requireRank(t[2], 1, "bias")
            try requireDim(t[2].shape[0], equals: w.shape[0], "bias length")
        }
        return [TensorType(x.dtype, Shape(Array(x.shape.dims.dropLast()) + [w.shape[0]]))]

    case .linearSparse:
        let (x, values, columns, offsets) = (t[0], t[1], t[2], t[3])
        guard x.dtype == .f32 else { throw InferenceError("x must be f32, got \(x.dtype)") }
        guard x.shape.rank >= 1 else { throw InferenceError("x must have rank ≥ 1") }
        guard values.dtype == .f32 else { throw InferenceError("values must be f32, got \(values.dtype)") }
        guard columns.dtype == .i16 else { throw InferenceError("columns must be i16, got \(columns.dtype)") }
        guard offsets.dtype == .i32 else { throw InferenceError("row_offsets must be i32, got \(offsets.dtype)") }
        for (v, what) in [(values, "values"), (columns, "columns"), (offsets, "row_offsets")] { try requireRank(v, 1, what) }
        try requireDim(columns.shape[0], equals: values.shape[0], "columns length")
        guard let rowsPlusOne = offsets.shape[0].fixedValue, rowsPlusOne >= 2 else {
            throw InferenceError("row_offsets must have a fixed length N + 1 ≥ 2, got \(offsets.shape)")
        }
        if let k = x.shape.dims.last?.fixedValue, k > Int(Int16.max) {
            throw InferenceError("input dimension \(k) exceeds the i16 column range (≤ \(Int16.max))")
        }
        if t.count == 5 {
            try requireRank(t[4], 1, "bias")
            try requireDim(t[4].shape[0], equals: .fixed(rowsPlusOne - 1), "bias length")
        }
        return [TensorType(.f32, Shape(Array(x.shape.dims.dropLast()) + [.fixed(rowsPlusOne - 1)]))]

    case .linearInt8(let a):
        let (x, w, scales) = (t[0], t[1], t[2])
        guard x.dtype == .f32 else { throw InferenceError("x must be f32, got \(x.dtype)") }
        guard x.shape.rank >= 1 else { throw InferenceError("x must have rank ≥ 1") }
        guard w.dtype == .i8 else { throw InferenceError("weight must be i8, got \(w.dtype)") }
        try requireRank(w, 2, "weight")
        try requireDim(w.shape[1], equals: x.shape.dims[x.shape.rank - 1], "weight input dimension")
        guard let k = w.shape[1].fixedValue, a.group > 0, k % a.group == 0 else {
            throw InferenceError("group \(a.group) must be positive and divide the input dimension \(w.shape[1])")
        }
        guard scales.dtype == .f32 else { throw InferenceError("scales must be f32, got \(scales.dtype)") }
        try requireRank(scales, 2, "scales")
        try requireDim(scales.shape[0], equals: w.shape[0], "scales rows")
        try requireDim(scales.shape[1], equals: .fixed(k / a.group), "scales groups")
        if a.mode == .static, !(a.inputScale > 0) || !a.inputScale.isFinite {
            throw InferenceError("static mode needs a positive finite input_scale, got \(a.inputScale)")
        }
        let biasCount = t.count - 3 - (a.smoothed ? 1 : 0)
        guard biasCount == 0 || biasCount == 1 else {
            throw InferenceError("takes x, weight, scales, an optional bias\(a.smoothed ? " and the smooth vector" : ""); got \(t.count) inputs")
        }
        if biasCount == 1 {
            guard t[3].dtype == .f32 else { throw InferenceError("bias must be f32, got \(t[3].dtype)") }
            try requireRank(t[3], 1, "bias")
            try requireDim(t[3].shape[0], equals: w.shape[0], "bias length")
        }
        if a.smoothed {
            let s = t[t.count - 1]
            guard s.dtype == .f32 else { throw InferenceError("smooth must be f32, got \(s.dtype)") }
            try requireRank(s, 1, "smooth")
            try requireDim(s.shape[0], equals: w.shape[1], "smooth length")
        }
        return [TensorType(.f32, Shape(Array(x.shape.dims.dropLast()) + [w.shape[0]]))]

    case .linearInt8Packed(let attributes):
        let (bits, smoothed) = (attributes.inputBits, attributes.smoothed)
        guard PackedInt8Layout.inputBitsAllowed.contains(bits) else { throw InferenceError("input_bits must be 7 or 8, got \(bits)") }
        let (x, w, scales, colsums) = (t[0], t[1], t[2], t[3])
        guard x.dtype == .f32 else { throw InferenceError("x must be f32, got \(x.dtype)") }
        guard x.shape.rank >= 1, let k = x.shape.dims[x.shape.rank - 1].fixedValue else {
            throw InferenceError("x must have rank ≥ 1 and a fixed last dimension, got \(x.shape)")
        }
        guard k >= 1, k <= PackedInt8Layout.maxInputs else {
            throw InferenceError("input dimension \(k) is outside 1...\(PackedInt8Layout.maxInputs)")
        }
        guard scales.dtype == .f32 else { throw InferenceError("scales must be f32, got \(scales.dtype)") }
        try requireRank(scales, 1, "scales")
        guard let n = scales.shape[0].fixedValue, n >= 1 else { throw InferenceError("scales must have a fixed length N ≥ 1, got \(scales.shape)") }
        guard w.dtype == .i8 else { throw InferenceError("weight must be i8, got \(w.dtype)") }
        let expected = PackedInt8Layout.shape(outputs: n, inputs: k)
        guard w.shape.fixedSizes == expected else {
            throw InferenceError("packed weight shape must be \(expected) for N \(n) and K \(k), got \(w.shape)")
        }
        guard colsums.dtype == .i32 else { throw InferenceError("colsums must be i32, got \(colsums.dtype)") }
        try requireRank(colsums, 1, "colsums")
        try requireDim(colsums.shape[0], equals: .fixed(n), "colsums length")
        let biasCount = t.count - 4 - (smoothed ? 1 : 0)
        guard biasCount == 0 || biasCount == 1 else {
            throw InferenceError("takes x, weight, scales, colsums, an optional bias\(smoothed ? " and the smooth vector" : ""); got \(t.count) inputs")
        }
        if biasCount == 1 {
            guard t[4].dtype == .f32 else { throw InferenceError("bias must be f32, got \(t[4].dtype)") }
            try requireRank(t[4], 1, "bias")
            try requireDim(t[4].shape[0], equals: .fixed(n), "bias length")
        }
        if smoothed {
            let s = t[t.count - 1]
            guard s.dtype == .f32 else { throw InferenceError("smooth must be f32, got \(s.dtype)") }
            try requireRank(s, 1, "smooth")
            try requireDim(s.shape[0], equals: .fixed(k), "smooth length")
        }
        return [TensorType(.f32, Shape(Array(x.shape.dims.dropLast()) + [.fixed(n)]))]

    case .gatherInt8(let group):
        let (table, scales, ids) = (t[0], t[1], t[2])
        guard table.dtype == .i8 else { throw InferenceError("table must be i8, got \(table.dtype)") }
        try requireRank(table, 2, "table")
        guard let h = table.shape[1].fixedValue, group > 0, h % group == 0 else {
            throw InferenceError("group \(group) must be positive and divide the row width \(table.shape[1])")
        }
        guard scales.dtype == .f32 else { throw InferenceError("scales must be f32, got \(scales.dtype)") }
        try requireRank(scales, 2, "scales")
        try requireDim(scales.shape[0], equals: table.shape[0], "scales rows")
        try requireDim(scales.shape[1], equals: .fixed(h / group), "scales groups")
        try requireIndex(ids, "indices")
        return [TensorType(.f32, Shape(ids.shape.dims + [table.shape[1]]))]

    case .swiglu:
        try requireFloat(t[0], "x")
        guard let last = t[0].shape.dims.last, let n = last.fixedValue, n % 2 == 0 else {
            throw InferenceError("last dimension must be fixed and even, got \(t[0].shape)")
        }
        return [TensorType(t[0].dtype, Shape(Array(t[0].shape.dims.dropLast()) + [.fixed(n / 2)]))]

    case .addLayerNorm, .addRMSNorm:
        let (a, b) = (t[0], t[1])
        try requireFloat(a, "a")
        guard a == b else { throw InferenceError("a \(a) and b \(b) differ") }
        guard let h = a.shape.dims.last else { throw InferenceError("a must have rank ≥ 1") }
        for i in 2..<t.count {
            try requireRank(t[i], 1, "parameter \(i)")
            try requireDim(t[i].shape[0], equals: h, "parameter \(i) length")
        }
        return [a, a]

    case .split(let axis, let sizes):
        let x = t[0]
        let ax = try normalizedAxis(axis, rank: x.shape.rank)
        guard !sizes.isEmpty, sizes.allSatisfy({ $0 > 0 }) else { throw InferenceError("sizes \(sizes) must be positive") }
        guard x.shape[ax] == .fixed(sizes.reduce(0, +)) else {
            throw InferenceError("sizes \(sizes) sum to \(sizes.reduce(0, +)), dimension \(ax) is \(x.shape[ax])")
        }
        return sizes.map { n in
            var dims = x.shape.dims
            dims[ax] = .fixed(n)
            return TensorType(x.dtype, Shape(dims))
        }
    }
}
