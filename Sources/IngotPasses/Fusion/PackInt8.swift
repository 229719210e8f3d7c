// pack: stores the weights of dynamic per-channel int8 linear layers in the panel layout the
// packed kernel reads (PackedInt8Layout, Formats/ops.md), with each output's weight sum, so
// the runtime multiplies unsigned activation bytes by signed weights with no per-step sign
// fix-ups and no horizontal sums:
//
//     @w.q8: i8[N, K] (|q| ≤ 63)   @w.q8.scales: f32[N, 1]
//     %y = linear_int8(%x, @w.q8, @w.q8.scales, @b) {group = K, mode = dynamic, …}
//   →
//     @w.q8.packed: i8[⌈N/16⌉, ⌈K/4⌉, 64]   @w.q8.scales.n: f32[N]   @w.q8.colsums: i32[N]
//     %y = linear_int8_packed(%x, @w.q8.packed, @w.q8.scales.n, @w.q8.colsums, @b) {activation = …, input_bits = 8, smoothed = …}
//
// Activations become asymmetric codes per row, x ≈ s·(q − z), so
//   x·wᵀ ≈ s·scale_w·(Σ_k q[k]·w[n, k] − z·colsums[n]),
// exact in int32 while every vpmaddubsw pair sum stays below 2^15: u8 codes (input_bits 8)
// need |w| ≤ 63, the weights of `quantize=int8:weight-bits=7`; with `eight-bit=u7`, 8-bit
// weights are packed too, with codes 0...127 (input_bits 7, half the activation resolution).
// It does not fire on 8-bit weights unless asked, block-wise scales (group < K), static or
// weight-only layers, or weights without data. Runs after `quantize`, last in a pipeline.

import IngotCore
import IngotIR

extension Pass {
    /// Runs after `quantize` (it rewrites what quantize produced), last in a pipeline.
    /// quantize measures its candidates packed the same way (PassContext.passesAfter).
    public static let pack = Pass(
        name: "pack", summary: "pre-pack int8 weights into the packed kernel's panel layout",
        options: [
            PassOption("eight-bit", .choice(["keep", "u7"]), default: "keep",
                       "8-bit weights: kept for the s8 × s8 kernel, or packed with 7-bit activation codes"),
        ],
        requires: ["quantize"],
        body: { g, options, _ in try packInt8(&g, packEightBit: try options["eight-bit"] == "u7") })

