// OpDefinitions: the op registry. `OpDefinition` is everything one op kind states in the IR
// (textual names, binary code, arity, attribute text and bytes, type rule); each kind's
// definition is a caseless type `Ops.X` in its family file under Ops/. `Op.definition` maps a
// case to its kind and `OpCode` lists every kind, so the printer, parser, codec and verifier
// look ops up here instead of switching over them. The runtime and autodiff attach lowering
// and gradients to the same `Ops.X` types by conformance in their own modules. No op's rule
// lives here.
//
// A new op: its definition in a family file, a case in `Op`, a line in `Op.definition`, and a
// case plus a line in `OpCode` (the compiler asks for each in turn).

import IngotCore

/// An op kind's IR facts. The printer, parser, codec and verifier reach them through
/// `Op.definition` (from an op) or `OpCode` (from a name or a binary code).
public protocol OpDefinition {
    /// What the kind's `Op` case carries (Void when nothing).
    associatedtype Attributes
    /// Its code in the binary graph encoding (Formats/ops.md, "Binary form"); never reused.
    static var code: OpCode { get }
    /// Its textual names; several when one code covers several ops (add, sub, mul, div).
    static var names: [String] { get }
    /// Allowed input counts.
    static var arity: ClosedRange<Int> { get }
    /// Ops of this kind covering every name; tests round-trip each through text and bytes.
    static var samples: [Op] { get }

    static func op(_ attributes: Attributes) -> Op
    /// The attributes of `op` when it is of this kind, else nil.
    static func attributes(of op: Op) -> Attributes?
    /// The textual name of an op with these attributes (default: the only name).
    static func name(_ attributes: Attributes) -> String
    /// (key, printed value) in textual-IR order; empty for ops without attributes.
    static func printedAttributes(_ attributes: Attributes) -> [(String, String)]
    /// Attributes read from the textual `{key = value, …}` list; `name` is one of `names`.
    static func parseAttributes(name: String, _ text: inout AttributeText) throws -> Attributes
    /// The attribute bytes after the op code.
    static func encodeAttributes(_ attributes: Attributes, _ w: inout ByteWriter)
    /// The attribute bytes after the op code, each value checked; `field` names the node.
    static func decodeAttributes(_ r: inout ByteReader, _ field: String) throws -> Attributes
    /// Output types from input types whose count is within `arity`; throws InferenceError.
    /// This is also the verifier's rule for the op.
    static func outputTypes(_ attributes: Attributes, _ inputs: [TensorType]) throws -> [TensorType]
}

extension OpDefinition {
    public static func name(_ attributes: Attributes) -> String { names[0] }
}

extension OpDefinition where Attributes == Void {
    public static func printedAttributes(_ attributes: Void) -> [(String, String)] { [] }
    public static func parseAttributes(name: String, _ text: inout AttributeText) throws {}
    public static func encodeAttributes(_ attributes: Void, _ w: inout ByteWriter) {}
    public static func decodeAttributes(_ r: inout ByteReader, _ field: String) throws {}
}

// The same facts taking an `Op`, for callers holding `any OpDefinition.Type`.
extension OpDefinition {
    /// The attributes of an op that `Op.definition` maps to this kind.
    static func unwrap(_ op: Op) -> Attributes {
        guard let a = attributes(of: op) else { preconditionFailure("Op.definition maps \(op) to \(Self.self), which does not hold it") }
        return a
    }

    static func name(of op: Op) -> String { name(unwrap(op)) }
    static func printedAttributes(of op: Op) -> [(String, String)] { printedAttributes(unwrap(op)) }
    static func encode(_ op: Op, _ w: inout ByteWriter) { encodeAttributes(unwrap(op), &w) }
    static func outputTypes(of op: Op, _ inputs: [TensorType]) throws -> [TensorType] { try outputTypes(unwrap(op), inputs) }
    static func parseOp(name: String, _ text: inout AttributeText) throws -> Op { op(try parseAttributes(name: name, &text)) }
    static func decodeOp(_ r: inout ByteReader, _ field: String) throws -> Op { op(try decodeAttributes(&r, field)) }
}

