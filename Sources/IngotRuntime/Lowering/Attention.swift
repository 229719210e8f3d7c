// Attention: `attention`, scaled dot-product attention over q, k, v (grouped-query when
// kv_heads < heads), with an optional key mask, causal masking, and a per-session KV cache
// for decoding (LayerKVCache, below). The arithmetic is Kernels.attention; the cache's
// lifetime is the Session's.

import IngotCore
import IngotIR
import IngotKernels

extension Ops.Attention: KernelLowering {
    /// K and V rows of kvHeads·headDim floats per position, when the node keeps a cache.
    static func kvCacheRowWidth(_ op: Op) -> Int? {
        guard case .attention(let a) = op, a.kvCache else { return nil }
        return a.kvHeads * a.headDim
    }

    static func kernel(for node: PlannedNode, in graph: Graph) throws -> KernelCall {
        guard case .attention(let attrs) = node.op else { throw otherOp(node.op) }
        // q [batch, seq, heads·headDim], k, v [batch, keySeq, kvHeads·headDim][, keyMask [batch, keySeq] i32
        //   [, relative table [buckets, heads]]] → [batch, seq, heads·headDim]
        let batch = node.inputs[0].shape[0], seq = node.inputs[0].shape[1]
        let keySeq = node.inputs[1].shape[1]
        let n = node.index
        if attrs.kvCache {
            guard batch == 1 else {
                throw IngotError(.shape, location: "attention", "a KV-cache session runs batch 1, got batch \(batch)")
            }
            return { b, ctx in
                guard let cache = ctx.kvCaches[n] else {
                    throw IngotError(.internal, location: "attention node \(n)", "no KV cache allocated")
                }
                try cache.append(k: b.f32(1), v: b.f32(2), count: seq, at: ctx.pastLength)
                Kernels.attention(q: b.f32(0), k: cache.keys, v: cache.values, keyMask: nil, out: b.out(),
                                  batch: 1, seq: seq, keySeq: ctx.pastLength + seq, heads: attrs.heads, kvHeads: attrs.kvHeads,
                                  headDim: attrs.headDim, scale: attrs.scale, causal: true, queryOffset: ctx.pastLength,
                                  window: attrs.window, pool: Threads.pool)
            }
        }
        let hasMask = node.inputs.count >= 4, hasTable = node.inputs.count == 5
        return { b, _ in
            let relative = hasTable ? RelativeBias(table: b.f32(4), buckets: attrs.relativeBuckets, maxDistance: attrs.relativeMaxDistance) : nil
            Kernels.attention(q: b.f32(0), k: b.f32(1), v: b.f32(2), keyMask: hasMask ? b.i32(3) : nil, out: b.out(),
                              batch: batch, seq: seq, keySeq: keySeq, heads: attrs.heads, kvHeads: attrs.kvHeads,
                              headDim: attrs.headDim, scale: attrs.scale, causal: attrs.causal, queryOffset: 0,
                              window: attrs.window, relative: relative, pool: Threads.pool)
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
