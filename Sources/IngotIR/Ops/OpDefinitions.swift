// OpDefinitions: the op registry. `OpDefinition` is everything one op kind states in the IR
// (textual names, binary code, arity, attribute text and bytes, type rule); each kind's
// definition is a caseless type `Ops.X` in its family file under Ops/. `Op.definition` maps a
// case to its kind and `OpCode` lists every kind, so the printer, parser, codec and verifier
// look ops up here instead of switching over them. The runtime and autodiff attach lowering
// and gradients to the same `Ops.X` types by conformance in their own modules. No op's rule
// lives here.
//
// A new op: its definition in a family file, and in Op.swift a case in `Op`, a line in
// `Op.definition` and a case plus a line in `OpCode` (the compiler asks for each in turn).

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
