// Elementwise ops in the IR: add/sub/mul/div (one binary code with a kind), gelu, silu, tanh,
// swiglu and cast: attributes, textual and binary forms, type rules. Kernels are in
// IngotRuntime and IngotKernels.

import IngotCore

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

extension Ops {
    /// add/sub/mul/div(a, b) → broadcast shape: same dtype, numpy broadcasting (`Shape.broadcast`).
    public enum Binary: OpDefinition {
        public typealias Attributes = BinaryKind
        public static let code = OpCode.binary
        public static let names = BinaryKind.allCases.map(\.name)
        public static let arity = 2...2
        public static let samples: [Op] = BinaryKind.allCases.map { .binary($0) }

        public static func op(_ kind: BinaryKind) -> Op { .binary(kind) }
        public static func attributes(of op: Op) -> BinaryKind? {
            if case .binary(let kind) = op { return kind }
            return nil
        }
        public static func name(_ kind: BinaryKind) -> String { kind.name }
        public static func printedAttributes(_ kind: BinaryKind) -> [(String, String)] { [] }
        public static func parseAttributes(name: String, _ text: inout AttributeText) throws -> BinaryKind {
            guard let kind = BinaryKind.allCases.first(where: { $0.name == name }) else { throw AttributeProblem("unknown op") }
            return kind
        }
        public static func encodeAttributes(_ kind: BinaryKind, _ w: inout ByteWriter) { w.u8(kind.rawValue) }
        public static func decodeAttributes(_ r: inout ByteReader, _ field: String) throws -> BinaryKind {
            try r.enumCode(field + ".kind", BinaryKind.self)
        }

        public static func outputTypes(_ kind: BinaryKind, _ t: [TensorType]) throws -> [TensorType] {
            guard t[0].dtype == t[1].dtype else { throw InferenceError("dtypes differ: \(t[0].dtype) vs \(t[1].dtype)") }
            return [TensorType(t[0].dtype, try broadcast(t[0].shape, t[1].shape))]
        }
    }

    /// gelu(x) → x's type.
    public enum GELU: OpDefinition {
        public typealias Attributes = GELUApproximation
        public static let code = OpCode.gelu
        public static let names = ["gelu"]
        public static let arity = 1...1
        public static let samples: [Op] = GELUApproximation.allCases.map { .gelu($0) }

        public static func op(_ approximation: GELUApproximation) -> Op { .gelu(approximation) }
        public static func attributes(of op: Op) -> GELUApproximation? {
            if case .gelu(let approximation) = op { return approximation }
            return nil
        }
        public static func printedAttributes(_ approximation: GELUApproximation) -> [(String, String)] {
            [("approximation", approximation.name)]
        }
        public static func parseAttributes(name: String, _ text: inout AttributeText) throws -> GELUApproximation {
            try text.named("approximation", GELUApproximation.self, \.name)
        }
        public static func encodeAttributes(_ approximation: GELUApproximation, _ w: inout ByteWriter) { w.u8(approximation.rawValue) }
        public static func decodeAttributes(_ r: inout ByteReader, _ field: String) throws -> GELUApproximation {
            try r.enumCode(field + ".approximation", GELUApproximation.self)
        }

        public static func outputTypes(_ approximation: GELUApproximation, _ t: [TensorType]) throws -> [TensorType] {
            try requireFloat(t[0], "input")
            return [t[0]]
        }
    }

    /// silu(x) = x·σ(x) → x's type.
    public enum SiLU: OpDefinition {
        public typealias Attributes = Void
        public static let code = OpCode.silu
        public static let names = ["silu"]
        public static let arity = 1...1
        public static let samples: [Op] = [.silu]

        public static func op(_: Void) -> Op { .silu }
        public static func attributes(of op: Op) -> Void? {
            if case .silu = op { return () }
            return nil
        }

        public static func outputTypes(_: Void, _ t: [TensorType]) throws -> [TensorType] {
            try requireFloat(t[0], "input")
            return [t[0]]
        }
    }

    /// tanh(x) → x's type (a sentence-transformers Dense layer's default activation).
    public enum Tanh: OpDefinition {
        public typealias Attributes = Void
        public static let code = OpCode.tanh
        public static let names = ["tanh"]
        public static let arity = 1...1
        public static let samples: [Op] = [.tanh]

        public static func op(_: Void) -> Op { .tanh }
        public static func attributes(of op: Op) -> Void? {
            if case .tanh = op { return () }
            return nil
        }

        public static func outputTypes(_: Void, _ t: [TensorType]) throws -> [TensorType] {
            try requireFloat(t[0], "input")
            return [t[0]]
        }
    }

    /// swiglu(x[…, 2I]) → […, I] = silu(x[…, :I]) · x[…, I:].
    public enum SwiGLU: OpDefinition {
        public typealias Attributes = Void
        public static let code = OpCode.swiglu
        public static let names = ["swiglu"]
        public static let arity = 1...1
        public static let samples: [Op] = [.swiglu]

        public static func op(_: Void) -> Op { .swiglu }
        public static func attributes(of op: Op) -> Void? {
            if case .swiglu = op { return () }
            return nil
        }

        public static func outputTypes(_: Void, _ t: [TensorType]) throws -> [TensorType] {
            try requireFloat(t[0], "x")
            guard let last = t[0].shape.dims.last, let n = last.fixedValue, n % 2 == 0 else {
                throw InferenceError("last dimension must be fixed and even, got \(t[0].shape)")
            }
            return [TensorType(t[0].dtype, replacingLast(t[0].shape, with: .fixed(n / 2)))]
        }
    }

    /// cast(x) → x's shape in dtype `to`.
    public enum Cast: OpDefinition {
        public typealias Attributes = DType
        public static let code = OpCode.cast
        public static let names = ["cast"]
        public static let arity = 1...1
        public static let samples: [Op] = [.cast(.f16), .cast(.i32)]

        public static func op(_ to: DType) -> Op { .cast(to) }
        public static func attributes(of op: Op) -> DType? {
            if case .cast(let to) = op { return to }
            return nil
        }
        public static func printedAttributes(_ to: DType) -> [(String, String)] { [("to", to.description)] }
        public static func parseAttributes(name: String, _ text: inout AttributeText) throws -> DType {
            try text.named("to", DType.self, \.description)
        }
        public static func encodeAttributes(_ to: DType, _ w: inout ByteWriter) { w.u8(to.rawValue) }
        public static func decodeAttributes(_ r: inout ByteReader, _ field: String) throws -> DType {
            try GraphCodec.readDType(&r, field + ".to")
        }

        public static func outputTypes(_ to: DType, _ t: [TensorType]) throws -> [TensorType] {
            [TensorType(to, t[0].shape)]
        }
    }
}
