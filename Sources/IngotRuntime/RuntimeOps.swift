// RuntimeOps: the executor's data-movement and elementwise ops (gather, broadcasting
// arithmetic, softmax on any axis, transpose, slice, concat, cast) and the KV cache. The
// compute-heavy ops live in IngotKernels. Shapes are trusted (the plan resolved them).

import IngotCore
import IngotIR
import IngotKernels

#if canImport(Glibc)
import Glibc
#endif

enum RuntimeOps {
    static func gather(table: UnsafePointer<Float>, rows: Int, width: Int, ids: UnsafePointer<Int32>, count: Int,
                       out: UnsafeMutablePointer<Float>, tableName: String) throws {
        for i in 0..<count {
            let id = Int(ids[i])
            guard id >= 0, id < rows else {
                throw IngotError(.shape, location: "gather from '\(tableName)'", "id \(id) at position \(i) is outside 0..<\(rows)")
            }
            (out + i * width).update(from: table + id * width, count: width)
        }
    }

    /// Rows of an int8 table [rows, width] with scales [rows, width/group], dequantized.
    static func gatherInt8(table: UnsafePointer<Int8>, scales: UnsafePointer<Float>, rows: Int, width: Int, group: Int,
                           ids: UnsafePointer<Int32>, count: Int, out: UnsafeMutablePointer<Float>, tableName: String) throws {
        let groups = width / group
        for i in 0..<count {
            let id = Int(ids[i])
            guard id >= 0, id < rows else {
                throw IngotError(.shape, location: "gather from '\(tableName)'", "id \(id) at position \(i) is outside 0..<\(rows)")
            }
            let src = table + id * width, s = scales + id * groups, o = out + i * width
            for g in 0..<groups {
                let scale = s[g]
                for j in g * group..<(g + 1) * group { o[j] = Float(src[j]) * scale }
            }
        }
    }

    static func apply(_ kind: BinaryKind, _ x: Float, _ y: Float) -> Float {
        switch kind {
        case .add: return x + y
        case .sub: return x - y
        case .mul: return x * y
        case .div: return x / y
        }
    }

    static func binary(_ kind: BinaryKind, a: UnsafePointer<Float>, aShape: [Int], b: UnsafePointer<Float>, bShape: [Int],
                       out: UnsafeMutablePointer<Float>, outShape: [Int]) {
        let count = outShape.reduce(1, *)
        let aCount = aShape.reduce(1, *), bCount = bShape.reduce(1, *)
        if aCount == count && bCount == count {
            switch kind {
            case .add: for i in 0..<count { out[i] = a[i] + b[i] }
            case .sub: for i in 0..<count { out[i] = a[i] - b[i] }
            case .mul: for i in 0..<count { out[i] = a[i] * b[i] }
            case .div: for i in 0..<count { out[i] = a[i] / b[i] }
            }
            return
        }
        if aCount == count, bCount > 0, isTrailing(bShape, of: outShape) {
            // b repeats along the leading dimensions (a bias row).
            var i = 0
            while i < count {
                for j in 0..<bCount { out[i + j] = apply(kind, a[i + j], b[j]) }
                i += bCount
            }
            return
        }
        // General broadcasting by strides.
        let rank = outShape.count
        let sa = broadcastStrides(aShape, rank: rank), sb = broadcastStrides(bShape, rank: rank)
        var index = [Int](repeating: 0, count: rank)
        for i in 0..<count {
            var ia = 0, ib = 0
            for d in 0..<rank { ia += index[d] * sa[d]; ib += index[d] * sb[d] }
            out[i] = apply(kind, a[ia], b[ib])
            advance(&index, within: outShape)
        }
    }

    /// True when `s` (after dropping leading 1s) equals the trailing dimensions of `full`.
    /// Next multi-index in row-major order within `shape`.
    @inline(__always) static func advance(_ index: inout [Int], within shape: [Int]) {
        var d = shape.count - 1
        while d >= 0 {
            index[d] += 1
            if index[d] < shape[d] { return }
            index[d] = 0
            d -= 1
        }
    }

    static func isTrailing(_ s: [Int], of full: [Int]) -> Bool {
        let trimmed = Array(s.drop { $0 == 1 })
        guard trimmed.count <= full.count else { return false }
        return Array(full.suffix(trimmed.count)) == trimmed
    }

    static func softmax(x: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, shape: [Int], axis: Int) {
        let n = shape[axis]
        let inner = shape[(axis + 1)...].reduce(1, *)
        let outer = shape[..<axis].reduce(1, *)
        for o in 0..<outer {
            for i in 0..<inner {
                let base = o * n * inner + i
                var m = -Float.infinity
                for j in 0..<n { m = max(m, x[base + j * inner]) }
                var sum: Float = 0
                for j in 0..<n { let e = expf(x[base + j * inner] - m); out[base + j * inner] = e; sum += e }
                for j in 0..<n { out[base + j * inner] /= sum }
            }
        }
    }

