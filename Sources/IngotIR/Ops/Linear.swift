// Fused linear layers in the IR: `linear` (float), `linear_sparse` (CSR weights), `linear_int8`
// (int8 weights with group scales) and `linear_int8_packed` (int8 weights in the VNNI panel
// layout): the activation and int8 attribute types, textual and binary forms, type rules.
// Passes produce these ops; the products are in IngotRuntime and IngotKernels.

import IngotCore

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

/// The `activation` attribute of `linear` and `linear_sparse`: printed and parsed by name, stored as a u8 code.
private enum ActivationAttribute {
    static func printed(_ a: Activation) -> [(String, String)] { [("activation", a.name)] }
    static func parse(_ text: inout AttributeText) throws -> Activation { try text.named("activation", Activation.self, \.name) }
    static func decode(_ r: inout ByteReader, _ field: String) throws -> Activation { try r.enumCode(field + ".activation", Activation.self) }
}

extension Ops {
    /// linear(x[…, K], w[N, K][, bias[N]]) → […, N] = activation(x·wᵀ + bias), x's dtype (w may be block-quantized, x then f32).
    public enum Linear: OpDefinition {
        public typealias Attributes = Activation
        public static let code = OpCode.linear
        public static let names = ["linear"]
        public static let arity = 2...3
        public static let samples: [Op] = Activation.allCases.map { .linear(activation: $0) }

        public static func op(_ activation: Activation) -> Op { .linear(activation: activation) }
        public static func attributes(of op: Op) -> Activation? {
            if case .linear(let activation) = op { return activation }
            return nil
        }
        public static func printedAttributes(_ activation: Activation) -> [(String, String)] { ActivationAttribute.printed(activation) }
        public static func parseAttributes(name: String, _ text: inout AttributeText) throws -> Activation { try ActivationAttribute.parse(&text) }
        public static func encodeAttributes(_ activation: Activation, _ w: inout ByteWriter) { w.u8(activation.rawValue) }
        public static func decodeAttributes(_ r: inout ByteReader, _ field: String) throws -> Activation { try ActivationAttribute.decode(&r, field) }

        public static func outputTypes(_ activation: Activation, _ t: [TensorType]) throws -> [TensorType] {
            let (x, w) = (t[0], t[1])
            try requireFloat(x, "x")
            guard x.shape.rank >= 1 else { throw InferenceError("x must have rank ≥ 1") }
            try requireRank(w, 2, "weight")
            guard w.dtype == x.dtype || w.dtype.isBlockQuantized else { throw InferenceError("weight dtype \(w.dtype) differs from x dtype \(x.dtype)") }
            try requireBlockWeight(w, x: x, "weight", transposed: true)
            try requireDim(w.shape[1], equals: x.shape.dims[x.shape.rank - 1], "weight input dimension")
            if t.count == 3 {
                try requireRank(t[2], 1, "bias")
                try requireDim(t[2].shape[0], equals: w.shape[0], "bias length")
            }
            return [TensorType(x.dtype, replacingLast(x.shape, with: w.shape[0]))]
        }
    }

    /// linear_sparse(x[…, K] f32, values f32[nnz], columns i16[nnz], row_offsets i32[N+1][, bias f32[N]])
    /// → act(x · Wᵀ + bias) f32[…, N], W[N, K] in CSR: row n's nonzeros are
    /// values[row_offsets[n]..<row_offsets[n+1]] at those columns.
    public enum LinearSparse: OpDefinition {
        public typealias Attributes = Activation
        public static let code = OpCode.linearSparse
        public static let names = ["linear_sparse"]
        public static let arity = 4...5
        public static let samples: [Op] = [.linearSparse(activation: .geluTanh), .linearSparse(activation: .none)]

        public static func op(_ activation: Activation) -> Op { .linearSparse(activation: activation) }
        public static func attributes(of op: Op) -> Activation? {
            if case .linearSparse(let activation) = op { return activation }
            return nil
        }
        public static func printedAttributes(_ activation: Activation) -> [(String, String)] { ActivationAttribute.printed(activation) }
        public static func parseAttributes(name: String, _ text: inout AttributeText) throws -> Activation { try ActivationAttribute.parse(&text) }
        public static func encodeAttributes(_ activation: Activation, _ w: inout ByteWriter) { w.u8(activation.rawValue) }
        public static func decodeAttributes(_ r: inout ByteReader, _ field: String) throws -> Activation { try ActivationAttribute.decode(&r, field) }

