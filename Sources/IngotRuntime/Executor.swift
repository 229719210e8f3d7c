// Executor: runs an ExecutionPlan node by node over one arena, dispatching each op to its
// kernel. Keeps no state between calls except what a Session hands it (arena, KV caches).
// Shape checks on caller inputs happen in Session; here shapes are trusted from the plan.

import IngotCore
import IngotIR
import IngotKernels

struct ExecutionContext {
    var arena: UnsafeMutableRawPointer
    var inputs: [HostTensor]
    /// KV cache per attention node index (sessions with kv_cache attention only).
    var kvCaches: [Int: LayerKVCache]
    /// Tokens already in the KV caches before this call.
    var pastLength: Int
}

enum Executor {
    static func pointer(_ v: PlannedValue, _ ctx: inout ExecutionContext) -> UnsafeMutableRawPointer {
        switch v.storage {
        case .arena(let offset): return ctx.arena + offset
        case .constant(let buffer): return UnsafeMutableRawPointer(mutating: buffer.raw.baseAddress!)
        case .input(let i):
            return ctx.inputs[i].withRawBytes { UnsafeMutableRawPointer(mutating: $0.baseAddress!) }
        }
    }

    static func run(graph: Graph, plan: ExecutionPlan, context ctx: inout ExecutionContext) throws {
        for (n, node) in graph.nodes.enumerated() {
            let ins = node.inputs.map { plan.values[$0.index]! }
            let outs = node.outputs.map { plan.values[$0.index]! }
            let inPtrs = ins.map { pointer($0, &ctx) }
            let outPtrs = outs.map { pointer($0, &ctx) }
            let scratch = plan.scratchOffsets[n].map { ctx.arena + $0 }
            try runNode(n, node.op, ins, inPtrs, outs, outPtrs, scratch, &ctx, graph: graph, node: node)
        }
    }

    /// memmove as a throwing call. A plain `copyMemory` as the last statement of a case was
    /// compiled (Swift 6.3, release) into a tail call made while the swifterror register r12
    /// still held a scratch value, so the caller saw a garbage error and crashed
    /// (DecomposedAttentionTests). A call to a throwing function gets r12 set up properly.
    @inline(never)
    static func copyBytes(_ destination: UnsafeMutableRawPointer, from source: UnsafeMutableRawPointer, count: Int) throws {
        destination.copyMemory(from: source, byteCount: count)
    }

    static func f32(_ p: UnsafeMutableRawPointer) -> UnsafeMutablePointer<Float> { p.assumingMemoryBound(to: Float.self) }
    static func i32(_ p: UnsafeMutableRawPointer) -> UnsafeMutablePointer<Int32> { p.assumingMemoryBound(to: Int32.self) }

    static func epilogue(_ a: Activation) -> EpilogueActivation {
        switch a {
        case .none: return .none
        case .gelu: return .gelu
        case .geluTanh: return .geluTanh
        case .silu: return .silu
        }
    }

