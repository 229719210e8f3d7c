// OpSupport: the small helpers op definitions share: the type checks of shape rules (dtype,
// rank, dimension, axis), the textual attribute reader of the parser and the binary attribute
// readers of the codec, each naming what is wrong. No op's rule lives here.

import IngotCore

/// A shape rule's complaint; `inferOutputTypes` prefixes the op and its input types.
struct InferenceError: Error {
    let message: String
    init(_ message: String) { self.message = message }
}

func isIndexType(_ d: DType) -> Bool { d == .i32 || d == .i64 }

func requireFloat(_ t: TensorType, _ what: String) throws {
    guard t.dtype.isFloatingPoint else { throw InferenceError("\(what) must be floating point, got \(t.dtype)") }
}

func requireIndex(_ t: TensorType, _ what: String) throws {
    guard isIndexType(t.dtype) else { throw InferenceError("\(what) must be i32 or i64, got \(t.dtype)") }
}

func requireRank(_ t: TensorType, _ rank: Int, _ what: String) throws {
    guard t.shape.rank == rank else { throw InferenceError("\(what) must have rank \(rank), got \(t.shape)") }
}

/// Two dimensions that must be the same size.
func requireDim(_ d: Dim, equals expected: Dim, _ what: String) throws {
    guard d == expected else { throw InferenceError("\(what) is \(d), expected \(expected)") }
}

/// `axis` in 0..<rank, negative axes counting from the end.
func normalizedAxis(_ axis: Int, rank: Int) throws -> Int {
    let a = axis < 0 ? axis + rank : axis
    guard a >= 0, a < rank else { throw InferenceError("axis \(axis) out of range for rank \(rank)") }
    return a
}

/// `shape` with its last dimension replaced by `last`: […, K] → […, last].
func replacingLast(_ shape: Shape, with last: Dim) -> Shape {
    Shape(Array(shape.dims.dropLast()) + [last])
}

/// "[1, 0, 2]", the textual form of an integer-list attribute.
func printedList(_ values: [Int]) -> String {
    "[" + values.map(String.init).joined(separator: ", ") + "]"
}

// MARK: Textual attributes

/// A problem with an op's textual form; the parser adds the position and the op name.
struct AttributeProblem: Error {
    let message: String
    init(_ message: String) { self.message = message }
}

/// An op's `{key = value, …}` list as the parser read it; definitions take their attributes
/// from it by key and type, and the parser rejects the keys nobody read.
public struct AttributeText {
    private var values: [String: String] = [:]
    private var used: Set<String> = []

    init(_ list: [(String, String)]) throws {
        for (k, v) in list {
            guard values[k] == nil else { throw AttributeProblem("attribute '\(k)' given twice") }
            values[k] = v
        }
    }

    /// Keys given but never read, sorted.
    var unused: [String] { values.keys.filter { !used.contains($0) }.sorted() }

    /// Whether the list gives `key` (for attributes that have a default).
    func has(_ key: String) -> Bool { values[key] != nil }

    mutating func text(_ key: String) throws -> String {
        guard let v = values[key] else { throw AttributeProblem("missing attribute '\(key)'") }
        used.insert(key)
        return v
    }

    mutating func int(_ key: String) throws -> Int {
        let v = try text(key)
        guard let n = Int(v) else { throw AttributeProblem("attribute '\(key)' = \(v), expected an integer") }
        return n
    }

    mutating func float(_ key: String) throws -> Float {
        let v = try text(key)
        guard let f = Float(v) else { throw AttributeProblem("attribute '\(key)' = \(v), expected a number") }
        return f
    }

    mutating func bool(_ key: String) throws -> Bool {
        switch try text(key) {
        case "true": return true
        case "false": return false
        case let v: throw AttributeProblem("attribute '\(key)' = \(v), expected true or false")
        }
    }

    /// One of `type`'s cases, spelled as `label` prints it.
    mutating func named<E: CaseIterable>(_ key: String, _ type: E.Type, _ label: (E) -> String) throws -> E {
        let v = try text(key)
        guard let e = E.allCases.first(where: { label($0) == v }) else {
            throw AttributeProblem("attribute '\(key)' = \(v), expected one of \(E.allCases.map(label).joined(separator: ", "))")
        }
        return e
    }

    /// "[a, b, …]" of integers.
    mutating func intList(_ key: String) throws -> [Int] {
        let v = try text(key)
        guard v.hasPrefix("["), v.hasSuffix("]") else { throw AttributeProblem("attribute '\(key)' = \(v), expected [a, b, …]") }
        let inner = v.dropFirst().dropLast()
        if inner.trimmingSpaces().isEmpty { return [] }
        return try inner.split(separator: ",").map { piece in
            guard let n = Int(String(piece).trimmingSpaces()) else {
                throw AttributeProblem("attribute '\(key)' = \(v), expected a list of integers")
            }
            return n
        }
    }

    /// "[d, …]" of sizes and symbols.
    mutating func shape(_ key: String) throws -> Shape {
        let v = try text(key)
        guard v.hasPrefix("["), v.hasSuffix("]") else { throw AttributeProblem("attribute '\(key)' = \(v), expected [d, …]") }
        let inner = v.dropFirst().dropLast()
        if inner.trimmingSpaces().isEmpty { return Shape([]) }
        return Shape(inner.split(separator: ",").map { piece -> Dim in
            let t = String(piece).trimmingSpaces()
            return Int(t).map(Dim.fixed) ?? .symbol(t)
        })
    }
}

// MARK: Binary attributes

extension ByteReader {
    /// A u8 enum code, rejected when `E` has no such case.
    mutating func enumCode<E: RawRepresentable>(_ field: String, _ type: E.Type) throws -> E where E.RawValue == UInt8 {
        let raw = try u8(field)
        guard let e = E(rawValue: raw) else {
            throw IngotError.badField(file: file, field, seen: String(raw), expected: "a known \(E.self) code")
        }
        return e
    }

    /// A u32 count in 1...2²⁰ (heads, head sizes, group sizes).
    mutating func smallCount(_ field: String) throws -> Int {
        let v = try u32(field)
        guard v > 0, v <= 1 << 20 else {
            throw IngotError.badField(file: file, field, seen: String(v), expected: "1...\(1 << 20)")
        }
        return Int(v)
    }

    /// A u8 that must be 0 or 1.
    mutating func flag(_ field: String) throws -> Bool {
        let v = try u8(field)
        guard v <= 1 else { throw IngotError.badField(file: file, field, seen: String(v), expected: "0 or 1") }
        return v == 1
    }
}
