// Data-movement ops in the IR: reshape, transpose, slice, concat and split: attributes,
// textual and binary forms, type rules. The copies are in IngotRuntime.

import IngotCore

/// Fixed product and sorted symbol list: two shapes hold the same number of elements when both agree.
private func symbolicSize(_ s: Shape) -> (Int?, [String]) {
    var product: Int? = 1
    var symbols: [String] = []
    for d in s.dims {
        switch d {
        case .fixed(let n):
            if let p = product {
                let (r, o) = p.multipliedReportingOverflow(by: n)
                product = o ? nil : r
            }
        case .symbol(let s): symbols.append(s)
        }
    }
    return (product, symbols.sorted())
}

extension Ops {
    /// reshape(x) → the same elements in the target shape (symbols allowed; element counts must agree).
    public enum Reshape: OpDefinition {
        public typealias Attributes = Shape
        public static let code = OpCode.reshape
        public static let names = ["reshape"]
        public static let arity = 1...1
        public static let samples: [Op] = [.reshape(Shape(["batch", 2, 3])), .reshape(Shape([]))]

        public static func op(_ shape: Shape) -> Op { .reshape(shape) }
        public static func attributes(of op: Op) -> Shape? {
            if case .reshape(let shape) = op { return shape }
            return nil
        }
        public static func printedAttributes(_ shape: Shape) -> [(String, String)] { [("shape", shape.description)] }
        public static func parseAttributes(name: String, _ text: inout AttributeText) throws -> Shape { try text.shape("shape") }
        public static func encodeAttributes(_ shape: Shape, _ w: inout ByteWriter) { GraphCodec.writeShape(shape, &w) }
        public static func decodeAttributes(_ r: inout ByteReader, _ field: String) throws -> Shape {
            try GraphCodec.readShape(&r, field + ".shape")
        }

        public static func outputTypes(_ target: Shape, _ t: [TensorType]) throws -> [TensorType] {
            let (fa, sa) = symbolicSize(t[0].shape)
            let (fb, sb) = symbolicSize(target)
            guard fa != nil, fa == fb, sa == sb else {
                throw InferenceError("cannot reshape \(t[0].shape) to \(target): element counts differ")
            }
            return [TensorType(t[0].dtype, target)]
        }
    }

    /// transpose(x) → out.dims[i] = x.dims[permutation[i]].
    public enum Transpose: OpDefinition {
        /// The permutation.
        public typealias Attributes = [Int]
        public static let code = OpCode.transpose
        public static let names = ["transpose"]
        public static let arity = 1...1
        public static let samples: [Op] = [.transpose(permutation: [1, 0, 2]), .transpose(permutation: [0, 2, 1, 3])]

        public static func op(_ permutation: [Int]) -> Op { .transpose(permutation: permutation) }
        public static func attributes(of op: Op) -> [Int]? {
            if case .transpose(let permutation) = op { return permutation }
            return nil
        }
        public static func printedAttributes(_ permutation: [Int]) -> [(String, String)] { [("permutation", printedList(permutation))] }
        public static func parseAttributes(name: String, _ text: inout AttributeText) throws -> [Int] { try text.intList("permutation") }
        /// u8 rank, u8 per axis.
        public static func encodeAttributes(_ permutation: [Int], _ w: inout ByteWriter) {
            w.u8(UInt8(permutation.count))
            for x in permutation { w.u8(UInt8(x)) }
        }
        public static func decodeAttributes(_ r: inout ByteReader, _ field: String) throws -> [Int] {
            let n = Int(try r.u8(field + ".rank"))
            guard n <= GraphCodec.maxRank else {
                throw IngotError.badField(file: r.file, field + ".rank", seen: String(n), expected: "at most \(GraphCodec.maxRank)")
            }
            return try (0..<n).map { Int(try r.u8("\(field).permutation[\($0)]")) }
        }

        public static func outputTypes(_ perm: [Int], _ t: [TensorType]) throws -> [TensorType] {
            let r = t[0].shape.rank
            guard perm.count == r, perm.sorted() == Array(0..<r) else {
                throw InferenceError("permutation \(perm) is not a permutation of 0..<\(r)")
            }
            return [TensorType(t[0].dtype, Shape(perm.map { t[0].shape[$0] }))]
        }
    }

    /// slice(x) → elements start..<end along axis.
    public enum Slice: OpDefinition {
        public typealias Attributes = (axis: Int, start: Int, end: Int)
        public static let code = OpCode.slice
        public static let names = ["slice"]
        public static let arity = 1...1
        public static let samples: [Op] = [.slice(axis: 2, start: 1, end: 5), .slice(axis: -1, start: 0, end: 1)]

        public static func op(_ a: Attributes) -> Op { .slice(axis: a.axis, start: a.start, end: a.end) }
        public static func attributes(of op: Op) -> Attributes? {
            if case .slice(let axis, let start, let end) = op { return (axis, start, end) }
            return nil
        }
        public static func printedAttributes(_ a: Attributes) -> [(String, String)] {
            [("axis", String(a.axis)), ("start", String(a.start)), ("end", String(a.end))]
        }
        public static func parseAttributes(name: String, _ text: inout AttributeText) throws -> Attributes {
            (try text.int("axis"), try text.int("start"), try text.int("end"))
        }
        /// i32 axis, u64 start, u64 end.
        public static func encodeAttributes(_ a: Attributes, _ w: inout ByteWriter) {
            w.i32(Int32(a.axis))
            w.u64(UInt64(a.start))
            w.u64(UInt64(a.end))
        }
        public static func decodeAttributes(_ r: inout ByteReader, _ field: String) throws -> Attributes {
            let axis = Int(try r.i32(field + ".axis"))
            let start = try r.u64(field + ".start")
            let end = try r.u64(field + ".end")
            guard start < end, end <= UInt64(Int32.max) else {
                throw IngotError.badField(file: r.file, field + ".start/end", seen: "\(start)..<\(end)", expected: "start < end ≤ \(Int32.max)")
            }
            return (axis, Int(start), Int(end))
        }

