// Op: the closed set of IR operations and their typed attributes (Formats/ops.md is the
// normative list). An op knows its arity and how to infer output types; it holds no data
// and no kernel. Adding an op means adding a case here, in the codec, the printer and ops.md.

import IngotCore

public enum GELUApproximation: UInt8, Sendable, Hashable, CaseIterable {
    /// 0.5·x·(1 + erf(x/√2)), as BERT's "gelu".
    case erf = 0
    /// 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), as "gelu_new" / "gelu_pytorch_tanh".
    case tanh = 1

    public var name: String {
        switch self {
        case .erf: return "erf"
        case .tanh: return "tanh"
        }
    }
}

public enum RopeStyle: UInt8, Sendable, Hashable, CaseIterable {
    /// Rotates adjacent pairs (2i, 2i+1): ggml's "normal" mode, the layout of GGUF llama weights.
    case interleaved = 0
    /// Rotates pairs (i, i + d/2): Hugging Face / GPT-NeoX layout.
    case halfRotation = 1

    public var name: String {
        switch self {
        case .interleaved: return "interleaved"
        case .halfRotation: return "half"
        }
    }
}

public enum BinaryKind: UInt8, Sendable, Hashable, CaseIterable {
    case add = 0, sub = 1, mul = 2, div = 3

    public var name: String {
        switch self {
        case .add: return "add"
        case .sub: return "sub"
        case .mul: return "mul"
        case .div: return "div"
        }
    }
}

public struct AttentionAttributes: Sendable, Hashable {
    /// Query heads H; q is [batch, seq, H·headDim].
    public var heads: Int
    /// Key/value heads (H for multi-head, fewer for grouped-query); k, v are [batch, seq, kvHeads·headDim].
    public var kvHeads: Int
    public var headDim: Int
    /// Query i attends to keys 0...i (plus everything in the KV cache) only.
    public var causal: Bool
    /// Multiplies q·kᵀ before softmax; usually 1/√headDim.
    public var scale: Float
    /// The runtime keeps k and v of earlier calls in a per-session cache and attends over them too.
    public var kvCache: Bool

    public init(heads: Int, kvHeads: Int, headDim: Int, causal: Bool, scale: Float, kvCache: Bool) {
        self.heads = heads
        self.kvHeads = kvHeads
        self.headDim = headDim
        self.causal = causal
        self.scale = scale
        self.kvCache = kvCache
    }
}

/// The elementwise function a fused linear layer applies after its bias.
public enum Activation: UInt8, Sendable, Hashable, CaseIterable {
    case none = 0
    /// gelu with the erf form.
    case gelu = 1
    /// gelu with the tanh approximation.
    case geluTanh = 2
    case silu = 3

    public var name: String {
        switch self {
        case .none: return "none"
        case .gelu: return "gelu"
        case .geluTanh: return "gelu_tanh"
        case .silu: return "silu"
        }
    }
}

/// How an int8 linear layer treats its float activations.
public enum Int8ActivationMode: UInt8, Sendable, Hashable, CaseIterable {
    /// Each row (token) quantized to int8 at run time with its own scale per group; int8×int8→int32 GEMM.
    case dynamic = 0
    /// One scale for the whole input, fixed at build time from calibration data (`input_scale`).
    case `static` = 1
    /// Activations stay float; int8 weights are widened in the kernel (matrix-vector work in decoding).
    case weightOnly = 2

    public var name: String {
        switch self {
        case .dynamic: return "dynamic"
        case .static: return "static"
        case .weightOnly: return "weight_only"
        }
    }
}

/// Attributes of `linear_int8_packed`.
public struct PackedLinearAttributes: Sendable, Hashable {
    public var activation: Activation
    /// 8: activation codes 0...255 with weights within ±63; 7: codes 0...127 with weights within ±127.
    public var inputBits: Int
    /// The last input is the SmoothQuant divisor s[K], as in `linear_int8`.
    public var smoothed: Bool

    public init(activation: Activation, inputBits: Int, smoothed: Bool) {
        self.activation = activation
        self.inputBits = inputBits
        self.smoothed = smoothed
    }
}

public struct Int8LinearAttributes: Sendable, Hashable {
    /// Consecutive input elements sharing one scale; equal to K for per-output-channel scales.
    public var group: Int
    public var activation: Activation
    public var mode: Int8ActivationMode
    /// The activation scale of `static` mode (x ≈ scale · q); 0 in the other modes.
    public var inputScale: Float
    /// The last input is a per-input-channel divisor s[K] applied to x before quantization
    /// (SmoothQuant; the weight columns were multiplied by s at build time).
    public var smoothed: Bool

