// ExecutionPlan: a graph bound to concrete sizes (batch, seq) — every value's shape
// resolved, every intermediate given an offset in one arena, reused by liveness (a buffer
// is freed after its last use), and every node's kernel call built by its op's lowering
// (Lowering/) with its sizes fixed. Built once per (batch, seq); executing a plan allocates
// no tensors. It does not run kernels (Executor does).

import IngotCore
import IngotIR

struct PlannedValue {
    enum Storage {
        /// Caller-provided input at index i of `graph.inputs`.
        case input(Int)
        /// A weight, shared by every session.
        case constant(TensorBuffer)
        /// Bytes at this offset of the session's arena.
        case arena(offset: Int)
    }

    var shape: [Int]
    var dtype: DType
    var storage: Storage

    var elementCount: Int { shape.reduce(1, *) }
    var byteCount: Int { elementCount * dtype.byteSize }
}

/// One node of a plan: where its operands live and its kernel call.
struct PlannedStep {
    let inputs: [PlannedValue.Storage]
    let outputs: [PlannedValue.Storage]
    /// Arena offset of the temporary buffer the node's lowering asked for (`KernelLowering.scratchBytes`).
    let scratchOffset: Int?
    let call: KernelCall
}

struct ExecutionPlan {
    let bindings: [String: Int]
    var values: [PlannedValue?]
    /// Bytes the arena needs.
    let arenaBytes: Int
    /// One per graph node, in order.
    let steps: [PlannedStep]

    static let alignment = 64

    /// Resolves shapes and assigns arena offsets. `constants` maps constant value ids to their data.
    init(graph: Graph, bindings: [String: Int], constants: [ValueID: TensorBuffer]) throws {
        self.bindings = bindings
        var values = [PlannedValue?](repeating: nil, count: graph.values.count)
        func resolve(_ id: ValueID) throws -> [Int] {
            let v = graph[id]
            guard let sizes = v.type.shape.resolved(bindings) else {
                throw IngotError(.shape, location: "value '\(v.name)'", "shape \(v.type.shape) has a symbol not bound by \(bindings)")
            }
            return sizes
        }
        for (i, id) in graph.inputs.enumerated() {
            values[id.index] = PlannedValue(shape: try resolve(id), dtype: graph[id].type.dtype, storage: .input(i))
        }
        for c in graph.constants {
            guard let data = constants[c.value] else {
                throw IngotError(.format, location: "constant '\(graph[c.value].name)'", "has no tensor data")
            }
            values[c.value.index] = PlannedValue(shape: try resolve(c.value), dtype: graph[c.value].type.dtype, storage: .constant(data))
        }

        // Last use of every value (graph outputs live to the end).
        var lastUse = [Int](repeating: -1, count: graph.values.count)
        for (n, node) in graph.nodes.enumerated() { for input in node.inputs { lastUse[input.index] = n } }
        for o in graph.outputs { lastUse[o.index] = Int.max }

        var arena = ArenaAllocator()
        var steps: [PlannedStep] = []
        steps.reserveCapacity(graph.nodes.count)
        for (n, node) in graph.nodes.enumerated() {
            let lowering = try node.op.kernelLowering()
            for o in node.outputs {
                let shape = try resolve(o)
                let dtype = graph[o].type.dtype
                let bytes = (shape.reduce(1, *)) * dtype.byteSize
                values[o.index] = PlannedValue(shape: shape, dtype: dtype, storage: .arena(offset: arena.allocate(bytes, id: o.index)))
            }
            let scratch = lowering.scratchBytes(node.op, inputShapes: try node.inputs.map(resolve), dtypes: node.inputs.map { graph[$0].type.dtype })
            var scratchOffset: Int? = nil
            if scratch > 0 {
                let id = -(n + 1)
                scratchOffset = arena.allocate(scratch, id: id)
                arena.free(id: id)
            }
            func planned(_ id: ValueID) throws -> PlannedValue {
                guard let v = values[id.index] else {
                    throw IngotError(.internal, location: "value '\(graph[id].name)'", "used by node \(n) before it is produced")
                }
                return v
            }
            let bound = PlannedNode(index: n, node: node, inputs: try node.inputs.map(planned), outputs: try node.outputs.map(planned))
            steps.append(PlannedStep(inputs: bound.inputs.map(\.storage), outputs: bound.outputs.map(\.storage),
                                     scratchOffset: scratchOffset, call: try lowering.kernel(for: bound, in: graph)))
            // Free inputs whose last use is this node. Outputs are allocated first so no
            // kernel writes into a buffer it is still reading.
            for input in Set(node.inputs.map(\.index)) where lastUse[input] == n {
                if case .arena = values[input]?.storage { arena.free(id: input) }
            }
            for o in node.outputs where lastUse[o.index] == -1 { arena.free(id: o.index) }
        }
        self.values = values
        self.arenaBytes = arena.peak
        self.steps = steps
    }
}

/// Best-fit offset allocator over one linear arena; tracks the peak size.
struct ArenaAllocator {
    private var free: [(offset: Int, size: Int)] = []
    private var live: [Int: (offset: Int, size: Int)] = [:]
    private(set) var peak = 0

    mutating func allocate(_ bytes: Int, id: Int) -> Int {
        let size = max((bytes + ExecutionPlan.alignment - 1) / ExecutionPlan.alignment * ExecutionPlan.alignment, ExecutionPlan.alignment)
        var best: Int? = nil
        for (i, block) in free.enumerated() where block.size >= size {
            if best == nil || block.size < free[best!].size { best = i }
        }
        let offset: Int
        if let b = best {
            offset = free[b].offset
            if free[b].size == size { free.remove(at: b) } else { free[b] = (offset + size, free[b].size - size) }
        } else if let last = free.last, last.offset + last.size == peak {
            // Grow the arena from a free block at its end.
            offset = last.offset
            free.removeLast()
            peak = offset + size
        } else {
            offset = peak
            peak += size
        }
        live[id] = (offset, size)
        return offset
    }

    mutating func free(id: Int) {
        guard let block = live.removeValue(forKey: id) else { return }
        free.append(block)
        free.sort { $0.offset < $1.offset }
        // Merge neighbours.
        var merged: [(offset: Int, size: Int)] = []
        for b in free {
            if let last = merged.last, last.offset + last.size == b.offset {
                merged[merged.count - 1].size += b.size
            } else {
                merged.append(b)
            }
        }
        free = merged
    }
}