        public static func outputTypes(_ activation: Activation, _ t: [TensorType]) throws -> [TensorType] {
            let (x, values, columns, offsets) = (t[0], t[1], t[2], t[3])
            guard x.dtype == .f32 else { throw InferenceError("x must be f32, got \(x.dtype)") }
            guard x.shape.rank >= 1 else { throw InferenceError("x must have rank ≥ 1") }
            guard values.dtype == .f32 else { throw InferenceError("values must be f32, got \(values.dtype)") }
            guard columns.dtype == .i16 else { throw InferenceError("columns must be i16, got \(columns.dtype)") }
            guard offsets.dtype == .i32 else { throw InferenceError("row_offsets must be i32, got \(offsets.dtype)") }
            for (v, what) in [(values, "values"), (columns, "columns"), (offsets, "row_offsets")] { try requireRank(v, 1, what) }
            try requireDim(columns.shape[0], equals: values.shape[0], "columns length")
            guard let rowsPlusOne = offsets.shape[0].fixedValue, rowsPlusOne >= 2 else {
                throw InferenceError("row_offsets must have a fixed length N + 1 ≥ 2, got \(offsets.shape)")
            }
            if let k = x.shape.dims.last?.fixedValue, k > Int(Int16.max) {
                throw InferenceError("input dimension \(k) exceeds the i16 column range (≤ \(Int16.max))")
            }
            if t.count == 5 {
                try requireRank(t[4], 1, "bias")
                try requireDim(t[4].shape[0], equals: .fixed(rowsPlusOne - 1), "bias length")
            }
            return [TensorType(.f32, replacingLast(x.shape, with: .fixed(rowsPlusOne - 1)))]
        }
    }

    /// linear_int8(x[…, K] f32, w[N, K] i8, scales[N, K/group] f32[, bias[N]][, smooth[K]]) → […, N] f32:
    /// activation(Σ_g scale_x·scales[n, g]·(q_x · w)_g + bias), q_x from x / smooth when smoothed.
    public enum LinearInt8: OpDefinition {
        public typealias Attributes = Int8LinearAttributes
        public static let code = OpCode.linearInt8
        public static let names = ["linear_int8"]
        public static let arity = 3...5
        public static let samples: [Op] = [
            .linearInt8(Int8LinearAttributes(group: 4, activation: .none, mode: .static, inputScale: 0.25, smoothed: false)),
            .linearInt8(Int8LinearAttributes(group: 32, activation: .gelu, mode: .dynamic, smoothed: true)),
            .linearInt8(Int8LinearAttributes(group: 64, activation: .silu, mode: .weightOnly)),
        ]

        public static func op(_ a: Int8LinearAttributes) -> Op { .linearInt8(a) }
        public static func attributes(of op: Op) -> Int8LinearAttributes? {
            if case .linearInt8(let a) = op { return a }
            return nil
        }
        public static func printedAttributes(_ a: Int8LinearAttributes) -> [(String, String)] {
            [("group", String(a.group)), ("activation", a.activation.name), ("mode", a.mode.name),
             ("input_scale", formatFloat(a.inputScale)), ("smoothed", String(a.smoothed))]
        }
        public static func parseAttributes(name: String, _ text: inout AttributeText) throws -> Int8LinearAttributes {
            Int8LinearAttributes(group: try text.int("group"), activation: try ActivationAttribute.parse(&text),
                                 mode: try text.named("mode", Int8ActivationMode.self, \.name),
                                 inputScale: try text.float("input_scale"), smoothed: try text.bool("smoothed"))
        }
        /// u32 group, u8 activation, u8 mode, f32 input_scale, u8 smoothed.
        public static func encodeAttributes(_ a: Int8LinearAttributes, _ w: inout ByteWriter) {
            w.u32(UInt32(a.group))
            w.u8(a.activation.rawValue)
            w.u8(a.mode.rawValue)
            w.f32(a.inputScale)
            w.u8(a.smoothed ? 1 : 0)
        }
        public static func decodeAttributes(_ r: inout ByteReader, _ field: String) throws -> Int8LinearAttributes {
            let group = try r.smallCount(field + ".group")
            let activation = try ActivationAttribute.decode(&r, field)
            let mode = try r.enumCode(field + ".mode", Int8ActivationMode.self)
            let scale = try r.f32(field + ".input_scale")
            let smoothed = try r.flag(field + ".smoothed")
            return Int8LinearAttributes(group: group, activation: activation, mode: mode, inputScale: scale, smoothed: smoothed)
        }