    public init(group: Int, activation: Activation, mode: Int8ActivationMode, inputScale: Float = 0, smoothed: Bool = false) {
        self.group = group
        self.activation = activation
        self.mode = mode
        self.inputScale = inputScale
        self.smoothed = smoothed
    }
}

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

    /// The op's name in the textual IR.
    public var name: String {
        switch self {
        case .gather: return "gather"
        case .matmul: return "matmul"
        case .binary(let k): return k.name
        case .gelu: return "gelu"
        case .silu: return "silu"
        case .layerNorm: return "layer_norm"
        case .rmsNorm: return "rms_norm"
        case .rope: return "rope"
        case .softmax: return "softmax"
        case .attention: return "attention"
        case .reshape: return "reshape"
        case .transpose: return "transpose"
        case .slice: return "slice"
        case .concat: return "concat"
        case .meanPool: return "mean_pool"
        case .l2Normalize: return "l2_normalize"
        case .cast: return "cast"
        case .linear: return "linear"
        case .linearInt8: return "linear_int8"
        case .swiglu: return "swiglu"
        case .gatherInt8: return "gather_int8"
        case .addLayerNorm: return "add_layer_norm"
        case .addRMSNorm: return "add_rms_norm"
        case .split: return "split"
        case .linearSparse: return "linear_sparse"
        case .linearInt8Packed: return "linear_int8_packed"
        }
    }

    /// Allowed input counts.
    public var arity: ClosedRange<Int> {
        switch self {
        case .gather, .matmul, .binary, .meanPool: return 2...2
        case .gelu, .silu, .softmax, .reshape, .transpose, .slice, .l2Normalize, .cast: return 1...1
        case .layerNorm: return 3...3
        case .rmsNorm, .rope: return 2...2
        case .attention: return 3...4
        case .concat: return 1...64
        case .linear: return 2...3
        case .linearInt8: return 3...5
        case .gatherInt8: return 3...3
        case .swiglu, .split: return 1...1
        case .addLayerNorm: return 4...4
        case .addRMSNorm: return 3...3
        case .linearSparse: return 4...5
        case .linearInt8Packed: return 4...6
        }
    }

    /// Attributes in textual-IR order: (name, printed value). Empty for ops without attributes.
    public var attributes: [(String, String)] {
        switch self {
        case .gather, .binary, .silu, .meanPool: return []
        case .matmul(let t): return [("transpose_b", String(t))]
        case .gelu(let a): return [("approximation", a.name)]
        case .layerNorm(let e), .rmsNorm(let e): return [("epsilon", formatFloat(e))]
        case .rope(let theta, let heads, let headDim, let style):
            return [("theta", formatFloat(theta)), ("heads", String(heads)), ("head_dim", String(headDim)), ("style", style.name)]
        case .softmax(let axis): return [("axis", String(axis))]
        case .attention(let a):
            return [("heads", String(a.heads)), ("kv_heads", String(a.kvHeads)), ("head_dim", String(a.headDim)),
                    ("causal", String(a.causal)), ("scale", formatFloat(a.scale)), ("kv_cache", String(a.kvCache))]
        case .reshape(let s): return [("shape", s.description)]
        case .transpose(let p): return [("permutation", "[" + p.map(String.init).joined(separator: ", ") + "]")]
        case .slice(let axis, let start, let end): return [("axis", String(axis)), ("start", String(start)), ("end", String(end))]
        case .concat(let axis): return [("axis", String(axis))]
        case .l2Normalize(let axis, let e): return [("axis", String(axis)), ("epsilon", formatFloat(e))]
        case .cast(let d): return [("to", d.description)]
        case .linear(let a), .linearSparse(let a): return [("activation", a.name)]
        case .linearInt8(let a):
            return [("group", String(a.group)), ("activation", a.activation.name), ("mode", a.mode.name),
                    ("input_scale", formatFloat(a.inputScale)), ("smoothed", String(a.smoothed))]
        case .swiglu: return []
        case .gatherInt8(let g): return [("group", String(g))]
        case .addLayerNorm(let e), .addRMSNorm(let e): return [("epsilon", formatFloat(e))]
        case .split(let axis, let sizes):
            return [("axis", String(axis)), ("sizes", "[" + sizes.map(String.init).joined(separator: ", ") + "]")]
        case .linearInt8Packed(let a): return [("activation", a.activation.name), ("input_bits", String(a.inputBits)), ("smoothed", String(a.smoothed))]
        }
    }
}

/// Shortest text that reads back as the same Float ("1e-12", "0.125", "100000.0").
public func formatFloat(_ f: Float) -> String { f.description }