    static func transpose(x: UnsafeMutableRawPointer, shape: [Int], perm: [Int], out: UnsafeMutableRawPointer, elementSize: Int) {
        let rank = shape.count
        var inStrides = [Int](repeating: 1, count: rank)
        for d in stride(from: rank - 2, through: 0, by: -1) { inStrides[d] = inStrides[d + 1] * shape[d + 1] }
        let outShape = perm.map { shape[$0] }
        let count = shape.reduce(1, *)
        var index = [Int](repeating: 0, count: rank)
        for i in 0..<count {
            var src = 0
            for d in 0..<rank { src += index[d] * inStrides[perm[d]] }
            (out + i * elementSize).copyMemory(from: x + src * elementSize, byteCount: elementSize)
            advance(&index, within: outShape)
        }
    }

    static func slice(x: UnsafeMutableRawPointer, shape: [Int], axis: Int, start: Int, outShape: [Int],
                      out: UnsafeMutableRawPointer, elementSize: Int) {
        let outer = shape[..<axis].reduce(1, *)
        let inner = shape[(axis + 1)...].reduce(1, *) * elementSize
        let take = outShape[axis] * inner
        for o in 0..<outer {
            (out + o * take).copyMemory(from: x + o * shape[axis] * inner + start * inner, byteCount: take)
        }
    }

    static func concat(inputs: [UnsafeMutableRawPointer], shapes: [[Int]], axis: Int, out: UnsafeMutableRawPointer, elementSize: Int) {
        let outer = shapes[0][..<axis].reduce(1, *)
        let inner = shapes[0][(axis + 1)...].reduce(1, *) * elementSize
        var dst = out
        for o in 0..<outer {
            for (p, s) in zip(inputs, shapes) {
                let chunk = s[axis] * inner
                dst.copyMemory(from: p + o * chunk, byteCount: chunk)
                dst += chunk
            }
        }
    }

    static func cast(x: UnsafeMutableRawPointer, from: DType, out: UnsafeMutableRawPointer, to: DType, count: Int) throws {
        switch (from, to) {
        case (.i32, .f32):
            for i in 0..<count { out.assumingMemoryBound(to: Float.self)[i] = Float(x.assumingMemoryBound(to: Int32.self)[i]) }
        case (.f32, .i32):
            for i in 0..<count {
                let f = x.assumingMemoryBound(to: Float.self)[i]
                out.assumingMemoryBound(to: Int32.self)[i] = f.isNaN ? 0 : Int32(max(min(f.rounded(.toNearestOrEven), 2147483520), -2147483648))
            }
        case (.f32, .f32), (.i32, .i32):
            out.copyMemory(from: x, byteCount: count * 4)
        default:
            throw IngotError(.unsupported, location: "cast", "from \(from) to \(to) is not supported by the runtime")
        }
    }
}

/// K and V rows of one attention layer for positions 0..<count: [capacity, kvHeads·headDim]
/// each, growing by doubling up to `limit` so short conversations stay small.
final class LayerKVCache {
    let limit: Int
    let rowWidth: Int
    private(set) var capacity: Int
    private(set) var keys: UnsafeMutablePointer<Float>
    private(set) var values: UnsafeMutablePointer<Float>

    init(limit: Int, rowWidth: Int, initialCapacity: Int = 256) {
        self.limit = limit
        self.rowWidth = rowWidth
        capacity = min(initialCapacity, limit)
        keys = .allocate(capacity: capacity * rowWidth)
        values = .allocate(capacity: capacity * rowWidth)
    }

    deinit {
        keys.deallocate()
        values.deallocate()
    }

    func append(k: UnsafePointer<Float>, v: UnsafePointer<Float>, count: Int, at position: Int) throws {
        let end = position + count
        guard end <= limit else {
            throw IngotError(.shape, location: "KV cache", "positions \(position)..<\(end) exceed the context length \(limit)")
        }
        if end > capacity {
            var newCapacity = capacity
            while newCapacity < end { newCapacity *= 2 }
            newCapacity = min(newCapacity, limit)
            let nk = UnsafeMutablePointer<Float>.allocate(capacity: newCapacity * rowWidth)
            let nv = UnsafeMutablePointer<Float>.allocate(capacity: newCapacity * rowWidth)
            nk.update(from: keys, count: position * rowWidth)
            nv.update(from: values, count: position * rowWidth)
            keys.deallocate()
            values.deallocate()
            keys = nk
            values = nv
            capacity = newCapacity
        }
        (keys + position * rowWidth).update(from: k, count: count * rowWidth)
        (values + position * rowWidth).update(from: v, count: count * rowWidth)
    }
}
