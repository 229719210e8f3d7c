// Normalizations in the IR: layer_norm, rms_norm, their fused add_* forms (which also return
// the sum), softmax and l2_normalize along an axis: attributes, textual and binary forms,
// type rules. Kernels are in IngotRuntime and IngotKernels.

import IngotCore

/// The epsilon attribute of the norms: printed, parsed and stored as one f32.
private enum EpsilonAttribute {
    static func printed(_ epsilon: Float) -> [(String, String)] { [("epsilon", formatFloat(epsilon))] }
    static func parse(_ text: inout AttributeText) throws -> Float { try text.float("epsilon") }
    static func decode(_ r: inout ByteReader, _ field: String) throws -> Float { try r.f32(field + ".epsilon") }
}

/// add_layer_norm(a, b, params[H]…) and add_rms_norm: a and b of one type [… , H], each parameter [H];
/// → (norm, sum), both of a's type.
private func addNormOutputTypes(_ t: [TensorType]) throws -> [TensorType] {
    let (a, b) = (t[0], t[1])
    try requireFloat(a, "a")
    guard a == b else { throw InferenceError("a \(a) and b \(b) differ") }
    guard let h = a.shape.dims.last else { throw InferenceError("a must have rank ≥ 1") }
    for i in 2..<t.count {
        try requireRank(t[i], 1, "parameter \(i)")
        try requireDim(t[i].shape[0], equals: h, "parameter \(i) length")
    }
    return [a, a]
}

extension Ops {
    /// layer_norm(x[…, H], gamma[H], beta[H]) → x's type.
    public enum LayerNorm: OpDefinition {
        public typealias Attributes = Float
        public static let code = OpCode.layerNorm
        public static let names = ["layer_norm"]
        public static let arity = 3...3
        public static let samples: [Op] = [.layerNorm(epsilon: 1e-12)]

        public static func op(_ epsilon: Float) -> Op { .layerNorm(epsilon: epsilon) }
        public static func attributes(of op: Op) -> Float? {
            if case .layerNorm(let epsilon) = op { return epsilon }
            return nil
        }
        public static func printedAttributes(_ epsilon: Float) -> [(String, String)] { EpsilonAttribute.printed(epsilon) }
        public static func parseAttributes(name: String, _ text: inout AttributeText) throws -> Float { try EpsilonAttribute.parse(&text) }
        public static func encodeAttributes(_ epsilon: Float, _ w: inout ByteWriter) { w.f32(epsilon) }
        public static func decodeAttributes(_ r: inout ByteReader, _ field: String) throws -> Float { try EpsilonAttribute.decode(&r, field) }

        public static func outputTypes(_ epsilon: Float, _ t: [TensorType]) throws -> [TensorType] {
            try requireFloat(t[0], "x")
            guard let h = t[0].shape.dims.last else { throw InferenceError("x must have rank ≥ 1") }
            for (i, what) in [(1, "gamma"), (2, "beta")] {
                try requireRank(t[i], 1, what)
                try requireDim(t[i].shape[0], equals: h, "\(what) length")
            }
            return [t[0]]
        }
    }

    /// rms_norm(x[…, H], weight[H]) → x's type.
    public enum RMSNorm: OpDefinition {
        public typealias Attributes = Float
        public static let code = OpCode.rmsNorm
        public static let names = ["rms_norm"]
        public static let arity = 2...2
        public static let samples: [Op] = [.rmsNorm(epsilon: 1e-6)]

        public static func op(_ epsilon: Float) -> Op { .rmsNorm(epsilon: epsilon) }
        public static func attributes(of op: Op) -> Float? {
            if case .rmsNorm(let epsilon) = op { return epsilon }
            return nil
        }
        public static func printedAttributes(_ epsilon: Float) -> [(String, String)] { EpsilonAttribute.printed(epsilon) }
        public static func parseAttributes(name: String, _ text: inout AttributeText) throws -> Float { try EpsilonAttribute.parse(&text) }
        public static func encodeAttributes(_ epsilon: Float, _ w: inout ByteWriter) { w.f32(epsilon) }
        public static func decodeAttributes(_ r: inout ByteReader, _ field: String) throws -> Float { try EpsilonAttribute.decode(&r, field) }

        public static func outputTypes(_ epsilon: Float, _ t: [TensorType]) throws -> [TensorType] {
            try requireFloat(t[0], "x")
            guard let h = t[0].shape.dims.last else { throw InferenceError("x must have rank ≥ 1") }
            try requireRank(t[1], 1, "weight")
            try requireDim(t[1].shape[0], equals: h, "weight length")
            return [t[0]]
        }
    }

    /// add_layer_norm(a, b, gamma[H], beta[H]) → (layer_norm(a + b), a + b).
    public enum AddLayerNorm: OpDefinition {
        public typealias Attributes = Float
        public static let code = OpCode.addLayerNorm
        public static let names = ["add_layer_norm"]
        public static let arity = 4...4
        public static let samples: [Op] = [.addLayerNorm(epsilon: 1e-12)]

