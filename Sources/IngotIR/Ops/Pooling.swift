// Pooling in the IR: `mean_pool`'s type rule (it has no attributes). The pooling itself is
// in IngotRuntime.

import IngotCore

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
            let (x, mask) = (t[0], t[1])
            try requireFloat(x, "x")
            try requireRank(x, 3, "x")
            try requireIndex(mask, "mask")
            try requireRank(mask, 2, "mask")
            try requireDim(mask.shape[0], equals: x.shape[0], "mask batch")
            try requireDim(mask.shape[1], equals: x.shape[1], "mask sequence")
            return [TensorType(x.dtype, Shape([x.shape[0], x.shape[2]]))]
        }
    }
}
