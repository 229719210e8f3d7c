// Shape: tensor shapes whose dimensions are fixed sizes or named symbols
// ("batch", "seq") bound at run time, and the one numpy broadcasting rule (over shapes for IR
// type inference, over sizes for code that runs on data). Ops decide whether they broadcast.

public enum Dim: Hashable, Sendable, CustomStringConvertible {
    case fixed(Int)
    case symbol(String)

    public var fixedValue: Int? {
        if case .fixed(let n) = self { return n }
        return nil
    }

    public var description: String {
        switch self {
        case .fixed(let n): return String(n)
        case .symbol(let s): return s
        }
    }
}

public struct Shape: Hashable, Sendable, CustomStringConvertible, ExpressibleByArrayLiteral {
    public var dims: [Dim]

    public init(_ dims: [Dim]) { self.dims = dims }
    public init(fixed: [Int]) { self.dims = fixed.map { .fixed($0) } }
    public init(arrayLiteral elements: Dim...) { self.dims = elements }

    public var rank: Int { dims.count }

    /// Sizes when every dimension is fixed, else nil.
    public var fixedSizes: [Int]? {
        var out: [Int] = []
        out.reserveCapacity(dims.count)
        for d in dims {
            guard let n = d.fixedValue else { return nil }
            out.append(n)
        }
        return out
    }

    /// Element count when every dimension is fixed; nil when symbolic or on overflow.
    public var elementCount: Int? {
        guard let sizes = fixedSizes else { return nil }
        return Shape.checkedProduct(sizes)
    }

    /// Product of sizes, nil on overflow or a negative size.
    public static func checkedProduct(_ sizes: [Int]) -> Int? {
        var n = 1
        for s in sizes {
            guard s >= 0 else { return nil }
            let (p, o) = n.multipliedReportingOverflow(by: s)
            if o { return nil }
            n = p
        }
        return n
    }

    /// Binds symbols to sizes; nil if a symbol is unbound.
    public func resolved(_ bindings: [String: Int]) -> [Int]? {
        var out: [Int] = []
        for d in dims {
            switch d {
            case .fixed(let n): out.append(n)
            case .symbol(let s):
                guard let n = bindings[s] else { return nil }
                out.append(n)
            }
        }
        return out
    }

    /// "[batch, seq, 384]"
    public var description: String { "[" + dims.map(\.description).joined(separator: ", ") + "]" }

    public subscript(i: Int) -> Dim { dims[i] }
}

extension Shape {
    /// numpy broadcasting: shapes align on their last dimension, a missing leading dimension
    /// counts as 1, and a 1 takes the other side's size; a symbol matches only itself or 1.
    /// [batch, seq, 8] and [8] → [batch, seq, 8]; [1, seq] and [batch, 1] → [batch, seq].
    /// Throws IngotError(.shape) naming the first dimension of the result that differs.
    public static func broadcast(_ a: Shape, _ b: Shape) throws -> Shape {
        Shape(try broadcastDims(a.dims, b.dims, one: .fixed(1), a.description, b.description))
    }

    /// The same rule over fixed sizes: [2, 1, 4] and [3, 1] → [2, 3, 4].
    public static func broadcast(_ a: [Int], _ b: [Int]) throws -> [Int] {
        try broadcastDims(a, b, one: 1, a.description, b.description)
    }
}

/// Result dimensions of numpy broadcasting of `a` and `b`, `one` the size that stretches.
private func broadcastDims<D: Equatable & CustomStringConvertible>(_ a: [D], _ b: [D], one: D,
                                                                    _ aText: String, _ bText: String) throws -> [D] {
    let n = max(a.count, b.count)
    var out: [D] = []
    out.reserveCapacity(n)
    for i in 0..<n {
        let da = i < n - a.count ? one : a[i - (n - a.count)]
        let db = i < n - b.count ? one : b[i - (n - b.count)]
        if da == db { out.append(da) }
        else if da == one { out.append(db) }
        else if db == one { out.append(da) }
        else {
            throw IngotError(.shape, location: "broadcast",
                             "shapes \(aText) and \(bText) do not broadcast (dimension \(i): \(da) vs \(db))")
        }
    }
    return out
}

extension Dim: ExpressibleByIntegerLiteral, ExpressibleByStringLiteral {
    public init(integerLiteral value: Int) { self = .fixed(value) }
    public init(stringLiteral value: String) { self = .symbol(value) }
}

/// Row-major element strides of `shape` right-aligned to `rank` dimensions, with stride 0
/// on every dimension of size 1 (and every missing leading one): the offsets broadcasting reads.
public func broadcastStrides(_ shape: [Int], rank: Int) -> [Int] {
    let padded = [Int](repeating: 1, count: rank - shape.count) + shape
    var strides = [Int](repeating: 0, count: rank)
    var step = 1
    for d in stride(from: rank - 1, through: 0, by: -1) {
        strides[d] = padded[d] == 1 ? 0 : step
        step *= padded[d]
    }
    return strides
}
