// Shape: tensor shapes whose dimensions are fixed sizes or named symbols
// ("batch", "seq") bound at run time. No broadcasting rules live here; ops define them.

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
