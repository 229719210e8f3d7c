// Op: the closed set of IR operations with their typed attributes (Formats/ops.md is the
// normative list). An op holds no data and no kernel. Everything the IR knows about an op
// kind (names, code, arity, attribute text and bytes, type rule) is its definition `Ops.X`
// in Ops/; `Op.definition` maps a case to it and `OpCode` lists every kind by binary code
// (the registry itself is Ops/OpDefinitions.swift).
//
// Adding an op touches two IR files: its family file in Ops/ (attribute types and
// definition) and this one (a case in `Op`, a line in `Op.definition`, a case plus a line in
// `OpCode`). The files it touches outside the IR are listed in Formats/ops.md, "Adding an op".

import IngotCore

public enum Op: Sendable, Hashable {
    /// gather(table[V, H], ids[d0, …, dn] int) → [d0, …, dn, H]; rows of a table by index.
    case gather
    /// matmul(a[…, M, K], b) → […, M, N] with b[K, N], or b[N, K] when transposeB (weights as [out, in]);
    /// or batched, b[…, K, N] / b[…, N, K] with the same leading dimensions as a (q·kᵀ per head).
    case matmul(transposeB: Bool)
    /// Elementwise with broadcasting of trailing dimensions (numpy rules).
    case binary(BinaryKind)
    case gelu(GELUApproximation)
    /// x·σ(x)
    case silu
    /// tanh(x), elementwise.
    case tanh
    /// layerNorm(x[…, H], gamma[H], beta[H]) over the last axis.
    case layerNorm(epsilon: Float)
    /// rmsNorm(x[…, H], weight[H]) = x / √(mean(x²) + ε) · weight.
    case rmsNorm(epsilon: Float)
    /// rope(x[B, S, heads·headDim], positions[B, S] int) rotary position embedding, θ_i = base^(−2i/headDim).
    case rope(theta: Float, heads: Int, headDim: Int, style: RopeStyle)
    case softmax(axis: Int)
    /// attention(q, k, v[, keyMask[B, S] int: 1 keep, 0 padding]) → [B, S, heads·headDim].
    case attention(AttentionAttributes)
    /// Same elements, new shape (symbols allowed; element counts must agree).
    case reshape(Shape)
    case transpose(permutation: [Int])
    /// Elements start..<end along axis.
    case slice(axis: Int, start: Int, end: Int)
    case concat(axis: Int)
    /// meanPool(x[B, S, H], mask[B, S] int) → [B, H]: mean over positions whose mask is non-zero.
    case meanPool
    /// pool(x[B, S, H], mask[B, S] int) → [B, H]: the first position, the maximum or the last real token (`PoolMode`).
    case pool(PoolMode)
    /// x / max(‖x‖₂, ε) along axis.
    case l2Normalize(axis: Int, epsilon: Float)
    case cast(DType)
    /// linear(x[…, K], w[N, K][, bias[N]]) → […, N] = activation(x·wᵀ + bias). Fused form of matmul + add + activation.
    case linear(activation: Activation)
    /// linear_int8(x[…, K] f32, w[N, K] i8, scales[N, K/group] f32[, bias[N]][, smooth[K]]) → […, N] f32:
    /// activation(Σ_g scale_x·scales[n, g]·(q_x · w)_g + bias), q_x from x / smooth when smoothed.
    case linearInt8(Int8LinearAttributes)
    /// gather_int8(table[V, H] i8, scales[V, H/group] f32, ids[d…] int) → [d…, H] f32: rows dequantized.
    case gatherInt8(group: Int)
    /// swiglu(x[…, 2I]) → […, I] = silu(x[…, :I]) · x[…, I:]; gate and up projections packed in one matmul.
    case swiglu
    /// add_layer_norm(a, b, gamma[H], beta[H]) → (layer_norm(a + b), a + b).
    case addLayerNorm(epsilon: Float)
    /// add_rms_norm(a, b, weight[H]) → (rms_norm(a + b), a + b).
    case addRMSNorm(epsilon: Float)
    /// split(x) → one output per size, consecutive pieces along axis (sizes sum to the axis length).
    case split(axis: Int, sizes: [Int])
    /// linear_sparse(x[…, K], values f32[nnz], columns i16[nnz], row_offsets i32[N+1], bias[N]?) → act(x · Wᵀ + bias)[…, N],
    /// W[N, K] in CSR: row n's nonzeros are values[row_offsets[n]..<row_offsets[n+1]] at those columns.
    case linearSparse(activation: Activation)
    /// linear_int8_packed(x[…, K] f32, w i8[⌈N/16⌉, ⌈K/4⌉, 64], scales f32[N], colsums i32[N][, bias f32[N]][, smooth f32[K]])
    /// → […, N] f32 = activation(scale_x·scales[n]·(Σ_k q_x[k]·w[n, k] − zero_x·colsums[n]) + bias[n]): weights
    /// in the packed layout (`PackedInt8Layout`), activations asymmetric per row (x ≈ scale_x·(q_x − zero_x)),
    /// from x / smooth when smoothed: input_bits 8 → q_x in 0...255 and |w| ≤ 63; 7 → 0...127 and |w| ≤ 127.
    case linearInt8Packed(PackedLinearAttributes)
}

