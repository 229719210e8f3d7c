// Rotary position embedding in the IR: `rope`'s attributes, textual and binary forms and type
// rule. The rotation itself is in IngotRuntime and IngotKernels.

import IngotCore

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

extension Ops {
    /// rope(x[B, S, heads·headDim], positions[B, S] int) → x's type, θ_i = theta^(−2i/headDim).
    public enum Rope: OpDefinition {
        public typealias Attributes = (theta: Float, heads: Int, headDim: Int, style: RopeStyle)
        public static let code = OpCode.rope
        public static let names = ["rope"]
        public static let arity = 2...2
        public static let samples: [Op] = [.rope(theta: 100000, heads: 9, headDim: 64, style: .interleaved),
                                           .rope(theta: 10000, heads: 2, headDim: 4, style: .halfRotation)]

        public static func op(_ a: Attributes) -> Op { .rope(theta: a.theta, heads: a.heads, headDim: a.headDim, style: a.style) }
        public static func attributes(of op: Op) -> Attributes? {
            if case .rope(let theta, let heads, let headDim, let style) = op { return (theta, heads, headDim, style) }
            return nil
        }
        public static func printedAttributes(_ a: Attributes) -> [(String, String)] {
            [("theta", formatFloat(a.theta)), ("heads", String(a.heads)), ("head_dim", String(a.headDim)), ("style", a.style.name)]
        }
        public static func parseAttributes(name: String, _ text: inout AttributeText) throws -> Attributes {
            (try text.float("theta"), try text.int("heads"), try text.int("head_dim"), try text.named("style", RopeStyle.self, \.name))
        }
        public static func encodeAttributes(_ a: Attributes, _ w: inout ByteWriter) {
            w.f32(a.theta)
            w.u32(UInt32(a.heads))
            w.u32(UInt32(a.headDim))
            w.u8(a.style.rawValue)
        }
        public static func decodeAttributes(_ r: inout ByteReader, _ field: String) throws -> Attributes {
            let theta = try r.f32(field + ".theta")
            let heads = try r.smallCount(field + ".heads")
            let headDim = try r.smallCount(field + ".head_dim")
            let style = try r.enumCode(field + ".style", RopeStyle.self)
            return (theta, heads, headDim, style)
        }

        public static func outputTypes(_ a: Attributes, _ t: [TensorType]) throws -> [TensorType] {
            let (x, pos) = (t[0], t[1])
            try requireFloat(x, "x")
            try requireRank(x, 3, "x")
            try requireIndex(pos, "positions")
            guard a.heads > 0, a.headDim > 0, a.headDim % 2 == 0 else {
                throw InferenceError("heads \(a.heads) and head_dim \(a.headDim) must be positive, head_dim even")
            }
            try requireDim(x.shape[2], equals: .fixed(a.heads * a.headDim), "x last dimension")
            try requireRank(pos, 2, "positions")
            try requireDim(pos.shape[0], equals: x.shape[0], "positions batch")
            try requireDim(pos.shape[1], equals: x.shape[1], "positions sequence")
            return [x]
        }
    }
}