        public static func outputTypes(_ a: Int8LinearAttributes, _ t: [TensorType]) throws -> [TensorType] {
            let (x, w, scales) = (t[0], t[1], t[2])
            guard x.dtype == .f32 else { throw InferenceError("x must be f32, got \(x.dtype)") }
            guard x.shape.rank >= 1 else { throw InferenceError("x must have rank ≥ 1") }
            guard w.dtype == .i8 else { throw InferenceError("weight must be i8, got \(w.dtype)") }
            try requireRank(w, 2, "weight")
            try requireDim(w.shape[1], equals: x.shape.dims[x.shape.rank - 1], "weight input dimension")
            guard let k = w.shape[1].fixedValue, a.group > 0, k % a.group == 0 else {
                throw InferenceError("group \(a.group) must be positive and divide the input dimension \(w.shape[1])")
            }
            guard scales.dtype == .f32 else { throw InferenceError("scales must be f32, got \(scales.dtype)") }
            try requireRank(scales, 2, "scales")
            try requireDim(scales.shape[0], equals: w.shape[0], "scales rows")
            try requireDim(scales.shape[1], equals: .fixed(k / a.group), "scales groups")
            if a.mode == .static, !(a.inputScale > 0) || !a.inputScale.isFinite {
                throw InferenceError("static mode needs a positive finite input_scale, got \(a.inputScale)")
            }
            let biasCount = t.count - 3 - (a.smoothed ? 1 : 0)
            guard biasCount == 0 || biasCount == 1 else {
                throw InferenceError("takes x, weight, scales, an optional bias\(a.smoothed ? " and the smooth vector" : ""); got \(t.count) inputs")
            }
            if biasCount == 1 {
                guard t[3].dtype == .f32 else { throw InferenceError("bias must be f32, got \(t[3].dtype)") }
                try requireRank(t[3], 1, "bias")
                try requireDim(t[3].shape[0], equals: w.shape[0], "bias length")
            }
            if a.smoothed {
                let s = t[t.count - 1]
                guard s.dtype == .f32 else { throw InferenceError("smooth must be f32, got \(s.dtype)") }
                try requireRank(s, 1, "smooth")
                try requireDim(s.shape[0], equals: w.shape[1], "smooth length")
            }
            return [TensorType(.f32, replacingLast(x.shape, with: w.shape[0]))]
        }
    }

    /// linear_int8_packed(x[…, K] f32, w i8[⌈N/16⌉, ⌈K/4⌉, 64], scales f32[N], colsums i32[N][, bias f32[N]][, smooth f32[K]])
    /// → […, N] f32 = activation(scale_x·scales[n]·(Σ_k q_x[k]·w[n, k] − zero_x·colsums[n]) + bias[n]): weights
    /// in the packed layout (`PackedInt8Layout`), activations asymmetric per row (x ≈ scale_x·(q_x − zero_x)),
    /// from x / smooth when smoothed: input_bits 8 → q_x in 0...255 and |w| ≤ 63; 7 → 0...127 and |w| ≤ 127.
    public enum LinearInt8Packed: OpDefinition {
        public typealias Attributes = PackedLinearAttributes
        public static let code = OpCode.linearInt8Packed
        public static let names = ["linear_int8_packed"]
        public static let arity = 4...6
        public static let samples: [Op] = [
            .linearInt8Packed(PackedLinearAttributes(activation: .silu, inputBits: 7, smoothed: true)),
            .linearInt8Packed(PackedLinearAttributes(activation: .none, inputBits: 8, smoothed: false)),
        ]

