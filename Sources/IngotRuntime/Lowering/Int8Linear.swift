// Int8Linear: `linear_int8` (int8 weights with group scales; dynamic, static or weight-only
// activations) and `linear_int8_packed` (weights in PackedInt8Layout, asymmetric u8 rows).
// Int8Execution sequences their kernels; this file binds nodes to it, sizes its scratch and
// checks packed weights at load.

import IngotCore
import IngotIR
import IngotKernels

extension Ops.LinearInt8: KernelLowering {
    /// Quantized input rows unless weight-only (Int8Execution.scratchBytes).
    static func scratchBytes(_ op: Op, inputShapes: [[Int]]) -> Int {
        guard case .linearInt8(let a) = op, let x = inputShapes.first, let k = x.last, k > 0 else { return 0 }
        return Int8Execution.scratchBytes(m: x.reduce(1, *) / k, k: k, attributes: a)
    }

    static func kernel(for node: PlannedNode, in graph: Graph) throws -> KernelCall {
        guard case .linearInt8(let attributes) = node.op else { throw otherOp(node.op) }
        // x [m…, k], w [n, k] i8, scales [n, k/group][, bias [n]][, smooth [k]] → [m…, n]
        let k = node.inputs[0].shape.last!, n = node.outputs[0].shape.last!, m = node.inputs[0].elementCount / max(k, 1)
        let inputCount = node.inputs.count
        let hasBias = inputCount - 3 - (attributes.smoothed ? 1 : 0) == 1
        let act = EpilogueActivation(attributes.activation)
        return { b, _ in
            try Int8Execution.linear(x: b.f32(0), weights: b.i8(1), scales: b.f32(2),
                                     bias: hasBias ? UnsafePointer(b.f32(3)) : nil,
                                     smooth: attributes.smoothed ? UnsafePointer(b.f32(inputCount - 1)) : nil, out: b.out(),
                                     m: m, n: n, k: k, attributes: attributes, activation: act, scratch: b.scratch)
        }
    }
}

extension Ops.LinearInt8Packed: KernelLowering {
    /// Packed weights stay within the kernel's no-saturation bound for the node's input_bits (±63
    /// for 8, ±127 for 7) and each colsums[n] equals its row's sum, including zero padding past
    /// N and K. A hostile artifact would otherwise give silently wrong numbers.
    static func checkWeights(of node: Node, in graph: Graph, constants: [ValueID: TensorBuffer], file: String) throws {
        guard case .linearInt8Packed(let attributes) = node.op else { throw otherOp(node.op) }
        let inputBits = attributes.inputBits
        let limit = PackedInt8Layout.maxWeight(inputBits: inputBits)
        let name = graph[node.outputs[0]].name
        guard let k = graph.type(of: node.inputs[0]).shape.dims.last?.fixedValue,
              let n = graph.type(of: node.inputs[2]).shape.dims.first?.fixedValue,
              let packed = constants[node.inputs[1]], let colsums = constants[node.inputs[3]] else {
            throw IngotError(.format, file: file, location: "linear_int8_packed '\(name)'", "needs a fixed input dimension and constant packed weights")
        }
        let bytes = packed.toArray(of: Int8.self)
        if let bad = bytes.firstIndex(where: { $0 > limit || $0 < -limit }) {
            throw IngotError(.format, file: file, location: "tensor '\(graph[node.inputs[1]].name)'",
                             "byte \(bad) is \(bytes[bad]), expected -\(limit)...\(limit) for input_bits \(inputBits)")
        }
        let shape = PackedInt8Layout.shape(outputs: n, inputs: k)
        let (panels, blocks) = (shape[0], shape[1])
        let panel = PackedInt8Layout.panel, width = PackedInt8Layout.inputBlock
        guard bytes.count == panels * blocks * panel * width else {
            throw IngotError(.format, file: file, location: "tensor '\(graph[node.inputs[1]].name)'",
                             "\(bytes.count) bytes, expected \(panels * blocks * panel * width) for N \(n), K \(k)")
        }
        var sums = [Int32](repeating: 0, count: panels * panel)
        try bytes.withUnsafeBufferPointer { w in
            // w[((p·blocks + b)·16 + c)·4 + t] is row 16p + c, input 4b + t.
            for p in 0..<panels {
                for b in 0..<blocks {
                    let block = (p * blocks + b) * panel * width
                    for c in 0..<panel {
                        var s: Int32 = 0
                        for t in 0..<width {
                            let v = w[block + c * width + t]
                            if b * width + t >= k, v != 0 {
                                throw IngotError(.format, file: file, location: "tensor '\(graph[node.inputs[1]].name)'",
                                                 "padding byte \(block + c * width + t) (input \(b * width + t) ≥ K \(k)) is \(v), expected 0")
                            }
                            s += Int32(v)
                        }
                        sums[p * panel + c] += s
                    }
                }
            }
        }
        let expected = colsums.toArray(of: Int32.self)
        for j in 0..<sums.count where j >= n ? sums[j] != 0 : sums[j] != expected[j] {
            throw IngotError(.format, file: file, location: "tensor '\(graph[node.inputs[j >= n ? 1 : 3]].name)'",
                             j >= n ? "padding row \(j) (≥ N \(n)) sums to \(sums[j]), expected 0"
                                    : "colsums[\(j)] is \(expected[j]), but the packed row sums to \(sums[j])")
        }
    }

    /// Quantized u8 input rows with their scales and zero points (Int8Execution.packedScratchBytes).
    static func scratchBytes(_ op: Op, inputShapes: [[Int]]) -> Int {
        guard case .linearInt8Packed(let a) = op, let x = inputShapes.first, let k = x.last, k > 0 else { return 0 }
        return Int8Execution.packedScratchBytes(m: x.reduce(1, *) / k, k: k, smoothed: a.smoothed)
    }

    static func kernel(for node: PlannedNode, in graph: Graph) throws -> KernelCall {
        guard case .linearInt8Packed(let attributes) = node.op else { throw otherOp(node.op) }
        // x [m…, k], w [⌈n/16⌉, ⌈k/4⌉, 64] i8, scales [n], colsums [n] i32[, bias [n]][, smooth [k]] → [m…, n]
        let (inputBits, smoothed) = (attributes.inputBits, attributes.smoothed)
        let k = node.inputs[0].shape.last!, n = node.outputs[0].shape.last!, m = node.inputs[0].elementCount / max(k, 1)
        let inputCount = node.inputs.count
        let hasBias = inputCount - 4 - (smoothed ? 1 : 0) == 1
        let act = EpilogueActivation(attributes.activation)
        return { b, _ in
            try Int8Execution.packedLinear(x: b.f32(0), weights: b.i8(1), scales: b.f32(2), colsums: b.i32(3),
                                           bias: hasBias ? UnsafePointer(b.f32(4)) : nil,
                                           smooth: smoothed ? UnsafePointer(b.f32(inputCount - 1)) : nil, out: b.out(),
                                           m: m, n: n, k: k, inputBits: inputBits, activation: act, scratch: b.scratch)
        }
    }
}
