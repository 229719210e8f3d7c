// Pooling in the IR: the type rules of `mean_pool` (no attributes) and `pool` (a mode:
// first position, maximum over real tokens, last real token). The pooling itself is in
// IngotRuntime; which pooling a model uses is the importer's business.

import IngotCore

/// How `pool` turns token states [B, S, H] into one row [B, H].
public enum PoolMode: UInt8, Sendable, Hashable, CaseIterable {
    /// x[b, 0, :], whatever the mask (the [CLS] token a BERT tokenizer puts first).
    case cls = 0
    /// Elementwise maximum over positions with mask ≠ 0; zeros for a row with no real token.
    case max = 1
    /// x[b, s, :] at the largest s with mask ≠ 0 (right or left padding); zeros for a row with no real token.
    case lastToken = 2

    public var name: String {
        switch self {
        case .cls: return "cls"
        case .max: return "max"
        case .lastToken: return "last_token"
        }
    }
}

extension Ops {
    /// mean_pool(x[B, S, H], mask[B, S] int) → [B, H]: mean over positions whose mask is non-zero.
    public enum MeanPool: OpDefinition {
        public typealias Attributes = Void
        public static let code = OpCode.meanPool
        public static let names = ["mean_pool"]
        public static let arity = 2...2
        public static let samples: [Op] = [.meanPool]

        public static func op(_: Void) -> Op { .meanPool }
        public static func attributes(of op: Op) -> Void? {
            if case .meanPool = op { return () }
            return nil
        }

        public static func outputTypes(_: Void, _ t: [TensorType]) throws -> [TensorType] {
            try poolOutputTypes(t)
        }
    }

    /// pool(x[B, S, H], mask[B, S] int) {mode} → [B, H]: one position or the maximum per row (`PoolMode`).
    public enum Pool: OpDefinition {
        public typealias Attributes = PoolMode
        public static let code = OpCode.pool
        public static let names = ["pool"]
        public static let arity = 2...2
        public static let samples: [Op] = PoolMode.allCases.map { .pool($0) }

        public static func op(_ mode: PoolMode) -> Op { .pool(mode) }
        public static func attributes(of op: Op) -> PoolMode? {
            if case .pool(let mode) = op { return mode }
            return nil
        }
        public static func printedAttributes(_ mode: PoolMode) -> [(String, String)] { [("mode", mode.name)] }
        public static func parseAttributes(name: String, _ text: inout AttributeText) throws -> PoolMode {
            try text.named("mode", PoolMode.self, \.name)
        }
        public static func encodeAttributes(_ mode: PoolMode, _ w: inout ByteWriter) { w.u8(mode.rawValue) }
        public static func decodeAttributes(_ r: inout ByteReader, _ field: String) throws -> PoolMode {
            try r.enumCode(field + ".mode", PoolMode.self)
        }

        public static func outputTypes(_: PoolMode, _ t: [TensorType]) throws -> [TensorType] {
            try poolOutputTypes(t)
        }
    }
}

/// x[B, S, H] float, mask[B, S] int → [B, H] of x's dtype.
private func poolOutputTypes(_ t: [TensorType]) throws -> [TensorType] {
    let (x, mask) = (t[0], t[1])
    try requireFloat(x, "x")
    try requireRank(x, 3, "x")
    try requireIndex(mask, "mask")
    try requireRank(mask, 2, "mask")
    try requireDim(mask.shape[0], equals: x.shape[0], "mask batch")
    try requireDim(mask.shape[1], equals: x.shape[1], "mask sequence")
    return [TensorType(x.dtype, Shape([x.shape[0], x.shape[2]]))]
}
