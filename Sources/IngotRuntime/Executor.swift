// Executor: runs an ExecutionPlan step by step over one arena: resolves each step's operand
// addresses for this call and invokes the kernel call its op's lowering built (Lowering/).
// Keeps no state between calls except what a Session hands it (arena, KV caches). Shape
// checks on caller inputs happen in Session; here shapes are trusted from the plan. No op's
// code lives here.

import IngotCore
import IngotIR

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
        address(v.storage, &ctx)
    }

    static func address(_ storage: PlannedValue.Storage, _ ctx: inout ExecutionContext) -> UnsafeMutableRawPointer {
        switch storage {
        case .arena(let offset): return ctx.arena + offset
        case .constant(let buffer): return UnsafeMutableRawPointer(mutating: buffer.raw.baseAddress!)
        case .input(let i):
            return ctx.inputs[i].withRawBytes { UnsafeMutableRawPointer(mutating: $0.baseAddress!) }
        }
    }

    static func run(plan: ExecutionPlan, context ctx: inout ExecutionContext) throws {
        for step in plan.steps {
            let buffers = NodeBuffers(inputs: step.inputs.map { address($0, &ctx) }, outputs: step.outputs.map { address($0, &ctx) },
                                      scratch: step.scratchOffset.map { ctx.arena + $0 })
            try step.call(buffers, &ctx)
        }
    }

    /// memmove as a throwing call. A plain `copyMemory` as the last statement of a case was
    /// compiled (Swift 6.3, release) into a tail call made while the swifterror register r12
    /// still held a scratch value, so the caller saw a garbage error and crashed
    /// (DecomposedAttentionTests). A call to a throwing function gets r12 set up properly.
    /// Kernel calls (`KernelCall`) are throwing closures: one that ends in a memmove copies through here.
    @inline(never)
    static func copyBytes(_ destination: UnsafeMutableRawPointer, from source: UnsafeMutableRawPointer, count: Int) throws {
        destination.copyMemory(from: source, byteCount: count)
    }
}