        public static func op(_ a: PackedLinearAttributes) -> Op { .linearInt8Packed(a) }
        public static func attributes(of op: Op) -> PackedLinearAttributes? {
            if case .linearInt8Packed(let a) = op { return a }
            return nil
        }
        public static func printedAttributes(_ a: PackedLinearAttributes) -> [(String, String)] {
            [("activation", a.activation.name), ("input_bits", String(a.inputBits)), ("smoothed", String(a.smoothed))]
        }
        public static func parseAttributes(name: String, _ text: inout AttributeText) throws -> PackedLinearAttributes {
            PackedLinearAttributes(activation: try ActivationAttribute.parse(&text), inputBits: try text.int("input_bits"),
                                   smoothed: try text.bool("smoothed"))
        }
        /// u8 activation, u8 input_bits, u8 smoothed.
        public static func encodeAttributes(_ a: PackedLinearAttributes, _ w: inout ByteWriter) {
            w.u8(a.activation.rawValue)
            w.u8(UInt8(clamping: a.inputBits))
            w.u8(a.smoothed ? 1 : 0)
        }
        public static func decodeAttributes(_ r: inout ByteReader, _ field: String) throws -> PackedLinearAttributes {
            let activation = try ActivationAttribute.decode(&r, field)
            let bits = try r.u8(field + ".input_bits")
            guard PackedInt8Layout.inputBitsAllowed.contains(Int(bits)) else {
                throw IngotError.badField(file: r.file, field + ".input_bits", seen: String(bits), expected: "7 or 8")
            }
            let smoothed = try r.flag(field + ".smoothed")
            return PackedLinearAttributes(activation: activation, inputBits: Int(bits), smoothed: smoothed)
        }

        public static func outputTypes(_ attributes: PackedLinearAttributes, _ t: [TensorType]) throws -> [TensorType] {
            let (bits, smoothed) = (attributes.inputBits, attributes.smoothed)
            guard PackedInt8Layout.inputBitsAllowed.contains(bits) else { throw InferenceError("input_bits must be 7 or 8, got \(bits)") }
            let (x, w, scales, colsums) = (t[0], t[1], t[2], t[3])
            guard x.dtype == .f32 else { throw InferenceError("x must be f32, got \(x.dtype)") }
            guard x.shape.rank >= 1, let k = x.shape.dims[x.shape.rank - 1].fixedValue else {
                throw InferenceError("x must have rank ≥ 1 and a fixed last dimension, got \(x.shape)")
            }
            guard k >= 1, k <= PackedInt8Layout.maxInputs else {
                throw InferenceError("input dimension \(k) is outside 1...\(PackedInt8Layout.maxInputs)")
            }
            guard scales.dtype == .f32 else { throw InferenceError("scales must be f32, got \(scales.dtype)") }
            try requireRank(scales, 1, "scales")
            guard let n = scales.shape[0].fixedValue, n >= 1 else { throw InferenceError("scales must have a fixed length N ≥ 1, got \(scales.shape)") }
            guard w.dtype == .i8 else { throw InferenceError("weight must be i8, got \(w.dtype)") }
            let expected = PackedInt8Layout.shape(outputs: n, inputs: k)
            guard w.shape.fixedSizes == expected else {
                throw InferenceError("packed weight shape must be \(expected) for N \(n) and K \(k), got \(w.shape)")
            }
            guard colsums.dtype == .i32 else { throw InferenceError("colsums must be i32, got \(colsums.dtype)") }
            try requireRank(colsums, 1, "colsums")
            try requireDim(colsums.shape[0], equals: .fixed(n), "colsums length")
            let biasCount = t.count - 4 - (smoothed ? 1 : 0)
            guard biasCount == 0 || biasCount == 1 else {
                throw InferenceError("takes x, weight, scales, colsums, an optional bias\(smoothed ? " and the smooth vector" : ""); got \(t.count) inputs")
            }
            if biasCount == 1 {
                guard t[4].dtype == .f32 else { throw InferenceError("bias must be f32, got \(t[4].dtype)") }
                try requireRank(t[4], 1, "bias")
                try requireDim(t[4].shape[0], equals: .fixed(n), "bias length")
            }
            if smoothed {
                let s = t[t.count - 1]
                guard s.dtype == .f32 else { throw InferenceError("smooth must be f32, got \(s.dtype)") }
                try requireRank(s, 1, "smooth")
                try requireDim(s.shape[0], equals: .fixed(k), "smooth length")
            }
            return [TensorType(.f32, replacingLast(x.shape, with: .fixed(n)))]
        }
    }
}