        public static func op(_ epsilon: Float) -> Op { .addLayerNorm(epsilon: epsilon) }
        public static func attributes(of op: Op) -> Float? {
            if case .addLayerNorm(let epsilon) = op { return epsilon }
            return nil
        }
        public static func printedAttributes(_ epsilon: Float) -> [(String, String)] { EpsilonAttribute.printed(epsilon) }
        public static func parseAttributes(name: String, _ text: inout AttributeText) throws -> Float { try EpsilonAttribute.parse(&text) }
        public static func encodeAttributes(_ epsilon: Float, _ w: inout ByteWriter) { w.f32(epsilon) }
        public static func decodeAttributes(_ r: inout ByteReader, _ field: String) throws -> Float { try EpsilonAttribute.decode(&r, field) }

        public static func outputTypes(_ epsilon: Float, _ t: [TensorType]) throws -> [TensorType] { try addNormOutputTypes(t) }
    }

    /// add_rms_norm(a, b, weight[H]) → (rms_norm(a + b), a + b).
    public enum AddRMSNorm: OpDefinition {
        public typealias Attributes = Float
        public static let code = OpCode.addRMSNorm
        public static let names = ["add_rms_norm"]
        public static let arity = 3...3
        public static let samples: [Op] = [.addRMSNorm(epsilon: 1e-6)]

        public static func op(_ epsilon: Float) -> Op { .addRMSNorm(epsilon: epsilon) }
        public static func attributes(of op: Op) -> Float? {
            if case .addRMSNorm(let epsilon) = op { return epsilon }
            return nil
        }
        public static func printedAttributes(_ epsilon: Float) -> [(String, String)] { EpsilonAttribute.printed(epsilon) }
        public static func parseAttributes(name: String, _ text: inout AttributeText) throws -> Float { try EpsilonAttribute.parse(&text) }
        public static func encodeAttributes(_ epsilon: Float, _ w: inout ByteWriter) { w.f32(epsilon) }
        public static func decodeAttributes(_ r: inout ByteReader, _ field: String) throws -> Float { try EpsilonAttribute.decode(&r, field) }

        public static func outputTypes(_ epsilon: Float, _ t: [TensorType]) throws -> [TensorType] { try addNormOutputTypes(t) }
    }

    /// softmax(x) along axis → x's type.
    public enum Softmax: OpDefinition {
        /// The axis, negative counting from the end.
        public typealias Attributes = Int
        public static let code = OpCode.softmax
        public static let names = ["softmax"]
        public static let arity = 1...1
        public static let samples: [Op] = [.softmax(axis: -1), .softmax(axis: 2)]

        public static func op(_ axis: Int) -> Op { .softmax(axis: axis) }
        public static func attributes(of op: Op) -> Int? {
            if case .softmax(let axis) = op { return axis }
            return nil
        }
        public static func printedAttributes(_ axis: Int) -> [(String, String)] { [("axis", String(axis))] }
        public static func parseAttributes(name: String, _ text: inout AttributeText) throws -> Int { try text.int("axis") }
        public static func encodeAttributes(_ axis: Int, _ w: inout ByteWriter) { w.i32(Int32(axis)) }
        public static func decodeAttributes(_ r: inout ByteReader, _ field: String) throws -> Int { Int(try r.i32(field + ".axis")) }

        public static func outputTypes(_ axis: Int, _ t: [TensorType]) throws -> [TensorType] {
            try requireFloat(t[0], "input")
            _ = try normalizedAxis(axis, rank: t[0].shape.rank)
            return [t[0]]
        }
    }

    /// l2_normalize(x) = x / max(‖x‖₂, ε) along axis → x's type.
    public enum L2Normalize: OpDefinition {
        public typealias Attributes = (axis: Int, epsilon: Float)
        public static let code = OpCode.l2Normalize
        public static let names = ["l2_normalize"]
        public static let arity = 1...1
        public static let samples: [Op] = [.l2Normalize(axis: -1, epsilon: 1e-12)]

        public static func op(_ a: Attributes) -> Op { .l2Normalize(axis: a.axis, epsilon: a.epsilon) }
        public static func attributes(of op: Op) -> Attributes? {
            if case .l2Normalize(let axis, let epsilon) = op { return (axis, epsilon) }
            return nil
        }
        public static func printedAttributes(_ a: Attributes) -> [(String, String)] {
            [("axis", String(a.axis)), ("epsilon", formatFloat(a.epsilon))]
        }
        public static func parseAttributes(name: String, _ text: inout AttributeText) throws -> Attributes {
            (try text.int("axis"), try text.float("epsilon"))
        }
        public static func encodeAttributes(_ a: Attributes, _ w: inout ByteWriter) {
            w.i32(Int32(a.axis))
            w.f32(a.epsilon)
        }
        public static func decodeAttributes(_ r: inout ByteReader, _ field: String) throws -> Attributes {
            let axis = Int(try r.i32(field + ".axis"))
            return (axis, try r.f32(field + ".epsilon"))
        }

        public static func outputTypes(_ a: Attributes, _ t: [TensorType]) throws -> [TensorType] {
            try requireFloat(t[0], "input")
            _ = try normalizedAxis(a.axis, rank: t[0].shape.rank)
            return [t[0]]
        }
    }
}