    /// `memo`: packed weights kept across calls on graphs that share int8 weight sources
    /// (quantize's candidate graphs); nil packs on demand when the constants are read.
    static func packInt8(_ g: inout Graph, packEightBit: Bool, memo: PackMemo? = nil) throws -> PassRecord {
        var rw = Rewriter()
        var rowMajorBytes = 0, packedBytes = 0, skippedWide = 0, sevenBitInputs = 0
        let users = g.users()
        for (i, node) in g.nodes.enumerated() {
            guard case .linearInt8(let a) = node.op, a.mode == .dynamic else { continue }
            let (x, w, scales) = (node.inputs[0], node.inputs[1], node.inputs[2])
            guard let dims = g.type(of: w).shape.fixedSizes, dims.count == 2, a.group == dims[1],
                  dims[1] <= PackedInt8Layout.maxInputs, users[w.index].count == 1, users[scales.index].count == 1,
                  let source = g.constant(w)?.source else { continue }
            let (n, k) = (dims[0], dims[1])
            let entry = try memo?.entry(source, outputs: n, inputs: k) ?? PackMemo.Entry(source, outputs: n, inputs: k, keepPanels: false)
            let inputBits = entry.fitsSevenBitWeights ? 8 : 7
            guard inputBits == 8 || (packEightBit && !entry.containsInt8Min) else {
                skippedWide += 1
                continue
            }
            if inputBits == 7 { sevenBitInputs += 1 }
            let name = g[w].name
            let packedType = TensorType(.i8, Shape(fixed: PackedInt8Layout.shape(outputs: n, inputs: k)))
            let packed: ValueID, colsums: ValueID
            if let panels = entry.panels, let sums = entry.rowSums {
                packed = g.addConstant(g.freshName(name + ".packed"), packedType, source: panels)
                colsums = g.addConstant(g.freshName(name + ".colsums"), TensorType(.i32, Shape(fixed: [n])), source: sums)
            } else {
                packed = g.addDerivedConstant(name + ".packed", packedType, parents: [w], origin: "\(name) in 16-column panels") { parents in
                    TensorBuffer(array: PackedInt8Layout.pack(parents[0].toArray(of: Int8.self), outputs: n, inputs: k).packed)
                }
                colsums = g.addDerivedConstant(name + ".colsums", TensorType(.i32, Shape(fixed: [n])), parents: [w],
                                               origin: "row sums of \(name)") { parents in
                    TensorBuffer(array: PackedInt8Layout.rowSums(parents[0].toArray(of: Int8.self), outputs: n, inputs: k))
                }
            }
            let flatScales = g.addDerivedConstant(g[scales].name + ".n", TensorType(.f32, Shape(fixed: [n])), parents: [scales],
                                                  origin: "\(g[scales].name) as one vector") { $0[0] }
            var inputs = [x, packed, flatScales, colsums]
            inputs += node.inputs.dropFirst(3)
            rw.replace(i, with: [Node(op: .linearInt8Packed(PackedLinearAttributes(activation: a.activation, inputBits: inputBits, smoothed: a.smoothed)), inputs: inputs, outputs: node.outputs)])
            rowMajorBytes += n * k + n * 4
            packedBytes += PackedInt8Layout.shape(outputs: n, inputs: k).reduce(1, *) + n * 8
        }
        rw.finish(&g)
        return PassRecord(name: "pack", stats: [("layers_packed", Double(rw.count)), ("layers_7bit_inputs", Double(sevenBitInputs)),
                                                ("layers_skipped_8bit", Double(skippedWide)),
                                                ("weight_bytes_before", Double(rowMajorBytes)), ("weight_bytes_after", Double(packedBytes))])
    }
}

/// What packing needs to know of one int8 weight source — whether it fits the u8 × s7 kernel
/// and whether it holds −128 — and, when memoized, its panels and row sums as sources, so
/// packing many candidate graphs that share the source reads and packs it once.
final class PackMemo: @unchecked Sendable {
    struct Entry {
        /// Held so the object identifier keying the memo is not reused.
        let source: ConstantSource
        let fitsSevenBitWeights: Bool
        let containsInt8Min: Bool
        let panels: ConstantSource?
        let rowSums: ConstantSource?

        init(_ source: ConstantSource, outputs n: Int, inputs k: Int, keepPanels: Bool) throws {
            let values = try source.load().toArray(of: Int8.self)
            self.source = source
            fitsSevenBitWeights = values.allSatisfy { abs(Int($0)) <= Int(PackedInt8Layout.maxWeight(inputBits: 8)) }
            containsInt8Min = values.contains(Int8.min)
            if keepPanels {
                panels = ConstantSource(origin: "packed panels", buffer: TensorBuffer(array: PackedInt8Layout.pack(values, outputs: n, inputs: k).packed))
                rowSums = ConstantSource(origin: "packed row sums", buffer: TensorBuffer(array: PackedInt8Layout.rowSums(values, outputs: n, inputs: k)))
            } else {
                panels = nil
                rowSums = nil
            }
        }
    }

    private var entries: [ObjectIdentifier: Entry] = [:]
    private let lock = PassLock()

    func entry(_ source: ConstantSource, outputs n: Int, inputs k: Int) throws -> Entry {
        lock.lock()
        defer { lock.unlock() }
        if let e = entries[ObjectIdentifier(source)] { return e }
        let e = try Entry(source, outputs: n, inputs: k, keepPanels: true)
        entries[ObjectIdentifier(source)] = e
        return e
    }
}
