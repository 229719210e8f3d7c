// Linear: `linear`, the fused float layer act(x·wᵀ + bias). Encoder graphs (no KV cache) run
// it on weights packed once into panels (Kernels.panelLinear): rows come out bit-identical
// whatever the batch and no weight is re-packed per call. Decoder graphs keep sgemm on the
// weights as stored (no second copy of a language model's weights); block-quantized weights run
// BlockQuantKernels (MatMul.swift's blockLinear). INGOT_FLOAT_LINEAR=blas
// selects sgemm everywhere (for same-binary speed comparisons). The int8 layers are in
// Int8Linear.swift, the CSR one in SparseLinear.swift.

import IngotCore
import IngotIR
import IngotKernels

#if canImport(Glibc)
import Glibc
#endif

extension Ops.Linear: KernelLowering {
    /// Decoded weight tiles when w is block-quantized and x has many rows.
    static func scratchBytes(_ op: Op, inputShapes: [[Int]], dtypes: [DType]) -> Int {
        blockWeightScratch(inputShapes: inputShapes, dtypes: dtypes)
    }

    static func kernel(for node: PlannedNode, in graph: Graph) throws -> KernelCall {
        guard case .linear(let activation) = node.op else { throw otherOp(node.op) }
        // x [m…, k], w [n, k][, bias [n]] → [m…, n]
        let k = node.inputs[0].shape.last!, n = node.outputs[0].shape.last!
        let m = node.inputs[0].elementCount / max(k, 1)
        let hasBias = node.inputs.count == 3
        let act = EpilogueActivation(activation)
        if node.inputs[1].dtype.isBlockQuantized { return try blockLinear(node, bias: hasBias, activation: act) }
        if FloatLinearChoice.panels, !graph.keepsKVCache, node.inputs[1].dtype == .f32,
           case .constant(let weights) = node.inputs[1].storage, m > 0, n > 0, k > 0 {
            let packed = PackedWeightCache.shared.panels(for: weights, n: n, k: k)
            return { b, _ in
                Kernels.panelLinear(b.f32(0), packed, bias: hasBias ? UnsafePointer(b.f32(2)) : nil, b.out(),
                                    m: m, activation: act, pool: Threads.pool)
            }
        }
        return { b, _ in
            Kernels.linear(b.f32(0), b.f32(1), bias: hasBias ? UnsafePointer(b.f32(2)) : nil, b.out(),
                           m: m, n: n, k: k, activation: act, pool: Threads.pool)
        }
    }
}

/// Which kernel float linear layers of encoder graphs use: panels unless INGOT_FLOAT_LINEAR=blas.
enum FloatLinearChoice {
    static let panels: Bool = {
        guard let value = getenv("INGOT_FLOAT_LINEAR") else { return true }
        return String(cString: value) != "blas"
    }()
}

extension Graph {
    /// True when some attention node keeps a KV cache (a decoder).
    var keepsKVCache: Bool {
        nodes.contains { node in
            if case .attention(let a) = node.op { return a.kvCache }
            return false
        }
    }
}

/// Packed panels per weight buffer, shared by every plan and session of a model: a model's
/// weights are packed once, not once per input shape. Holds the panels weakly (the plans'
/// kernel calls own them), so they go when the last plan using them goes.
final class PackedWeightCache: @unchecked Sendable {
    static let shared = PackedWeightCache()

    private struct Entry {
        weak var buffer: TensorBuffer?
        weak var panels: PackedFloatWeights?
    }

    private var entries: [ObjectIdentifier: Entry] = [:]
    private var mutex = pthread_mutex_t()

    private init() { pthread_mutex_init(&mutex, nil) }

    func panels(for buffer: TensorBuffer, n: Int, k: Int) -> PackedFloatWeights {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        let key = ObjectIdentifier(buffer)
        if let entry = entries[key], entry.buffer === buffer, let panels = entry.panels, panels.n == n, panels.k == k {
            return panels
        }
        entries = entries.filter { $0.value.buffer != nil && $0.value.panels != nil }
        let weights = buffer.raw.baseAddress!.assumingMemoryBound(to: Float.self)
        let panels = PackedFloatWeights(weights, n: n, k: k)
        entries[key] = Entry(buffer: buffer, panels: panels)
        return panels
    }
}