extension Op {
    /// The op kind's definition type: the one switch from cases to definitions.
    public var definition: any OpDefinition.Type {
        switch self {
        case .gather: return Ops.Gather.self
        case .matmul: return Ops.MatMul.self
        case .binary: return Ops.Binary.self
        case .gelu: return Ops.GELU.self
        case .silu: return Ops.SiLU.self
        case .layerNorm: return Ops.LayerNorm.self
        case .rmsNorm: return Ops.RMSNorm.self
        case .rope: return Ops.Rope.self
        case .softmax: return Ops.Softmax.self
        case .attention: return Ops.Attention.self
        case .reshape: return Ops.Reshape.self
        case .transpose: return Ops.Transpose.self
        case .slice: return Ops.Slice.self
        case .concat: return Ops.Concat.self
        case .meanPool: return Ops.MeanPool.self
        case .l2Normalize: return Ops.L2Normalize.self
        case .cast: return Ops.Cast.self
        case .linear: return Ops.Linear.self
        case .linearInt8: return Ops.LinearInt8.self
        case .gatherInt8: return Ops.GatherInt8.self
        case .swiglu: return Ops.SwiGLU.self
        case .addLayerNorm: return Ops.AddLayerNorm.self
        case .addRMSNorm: return Ops.AddRMSNorm.self
        case .split: return Ops.Split.self
        case .linearSparse: return Ops.LinearSparse.self
        case .linearInt8Packed: return Ops.LinearInt8Packed.self
        case .pool: return Ops.Pool.self
        case .tanh: return Ops.Tanh.self
        }
    }

    /// The op's name in the textual IR.
    public var name: String { definition.name(of: self) }

    /// Allowed input counts.
    public var arity: ClosedRange<Int> { definition.arity }

    /// Attributes in textual-IR order: (name, printed value). Empty for ops without attributes.
    public var attributes: [(String, String)] { definition.printedAttributes(of: self) }
}

/// Op kinds by binary code: the list of every definition.
public enum OpCode: UInt16, CaseIterable, Sendable {
    case gather = 1, matmul = 2, binary = 3, gelu = 4, silu = 5, layerNorm = 6, rmsNorm = 7, rope = 8,
         softmax = 9, attention = 10, reshape = 11, transpose = 12, slice = 13, concat = 14, meanPool = 15,
         l2Normalize = 16, cast = 17, linear = 18, linearInt8 = 19, swiglu = 20, addLayerNorm = 21,
         addRMSNorm = 22, split = 23, gatherInt8 = 24, linearSparse = 25, linearInt8Packed = 26, pool = 27,
         tanh = 28

    public var definition: any OpDefinition.Type {
        switch self {
        case .gather: return Ops.Gather.self
        case .matmul: return Ops.MatMul.self
        case .binary: return Ops.Binary.self
        case .gelu: return Ops.GELU.self
        case .silu: return Ops.SiLU.self
        case .layerNorm: return Ops.LayerNorm.self
        case .rmsNorm: return Ops.RMSNorm.self
        case .rope: return Ops.Rope.self
        case .softmax: return Ops.Softmax.self
        case .attention: return Ops.Attention.self
        case .reshape: return Ops.Reshape.self
        case .transpose: return Ops.Transpose.self
        case .slice: return Ops.Slice.self
        case .concat: return Ops.Concat.self
        case .meanPool: return Ops.MeanPool.self
        case .l2Normalize: return Ops.L2Normalize.self
        case .cast: return Ops.Cast.self
        case .linear: return Ops.Linear.self
        case .linearInt8: return Ops.LinearInt8.self
        case .swiglu: return Ops.SwiGLU.self
        case .addLayerNorm: return Ops.AddLayerNorm.self
        case .addRMSNorm: return Ops.AddRMSNorm.self
        case .split: return Ops.Split.self
        case .gatherInt8: return Ops.GatherInt8.self
        case .linearSparse: return Ops.LinearSparse.self
        case .linearInt8Packed: return Ops.LinearInt8Packed.self
        case .pool: return Ops.Pool.self
        case .tanh: return Ops.Tanh.self
        }
    }

    /// The largest code in use.
    static let highest: UInt16 = allCases.map(\.rawValue).max() ?? 0
}

/// Shortest text that reads back as the same Float ("1e-12", "0.125", "100000.0").
public func formatFloat(_ f: Float) -> String { f.description }
