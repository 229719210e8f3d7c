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

public enum Op: Sendable, Hashable {
    /// gather(table[V, H], ids[d0, …, dn] int) → [d0, …, dn, H]; rows of a table by index.
    case gather
    /// matmul(a[…, M, K], b) → […, M, N] with b[K, N], or b[N, K] when transposeB (weights as [out, in]).
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
        }
    }
}

/// Shortest text that reads back as the same Float ("1e-12", "0.125", "100000.0").
public func formatFloat(_ f: Float) -> String { f.description }
