// Matrix products in the IR: `matmul`, shared (rank-2 b) or batched (b of a's rank):
// attributes, textual and binary forms, type rule. The fused linear layers are in
// Linear.swift; the products themselves in IngotRuntime and IngotKernels.

import IngotCore

extension Ops {
    /// matmul(a[…, M, K], b) → […, M, N] with b[K, N], or b[N, K] when transposeB (weights as [out, in]);
    /// or batched, b[…, K, N] / b[…, N, K] with the same leading dimensions as a (q·kᵀ per head).
    public enum MatMul: OpDefinition {
        /// transpose_b.
        public typealias Attributes = Bool
        public static let code = OpCode.matmul
        public static let names = ["matmul"]
        public static let arity = 2...2
        public static let samples: [Op] = [.matmul(transposeB: false), .matmul(transposeB: true)]

        public static func op(_ transposeB: Bool) -> Op { .matmul(transposeB: transposeB) }
        public static func attributes(of op: Op) -> Bool? {
            if case .matmul(let transposeB) = op { return transposeB }
            return nil
        }
        public static func printedAttributes(_ transposeB: Bool) -> [(String, String)] { [("transpose_b", String(transposeB))] }
        public static func parseAttributes(name: String, _ text: inout AttributeText) throws -> Bool { try text.bool("transpose_b") }
        public static func encodeAttributes(_ transposeB: Bool, _ w: inout ByteWriter) { w.u8(transposeB ? 1 : 0) }
        public static func decodeAttributes(_ r: inout ByteReader, _ field: String) throws -> Bool { try r.flag(field + ".transpose_b") }

        public static func outputTypes(_ transposeB: Bool, _ t: [TensorType]) throws -> [TensorType] {
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
            try requireBlockWeight(b, x: a, "b", transposed: transposeB)
            return [TensorType(a.dtype, replacingLast(a.shape, with: bn))]
        }
    }
}

/// A block-quantized weight (Formats/ingot-v1.md, "Block-quantized dtypes") multiplies f32
/// rows only, as a rank-2 [N, K] matrix used transposed, K a multiple of its block. No-op for
/// other dtypes.
func requireBlockWeight(_ w: TensorType, x: TensorType, _ what: String, transposed: Bool) throws {
    guard w.dtype.isBlockQuantized else { return }
    guard x.dtype == .f32 else { throw InferenceError("a \(w.dtype) \(what) needs f32 input, got \(x.dtype)") }
    guard transposed, w.shape.rank == 2 else {
        throw InferenceError("a \(w.dtype) \(what) must be a rank-2 [N, K] weight used transposed, got \(w.shape)")
    }
    guard let k = w.shape[1].fixedValue, k % w.dtype.blockSize == 0 else {
        throw InferenceError("a \(w.dtype) \(what) needs a fixed input dimension that is a multiple of \(w.dtype.blockSize), got \(w.shape[1])")
    }
}