/// Op kinds by binary code: the list of every definition.
public enum OpCode: UInt16, CaseIterable, Sendable {
    case gather = 1, matmul = 2, binary = 3, gelu = 4, silu = 5, layerNorm = 6, rmsNorm = 7, rope = 8,
         softmax = 9, attention = 10, reshape = 11, transpose = 12, slice = 13, concat = 14, meanPool = 15,
         l2Normalize = 16, cast = 17, linear = 18, linearInt8 = 19, swiglu = 20, addLayerNorm = 21,
         addRMSNorm = 22, split = 23, gatherInt8 = 24, linearSparse = 25, linearInt8Packed = 26

    public var definition: any OpDefinition.Type {
        switch self {
        case .gather: return Ops.Gather.self
        case .matmul: return Ops.MatMul.self
        case .binary: return Ops.Binary.self
        case .gelu: return Ops.GELU.self
        case .silu: return Ops.SiLU.self
        case .layerNorm: return Ops.LayerNorm.self
        case .rmsNorm: return Ops.RMSNorm.self
        case .rope: return Ops.Rope.self
        case .softmax: return Ops.Softmax.self
        case .attention: return Ops.Attention.self
        case .reshape: return Ops.Reshape.self
        case .transpose: return Ops.Transpose.self
        case .slice: return Ops.Slice.self
        case .concat: return Ops.Concat.self
        case .meanPool: return Ops.MeanPool.self
        case .l2Normalize: return Ops.L2Normalize.self
        case .cast: return Ops.Cast.self
        case .linear: return Ops.Linear.self
        case .linearInt8: return Ops.LinearInt8.self
        case .swiglu: return Ops.SwiGLU.self
        case .addLayerNorm: return Ops.AddLayerNorm.self
        case .addRMSNorm: return Ops.AddRMSNorm.self
        case .split: return Ops.Split.self
        case .gatherInt8: return Ops.GatherInt8.self
        case .linearSparse: return Ops.LinearSparse.self
        case .linearInt8Packed: return Ops.LinearInt8Packed.self
        }
    }

    /// The largest code in use.
    static let highest: UInt16 = allCases.map(\.rawValue).max() ?? 0
}

/// Namespace of the op kinds' definition types (declared in the family files).
public enum Ops {
    /// Every definition, in code order.
    public static let all: [any OpDefinition.Type] = OpCode.allCases.map(\.definition)

    /// Definitions by textual name.
    static let byName: [String: any OpDefinition.Type] = {
        var table: [String: any OpDefinition.Type] = [:]
        for d in all { for n in d.names { table[n] = d } }
        return table
    }()

    /// The definition printing ops as `name`, if any.
    public static func definition(named name: String) -> (any OpDefinition.Type)? { byName[name] }

    /// The definition with binary code `code`, if any.
    public static func definition(code: UInt16) -> (any OpDefinition.Type)? { OpCode(rawValue: code)?.definition }
}

extension Op {
    /// The op kind's definition type: the one switch from cases to definitions.
    public var definition: any OpDefinition.Type {
        switch self {
        case .gather: return Ops.Gather.self
        case .matmul: return Ops.MatMul.self
        case .binary: return Ops.Binary.self
        case .gelu: return Ops.GELU.self
        case .silu: return Ops.SiLU.self
        case .layerNorm: return Ops.LayerNorm.self
        case .rmsNorm: return Ops.RMSNorm.self
        case .rope: return Ops.Rope.self
        case .softmax: return Ops.Softmax.self
        case .attention: return Ops.Attention.self
        case .reshape: return Ops.Reshape.self
        case .transpose: return Ops.Transpose.self
        case .slice: return Ops.Slice.self
        case .concat: return Ops.Concat.self
        case .meanPool: return Ops.MeanPool.self
        case .l2Normalize: return Ops.L2Normalize.self
        case .cast: return Ops.Cast.self
        case .linear: return Ops.Linear.self
        case .linearInt8: return Ops.LinearInt8.self
        case .gatherInt8: return Ops.GatherInt8.self
        case .swiglu: return Ops.SwiGLU.self
        case .addLayerNorm: return Ops.AddLayerNorm.self
        case .addRMSNorm: return Ops.AddRMSNorm.self
        case .split: return Ops.Split.self
        case .linearSparse: return Ops.LinearSparse.self
        case .linearInt8Packed: return Ops.LinearInt8Packed.self
        }
    }

    /// The op's name in the textual IR.
    public var name: String { definition.name(of: self) }

    /// Allowed input counts.
    public var arity: ClosedRange<Int> { definition.arity }

    /// Attributes in textual-IR order: (name, printed value). Empty for ops without attributes.
    public var attributes: [(String, String)] { definition.printedAttributes(of: self) }
}