        public static func outputTypes(_ a: Attributes, _ t: [TensorType]) throws -> [TensorType] {
            let axis = try normalizedAxis(a.axis, rank: t[0].shape.rank)
            guard a.start >= 0, a.start < a.end else { throw InferenceError("slice \(a.start)..<\(a.end) is empty or negative") }
            if let n = t[0].shape[axis].fixedValue, a.end > n {
                throw InferenceError("slice end \(a.end) past dimension \(axis) of size \(n)")
            }
            var dims = t[0].shape.dims
            dims[axis] = .fixed(a.end - a.start)
            return [TensorType(t[0].dtype, Shape(dims))]
        }
    }

    /// concat(x₀, …, xₙ) along axis: same dtype and rank, equal except on the (fixed) axis.
    public enum Concat: OpDefinition {
        /// The axis, negative counting from the end.
        public typealias Attributes = Int
        public static let code = OpCode.concat
        public static let names = ["concat"]
        public static let arity = 1...64
        public static let samples: [Op] = [.concat(axis: 0), .concat(axis: -1)]

        public static func op(_ axis: Int) -> Op { .concat(axis: axis) }
        public static func attributes(of op: Op) -> Int? {
            if case .concat(let axis) = op { return axis }
            return nil
        }
        public static func printedAttributes(_ axis: Int) -> [(String, String)] { [("axis", String(axis))] }
        public static func parseAttributes(name: String, _ text: inout AttributeText) throws -> Int { try text.int("axis") }
        public static func encodeAttributes(_ axis: Int, _ w: inout ByteWriter) { w.i32(Int32(axis)) }
        public static func decodeAttributes(_ r: inout ByteReader, _ field: String) throws -> Int { Int(try r.i32(field + ".axis")) }

        public static func outputTypes(_ axis: Int, _ t: [TensorType]) throws -> [TensorType] {
            let first = t[0]
            let a = try normalizedAxis(axis, rank: first.shape.rank)
            var total = 0
            for (i, x) in t.enumerated() {
                guard x.dtype == first.dtype, x.shape.rank == first.shape.rank else {
                    throw InferenceError("input \(i) is \(x), expected \(first.dtype) of rank \(first.shape.rank)")
                }
                for d in 0..<x.shape.rank where d != a {
                    try requireDim(x.shape[d], equals: first.shape[d], "input \(i) dimension \(d)")
                }
                guard let n = x.shape[a].fixedValue else { throw InferenceError("concat axis \(a) of input \(i) is symbolic") }
                total += n
            }
            var dims = first.shape.dims
            dims[a] = .fixed(total)
            return [TensorType(first.dtype, Shape(dims))]
        }
    }

    /// split(x) → one output per size, consecutive pieces along axis (sizes sum to the axis length).
    public enum Split: OpDefinition {
        public typealias Attributes = (axis: Int, sizes: [Int])
        public static let code = OpCode.split
        public static let names = ["split"]
        public static let arity = 1...1
        public static let samples: [Op] = [.split(axis: -1, sizes: [2, 6]), .split(axis: 0, sizes: [1, 1, 1])]

        public static func op(_ a: Attributes) -> Op { .split(axis: a.axis, sizes: a.sizes) }
        public static func attributes(of op: Op) -> Attributes? {
            if case .split(let axis, let sizes) = op { return (axis, sizes) }
            return nil
        }
        public static func printedAttributes(_ a: Attributes) -> [(String, String)] {
            [("axis", String(a.axis)), ("sizes", printedList(a.sizes))]
        }
        public static func parseAttributes(name: String, _ text: inout AttributeText) throws -> Attributes {
            (try text.int("axis"), try text.intList("sizes"))
        }
        /// i32 axis, u8 count, u64 per size.
        public static func encodeAttributes(_ a: Attributes, _ w: inout ByteWriter) {
            w.i32(Int32(a.axis))
            w.u8(UInt8(a.sizes.count))
            for n in a.sizes { w.u64(UInt64(n)) }
        }
        public static func decodeAttributes(_ r: inout ByteReader, _ field: String) throws -> Attributes {
            let axis = Int(try r.i32(field + ".axis"))
            let count = Int(try r.u8(field + ".count"))
            guard count >= 1 else { throw IngotError.badField(file: r.file, field + ".count", seen: "0", expected: "1...255") }
            let sizes = try (0..<count).map { i -> Int in
                let n = try r.u64("\(field).sizes[\(i)]")
                guard n >= 1, n <= UInt64(Int32.max) else {
                    throw IngotError.badField(file: r.file, "\(field).sizes[\(i)]", seen: String(n), expected: "1...\(Int32.max)")
                }
                return Int(n)
            }
            return (axis, sizes)
        }

        public static func outputTypes(_ a: Attributes, _ t: [TensorType]) throws -> [TensorType] {
            let x = t[0]
            let ax = try normalizedAxis(a.axis, rank: x.shape.rank)
            guard !a.sizes.isEmpty, a.sizes.allSatisfy({ $0 > 0 }) else { throw InferenceError("sizes \(a.sizes) must be positive") }
            guard x.shape[ax] == .fixed(a.sizes.reduce(0, +)) else {
                throw InferenceError("sizes \(a.sizes) sum to \(a.sizes.reduce(0, +)), dimension \(ax) is \(x.shape[ax])")
            }
            return a.sizes.map { n in
                var dims = x.shape.dims
                dims[ax] = .fixed(n)
                return TensorType(x.dtype, Shape(dims))
            }
        }
    }
}
