// Pooling kernels for `pool` (first position, maximum over real tokens, last real token) and
// `tanh`, each beside its plain reference twin. Mean pooling is Kernels.meanPool.
// x [batch, seq, hidden], mask [batch, seq] (0 = padding), out [batch, hidden].

import Glibc

/// What a pooling kernel takes from each row's positions (IngotIR's PoolMode, without the IR).
public enum PoolSelection: Sendable {
    case first, max, last
}

extension Kernels {
    /// out[b, :] = x[b, 0, :].
    public static func poolFirst(_ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, batch: Int, seq: Int, hidden: Int) {
        for b in 0..<batch {
            (out + b * hidden).update(from: x + b * seq * hidden, count: hidden)
        }
    }

    /// out[b, :] = elementwise maximum of x[b, s, :] over s with mask[b, s] ≠ 0; zeros when there is none.
    public static func poolMax(_ x: UnsafePointer<Float>, mask: UnsafePointer<Int32>, _ out: UnsafeMutablePointer<Float>,
                               batch: Int, seq: Int, hidden: Int) {
        for b in 0..<batch {
            let o = out + b * hidden
            var seen = false
            for s in 0..<seq where mask[b * seq + s] != 0 {
                let row = x + (b * seq + s) * hidden
                if seen {
                    for d in 0..<hidden where row[d] > o[d] { o[d] = row[d] }
                } else {
                    o.update(from: row, count: hidden)
                    seen = true
                }
            }
            if !seen { o.update(repeating: 0, count: hidden) }
        }
    }

    /// out[b, :] = x[b, s, :] for the largest s with mask[b, s] ≠ 0; zeros when there is none.
    public static func poolLast(_ x: UnsafePointer<Float>, mask: UnsafePointer<Int32>, _ out: UnsafeMutablePointer<Float>,
                                batch: Int, seq: Int, hidden: Int) {
        for b in 0..<batch {
            let o = out + b * hidden
            if let s = (0..<seq).last(where: { mask[b * seq + $0] != 0 }) {
                o.update(from: x + (b * seq + s) * hidden, count: hidden)
            } else {
                o.update(repeating: 0, count: hidden)
            }
        }
    }

    /// out = tanh(x), n elements.
    public static func tanhElementwise(_ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, count n: Int) {
        for i in 0..<n { out[i] = Glibc.tanhf(x[i]) }
    }
}

extension ReferenceKernels {
    /// Same contract as Kernels.poolFirst/poolMax/poolLast, by `selection`:
    /// each output element chosen position by position, in the storage type.
    @inlinable
    public static func pool<T: ReferenceScalar>(_ x: UnsafePointer<T>, mask: UnsafePointer<Int32>, _ out: UnsafeMutablePointer<T>,
                                                batch: Int, seq: Int, hidden: Int, selection: PoolSelection) {
        for b in 0..<batch {
            let real = (0..<seq).filter { mask[b * seq + $0] != 0 }
            for d in 0..<hidden {
                let value: Double
                switch selection {
                case .first: value = Double(x[b * seq * hidden + d])
                case .max: value = real.map { Double(x[(b * seq + $0) * hidden + d]) }.max() ?? 0
                case .last: value = real.last.map { Double(x[(b * seq + $0) * hidden + d]) } ?? 0
                }
                out[b * hidden + d] = T(value)
            }
        }
    }

    /// Same contract as Kernels.tanhElementwise, through Double.
    @inlinable
    public static func tanhElementwise<T: ReferenceScalar>(_ x: UnsafePointer<T>, _ out: UnsafeMutablePointer<T>, count n: Int) {
        for i in 0..<n { out[i] = T(Glibc.tanh(Double(x[i]))) }
    }
}