    static func runNode(_ n: Int, _ op: Op, _ ins: [PlannedValue], _ p: [UnsafeMutableRawPointer],
                        _ outs: [PlannedValue], _ os: [UnsafeMutableRawPointer], _ scratch: UnsafeMutableRawPointer?,
                        _ ctx: inout ExecutionContext, graph: Graph, node: Node) throws {
        let out = outs[0], o = os[0]
        switch op {
        case .gather:
            let vocab = ins[0].shape[0], width = ins[0].shape[1]
            let count = ins[1].elementCount
            try RuntimeOps.gather(table: f32(p[0]), rows: vocab, width: width, ids: i32(p[1]), count: count, out: f32(o),
                                  tableName: graph[node.inputs[0]].name)

        case .matmul(let transposeB):
            let k = ins[0].shape.last!
            let nOut = out.shape.last!
            if ins[1].shape.count > 2 {
                let rank = out.shape.count
                Kernels.batchedMatmul(f32(p[0]), f32(p[1]), f32(o), batch: out.shape[..<(rank - 2)].reduce(1, *), m: out.shape[rank - 2],
                                      n: nOut, k: k, transposeB: transposeB, pool: Threads.pool)
            } else {
                let m = ins[0].elementCount / max(k, 1)
                Kernels.matmul(f32(p[0]), f32(p[1]), f32(o), m: m, n: nOut, k: k, transposeB: transposeB, pool: Threads.pool)
            }

        case .binary(let kind):
            RuntimeOps.binary(kind, a: f32(p[0]), aShape: ins[0].shape, b: f32(p[1]), bShape: ins[1].shape,
                              out: f32(o), outShape: out.shape)

        case .gelu(let approx):
            switch approx {
            case .erf: Kernels.geluErf(f32(p[0]), f32(o), count: out.elementCount, pool: Threads.pool)
            case .tanh: Kernels.geluTanh(f32(p[0]), f32(o), count: out.elementCount, pool: Threads.pool)
            }

        case .silu:
            Kernels.silu(f32(p[0]), f32(o), count: out.elementCount, pool: Threads.pool)

        case .layerNorm(let eps):
            let h = out.shape.last!
            Kernels.layerNorm(f32(p[0]), gamma: f32(p[1]), beta: f32(p[2]), f32(o),
                              rows: out.elementCount / h, cols: h, eps: eps, pool: Threads.pool)

        case .rmsNorm(let eps):
            let h = out.shape.last!
            Kernels.rmsNorm(f32(p[0]), weight: f32(p[1]), f32(o), rows: out.elementCount / h, cols: h, eps: eps, pool: Threads.pool)

        case .rope(let theta, let heads, let headDim, let style):
            let tokens = out.elementCount / (heads * headDim)
            Kernels.rope(f32(p[0]), positions: i32(p[1]), f32(o), tokens: tokens, heads: heads,
                         headDim: headDim, theta: theta, interleaved: style == .interleaved)

        case .softmax(let axis):
            let rank = out.shape.count
            let a = axis < 0 ? axis + rank : axis
            RuntimeOps.softmax(x: f32(p[0]), out: f32(o), shape: out.shape, axis: a)

        case .attention(let attrs):
            let batch = ins[0].shape[0], seq = ins[0].shape[1]
            let keySeq = ins[1].shape[1]
            let mask: UnsafeMutablePointer<Int32>? = ins.count == 4 ? i32(p[3]) : nil
            if attrs.kvCache {
                guard batch == 1 else {
                    throw IngotError(.shape, location: "attention", "a KV-cache session runs batch 1, got batch \(batch)")
                }
                guard let cache = ctx.kvCaches[n] else {
                    throw IngotError(.internal, location: "attention node \(n)", "no KV cache allocated")
                }
                try cache.append(k: f32(p[1]), v: f32(p[2]), count: seq, at: ctx.pastLength)
                Kernels.attention(q: f32(p[0]), k: cache.keys, v: cache.values, keyMask: nil, out: f32(o),
                                  batch: 1, seq: seq, keySeq: ctx.pastLength + seq, heads: attrs.heads, kvHeads: attrs.kvHeads,
                                  headDim: attrs.headDim, scale: attrs.scale, causal: true, queryOffset: ctx.pastLength,
                                  pool: Threads.pool)
            } else {
                Kernels.attention(q: f32(p[0]), k: f32(p[1]), v: f32(p[2]), keyMask: mask, out: f32(o),
                                  batch: batch, seq: seq, keySeq: keySeq, heads: attrs.heads, kvHeads: attrs.kvHeads,
                                  headDim: attrs.headDim, scale: attrs.scale, causal: attrs.causal, queryOffset: 0,
                                  pool: Threads.pool)
            }

        case .reshape:
            try copyBytes(o, from: p[0], count: out.byteCount)

        case .transpose(let perm):
            RuntimeOps.transpose(x: p[0], shape: ins[0].shape, perm: perm, out: o, elementSize: out.dtype.byteSize)

        case .slice(let axis, let start, _):
            let a = axis < 0 ? axis + out.shape.count : axis
            RuntimeOps.slice(x: p[0], shape: ins[0].shape, axis: a, start: start, outShape: out.shape, out: o,
                             elementSize: out.dtype.byteSize)

        case .concat(let axis):
            let a = axis < 0 ? axis + out.shape.count : axis
            RuntimeOps.concat(inputs: p, shapes: ins.map(\.shape), axis: a, out: o, elementSize: out.dtype.byteSize)

        case .meanPool:
            let (b, s, h) = (ins[0].shape[0], ins[0].shape[1], ins[0].shape[2])
            Kernels.meanPool(f32(p[0]), mask: i32(p[1]), f32(o), batch: b, seq: s, hidden: h)

        case .l2Normalize(let axis, let eps):
            let rank = out.shape.count
            guard axis == -1 || axis == rank - 1 else {
                throw IngotError(.unsupported, location: "l2_normalize", "axis \(axis): only the last axis is supported")
            }
            let h = out.shape.last!
            Kernels.l2Normalize(f32(p[0]), f32(o), rows: out.elementCount / h, cols: h, eps: eps)

        case .cast(let to):
            try RuntimeOps.cast(x: p[0], from: ins[0].dtype, out: o, to: to, count: out.elementCount)

        case .linear(let activation):
            let k = ins[0].shape.last!, nOut = out.shape.last!
            Kernels.linear(f32(p[0]), f32(p[1]), bias: p.count == 3 ? UnsafePointer(f32(p[2])) : nil, f32(o),
                           m: ins[0].elementCount / max(k, 1), n: nOut, k: k, activation: epilogue(activation), pool: Threads.pool)

        case .linearInt8(let attrs):
            let k = ins[0].shape.last!, nOut = out.shape.last!
            let hasBias = p.count - 3 - (attrs.smoothed ? 1 : 0) == 1
            try Int8Execution.linear(x: f32(p[0]), weights: p[1].assumingMemoryBound(to: Int8.self), scales: f32(p[2]),
                                     bias: hasBias ? UnsafePointer(f32(p[3])) : nil,
                                     smooth: attrs.smoothed ? UnsafePointer(f32(p[p.count - 1])) : nil, out: f32(o),
                                     m: ins[0].elementCount / max(k, 1), n: nOut, k: k, attributes: attrs,
                                     activation: epilogue(attrs.activation), scratch: scratch)

        case .linearInt8Packed(let attributes):
            let (activation, inputBits, smoothed) = (attributes.activation, attributes.inputBits, attributes.smoothed)
            let k = ins[0].shape.last!, nOut = out.shape.last!
            let hasBias = p.count - 4 - (smoothed ? 1 : 0) == 1
            try Int8Execution.packedLinear(x: f32(p[0]), weights: p[1].assumingMemoryBound(to: Int8.self), scales: f32(p[2]), colsums: i32(p[3]),
                                           bias: hasBias ? UnsafePointer(f32(p[4])) : nil,
                                           smooth: smoothed ? UnsafePointer(f32(p[p.count - 1])) : nil, out: f32(o),
                                           m: ins[0].elementCount / max(k, 1), n: nOut, k: k, inputBits: inputBits,
                                           activation: epilogue(activation), scratch: scratch)

        case .linearSparse(let activation):
            let k = ins[0].shape.last!, nOut = out.shape.last!, m = ins[0].elementCount / max(k, 1)
            Kernels.linearSparse(f32(p[0]), values: f32(p[1]), columns: p[2].assumingMemoryBound(to: Int16.self), rowOffsets: i32(p[3]),
                                 bias: p.count == 5 ? UnsafePointer(f32(p[4])) : nil, f32(o), m: m, n: nOut, k: k,
                                 activation: epilogue(activation), scratch: scratch?.assumingMemoryBound(to: Float.self), pool: Threads.pool)

        case .gatherInt8(let group):
            let (vocab, width) = (ins[0].shape[0], ins[0].shape[1])
            try RuntimeOps.gatherInt8(table: p[0].assumingMemoryBound(to: Int8.self), scales: f32(p[1]), rows: vocab, width: width,
                                      group: group, ids: i32(p[2]), count: ins[2].elementCount, out: f32(o),
                                      tableName: graph[node.inputs[0]].name)

        case .swiglu:
            let half = out.shape.last!
            Kernels.swiglu(f32(p[0]), f32(o), rows: out.elementCount / max(half, 1), half: half, pool: Threads.pool)

        case .addLayerNorm(let eps):
            let h = out.shape.last!
            Kernels.addLayerNorm(f32(p[0]), f32(p[1]), gamma: f32(p[2]), beta: f32(p[3]), out: f32(o), sum: f32(os[1]),
                                 rows: out.elementCount / h, cols: h, eps: eps, pool: Threads.pool)

        case .addRMSNorm(let eps):
            let h = out.shape.last!
            Kernels.addRMSNorm(f32(p[0]), f32(p[1]), weight: f32(p[2]), out: f32(o), sum: f32(os[1]),
                               rows: out.elementCount / h, cols: h, eps: eps, pool: Threads.pool)

        case .split(let axis, let sizes):
            let a = axis < 0 ? axis + out.shape.count : axis
            var start = 0
            for (i, size) in sizes.enumerated() {
                RuntimeOps.slice(x: p[0], shape: ins[0].shape, axis: a, start: start, outShape: outs[i].shape, out: os[i],
                                 elementSize: outs[i].dtype.byteSize)
                start += size
            }
        }
    }
}
