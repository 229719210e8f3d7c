// Attention in the IR: `attention`'s attributes (heads, grouped-query kv heads, causal mask,
// scale, KV cache), textual and binary forms and type rule. The computation is in
// IngotRuntime and IngotKernels.

import IngotCore

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
    /// Sliding window, 0 = unbounded: the query at position p sees keys j with |p − j| < window,
    /// i.e. p − window + 1 … p when causal and p − window + 1 … p + window − 1 when not
    /// (bidirectional encoders such as EmbeddingGemma's sliding layers).
    public var window: Int
    /// Relative position bias (MPNet / T5 buckets): with `relativeBuckets` > 0 a fifth input
    /// table[relativeBuckets, heads] adds table[bucket(i − j), h] to the scaled score of query i,
    /// key j (Kernels.relativePositionBucket); 0 = none.
    public var relativeBuckets: Int
    /// Distance at which the logarithmic buckets reach the last one (MPNet: 128).
    public var relativeMaxDistance: Int

    public init(heads: Int, kvHeads: Int, headDim: Int, causal: Bool, scale: Float, kvCache: Bool, window: Int = 0,
                relativeBuckets: Int = 0, relativeMaxDistance: Int = 0) {
        self.heads = heads
        self.kvHeads = kvHeads
        self.headDim = headDim
        self.causal = causal
        self.scale = scale
        self.kvCache = kvCache
        self.window = window
        self.relativeBuckets = relativeBuckets
        self.relativeMaxDistance = relativeMaxDistance
    }
}

extension Ops {
    /// attention(q[B, S, H·D], k[B, Sk, Hkv·D], v like k[, keyMask[B, Sk] int: 1 keep, 0 padding
    /// [, relativeTable[buckets, H] f32 when relative_buckets > 0]]) → q's type.
    public enum Attention: OpDefinition {
        public typealias Attributes = AttentionAttributes
        public static let code = OpCode.attention
        public static let names = ["attention"]
        public static let arity = 3...5
        public static let samples: [Op] = [
            .attention(AttentionAttributes(heads: 9, kvHeads: 3, headDim: 64, causal: true, scale: 0.125, kvCache: true)),
            .attention(AttentionAttributes(heads: 2, kvHeads: 2, headDim: 4, causal: false, scale: 0.5, kvCache: false)),
            .attention(AttentionAttributes(heads: 4, kvHeads: 1, headDim: 8, causal: true, scale: 0.25, kvCache: true, window: 3)),
            .attention(AttentionAttributes(heads: 12, kvHeads: 12, headDim: 64, causal: false, scale: 0.125, kvCache: false,
                                           relativeBuckets: 32, relativeMaxDistance: 128)),
            .attention(AttentionAttributes(heads: 2, kvHeads: 1, headDim: 4, causal: false, scale: 0.5, kvCache: false, window: 2)),
        ]

