// MemoryBandwidth: the decode speed limit of a language model on this machine — bytes of
// weights one decoded token must read, divided by the read bandwidth measured here, now,
// with the same threads. It measures; it does not judge.

import IngotCore
import IngotIR

public struct DecodeBound: Sendable, Equatable {
    /// Bytes of constants one decode step reads (every weight a matmul-like op streams; one row of each gathered table).
    public var weightBytesPerToken: Int
    /// Measured read bandwidth, bytes per second (best of several sweeps over a buffer far larger than the caches).
    public var readBytesPerSecond: Double
    public init(weightBytesPerToken: Int, readBytesPerSecond: Double) {
        self.weightBytesPerToken = weightBytesPerToken
        self.readBytesPerSecond = readBytesPerSecond
    }

    public var boundTokensPerSecond: Double { readBytesPerSecond / Double(max(weightBytesPerToken, 1)) }
}

public enum MemoryBandwidth {
    /// Bytes of weights a single-token step of `graph` reads: constants read by anything but a
    /// gather count whole; a gather table only counts when something else also reads it.
    public static func weightBytesPerToken(_ graph: Graph) -> Int {
        var gatherOnly: Set<ValueID> = []
        var streamed: Set<ValueID> = []
        for node in graph.nodes {
            for (i, input) in node.inputs.enumerated() where graph.isConstant(input) {
                let isTable: Bool
                switch node.op {
                case .gather: isTable = i == 0
                case .gatherInt8: isTable = i < 2
                default: isTable = false
                }
                if isTable { gatherOnly.insert(input) } else { streamed.insert(input) }
            }
        }
        return streamed.reduce(0) { total, id in
            let t = graph.type(of: id)
            return total + (t.shape.fixedSizes.flatMap { t.dtype.byteCount(shape: $0) } ?? 0)
        }
    }

    /// Read bandwidth with the compute pool's threads: sums a `bytes`-sized buffer, best of `sweeps`.
    public static func measureRead(bytes: Int = 1 << 30, sweeps: Int = 5) -> Double {
        let count = bytes / MemoryLayout<SIMD8<Float>>.stride
        let buffer = UnsafeMutablePointer<SIMD8<Float>>.allocate(capacity: count)
        defer { buffer.deallocate() }
        buffer.initialize(repeating: SIMD8<Float>(repeating: 1), count: count)
        let pool = Threads.pool
        let sums = UnsafeMutablePointer<Float>.allocate(capacity: pool.count)
        defer { sums.deallocate() }
        sums.initialize(repeating: 0, count: pool.count)
        var best = 0.0
        for _ in 0..<sweeps {
            let t0 = monotonicSeconds()
            pool.run { p in
                let lo = p * count / pool.count, hi = (p + 1) * count / pool.count
                var a = SIMD8<Float>(), b = SIMD8<Float>(), c = SIMD8<Float>(), d = SIMD8<Float>()
                var i = lo
                while i + 4 <= hi {
                    a += buffer[i]; b += buffer[i + 1]; c += buffer[i + 2]; d += buffer[i + 3]
                    i += 4
                }
                while i < hi { a += buffer[i]; i += 1 }
                sums[p] = (a + b + c + d).sum()
            }
            let dt = monotonicSeconds() - t0
            best = max(best, Double(count * MemoryLayout<SIMD8<Float>>.stride) / dt)
        }
        return best
    }
}
