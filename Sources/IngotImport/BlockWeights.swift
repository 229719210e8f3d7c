// BlockWeights: after a GGUF import, keeps the weights GGUF stores block-quantized (q4_0 …
// q6_K) in their block dtype (Formats/ingot-v1.md, "Block-quantized dtypes") instead of float32,
// when every use of the weight can read blocks: the weight operand of a transposed matmul or a
// linear, or a gather table. Their bytes are the GGUF file's, unchanged. Other weights (norms,
// biases, anything used otherwise, types Ingot has no block kernel for) stay float32. It does
// not build graphs or decide anything about architectures.

import IngotCore
import IngotCheckpoint
import IngotIR

/// How a GGUF's block-quantized weights reach the artifact.
public enum BlockWeightChoice: String, Sendable, CaseIterable {
    /// Kept as stored (the default of `ingot build`).
    case native
    /// Expanded to float32 at build (`ingot build --dequantize`; the passes' input).
    case float32
}

enum BlockWeights {
    /// Retypes eligible constants of `graph` to their block dtype with the GGUF bytes as their
    /// source; returns how many it retyped.
    @discardableResult
    static func keepNative(_ graph: inout Graph, file: GGUFFile) throws -> Int {
        var blockUse: [ValueID: Bool] = [:]
        for node in graph.nodes {
            for (i, input) in node.inputs.enumerated() where graph.isConstant(input) {
                let readsBlocks: Bool
                switch node.op {
                case .matmul(let transposeB): readsBlocks = transposeB && i == 1
                case .linear: readsBlocks = i == 1
                case .gather: readsBlocks = i == 0
                default: readsBlocks = false
                }
                blockUse[input] = (blockUse[input] ?? true) && readsBlocks
            }
        }
        let base = file.path.split(separator: "/").last.map(String.init) ?? file.path
        var retyped = 0
        for (index, constant) in graph.constants.enumerated() {
            let id = constant.value
            let value = graph[id]
            guard blockUse[id] == true, let info = file.tensor(named: value.name), let dtype = info.type.blockDType,
                  value.type.dtype == .f32, let shape = value.type.shape.fixedSizes, shape.count == 2, shape == info.shape,
                  shape[1] % dtype.blockSize == 0, dtype.byteCount(shape: shape) == info.byteCount else { continue }
            let mapped = file.file
            let bytes = file.rawBytes(info)
            graph.values[id.index].type = TensorType(dtype, value.type.shape)
            graph.constants[index].source = ConstantSource(origin: "\(base):\(value.name) (\(info.type.name), kept as stored)", loader: {
                TensorBuffer(borrowing: bytes, owner: mapped)
            }, release: {
                mapped.dropPages(info.offset..<(info.offset + info.byteCount))
            })
            retyped += 1
        }
        if retyped > 0 { try graph.verify() }
        return retyped
    }
}