        public static func op(_ a: AttentionAttributes) -> Op { .attention(a) }
        public static func attributes(of op: Op) -> AttentionAttributes? {
            if case .attention(let a) = op { return a }
            return nil
        }
        public static func printedAttributes(_ a: AttentionAttributes) -> [(String, String)] {
            [("heads", String(a.heads)), ("kv_heads", String(a.kvHeads)), ("head_dim", String(a.headDim)),
             ("causal", String(a.causal)), ("scale", formatFloat(a.scale)), ("kv_cache", String(a.kvCache))]
                + (a.window > 0 ? [("window", String(a.window))] : [])
                + (a.relativeBuckets > 0
                    ? [("relative_buckets", String(a.relativeBuckets)), ("relative_max_distance", String(a.relativeMaxDistance))] : [])
        }
        public static func parseAttributes(name: String, _ text: inout AttributeText) throws -> AttentionAttributes {
            let window = try text.has("window") ? text.int("window") : 0
            let buckets = try text.has("relative_buckets") ? text.int("relative_buckets") : 0
            let distance = try text.has("relative_max_distance") ? text.int("relative_max_distance") : 0
            return AttentionAttributes(heads: try text.int("heads"), kvHeads: try text.int("kv_heads"), headDim: try text.int("head_dim"),
                                       causal: try text.bool("causal"), scale: try text.float("scale"), kvCache: try text.bool("kv_cache"),
                                       window: window, relativeBuckets: buckets, relativeMaxDistance: distance)
        }
        /// u32 heads, u32 kv_heads, u32 head_dim, u8 flags (bit 0 causal, bit 1 kv_cache, bit 2 window,
        /// bit 3 relative bias), f32 scale, then u32 window when bit 2 is set, then u32 relative_buckets
        /// and u32 relative_max_distance when bit 3 is set.
        public static func encodeAttributes(_ a: AttentionAttributes, _ w: inout ByteWriter) {
            w.u32(UInt32(a.heads))
            w.u32(UInt32(a.kvHeads))
            w.u32(UInt32(a.headDim))
            w.u8((a.causal ? 1 : 0) | (a.kvCache ? 2 : 0) | (a.window > 0 ? 4 : 0) | (a.relativeBuckets > 0 ? 8 : 0))
            w.f32(a.scale)
            if a.window > 0 { w.u32(UInt32(a.window)) }
            if a.relativeBuckets > 0 {
                w.u32(UInt32(a.relativeBuckets))
                w.u32(UInt32(a.relativeMaxDistance))
            }
        }
        public static func decodeAttributes(_ r: inout ByteReader, _ field: String) throws -> AttentionAttributes {
            let heads = try r.smallCount(field + ".heads")
            let kvHeads = try r.smallCount(field + ".kv_heads")
            let headDim = try r.smallCount(field + ".head_dim")
            let flags = try r.u8(field + ".flags")
            guard flags <= 15 else {
                throw IngotError.badField(file: r.file, field + ".flags", seen: String(flags),
                                          expected: "bits 0 (causal), 1 (kv_cache), 2 (window) and 3 (relative bias) only")
            }
            let scale = try r.f32(field + ".scale")
            let window = try flags & 4 != 0 ? r.smallCount(field + ".window") : 0
            let buckets = try flags & 8 != 0 ? r.smallCount(field + ".relative_buckets") : 0
            let distance = try flags & 8 != 0 ? r.smallCount(field + ".relative_max_distance") : 0
            return AttentionAttributes(heads: heads, kvHeads: kvHeads, headDim: headDim, causal: flags & 1 != 0, scale: scale,
                                       kvCache: flags & 2 != 0, window: window, relativeBuckets: buckets, relativeMaxDistance: distance)
        }

        public static func outputTypes(_ a: AttentionAttributes, _ t: [TensorType]) throws -> [TensorType] {
            let (q, k, v) = (t[0], t[1], t[2])
            guard a.heads > 0, a.kvHeads > 0, a.headDim > 0, a.heads % a.kvHeads == 0 else {
                throw InferenceError("heads \(a.heads) must be a positive multiple of kv_heads \(a.kvHeads), head_dim \(a.headDim) positive")
            }
            guard a.window >= 0 else {
                throw InferenceError("window \(a.window): expected 0 (unbounded) or a positive window")
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
            if a.relativeBuckets > 0 {
                guard a.relativeBuckets >= 4, a.relativeBuckets % 4 == 0, a.relativeMaxDistance > a.relativeBuckets / 4,
                      !a.kvCache, t.count == 5 else {
                    throw InferenceError("relative_buckets \(a.relativeBuckets), relative_max_distance \(a.relativeMaxDistance): expected a positive multiple of 4 buckets, a max distance above a quarter of them, no kv_cache, and five inputs (q, k, v, mask, table), got \(t.count)")
                }
                let table = t[4]
                try requireFloat(table, "relative bias table")
                try requireRank(table, 2, "relative bias table")
                try requireDim(table.shape[0], equals: .fixed(a.relativeBuckets), "relative bias table buckets")
                try requireDim(table.shape[1], equals: .fixed(a.heads), "relative bias table heads")
            } else if t.count == 5 {
                throw InferenceError("five inputs but relative_buckets 0: the fifth (a relative bias table) needs relative_buckets > 0")
            }
            if t.count >= 4 {
                let mask = t[3]
                try requireIndex(mask, "mask")
                try requireRank(mask, 2, "mask")
                try requireDim(mask.shape[0], equals: q.shape[0], "mask batch")
                try requireDim(mask.shape[1], equals: k.shape[1], "mask sequence")
            }
            return [q]
        }
    }
}
