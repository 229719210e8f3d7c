// Fuzz target: a .ingot artifact through `ingot inspect --verify` (Inspector with full
// verification: header, section table, every checksum, tensor index, graph codec and
// verifier, constants against the index, tokenizer section), then through the runtime as
// `ingot run` opens it (Model: lowering and weight checks) and one run of a session on small
// inputs (int32 zeros, float32 halves; batch 1, other symbolic dimensions 2). The input's checksums
// are rewritten first (ChecksumRepair) so mutations get past them.
import FuzzSupport
import IngotCompiler
import IngotCore
import IngotRuntime

let path = Scratch.file("model.ingot")

/// Inputs of the graph's declared types with `batch` bound to 1 (what KV-cache sessions
/// run) and every other symbol to 2; nil when a type is not one a caller can pass or a
/// tensor would exceed 4,096 elements.
func smallInputs(_ model: Model) -> [String: HostTensor]? {
    var inputs: [String: HostTensor] = [:]
    for id in model.graph.inputs {
        let value = model.graph[id]
        let shape = value.type.shape.dims.map { dim -> Int in
            switch dim {
            case .fixed(let n): return n
            case .symbol(let name): return name == "batch" ? 1 : 2
            }
        }
        guard let count = Shape.checkedProduct(shape), count <= 4096 else { return nil }
        switch value.type.dtype {
        case .i32: inputs[value.name] = HostTensor(shape: shape, ints: [Int32](repeating: 0, count: count))
        case .f32: inputs[value.name] = HostTensor(shape: shape, floats: [Float](repeating: 0.5, count: count))
        case .f16, .bf16, .f64, .i8, .u8, .i16, .i64, .bool, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q4_K, .q5_K, .q6_K: return nil
        }
    }
    return inputs
}

Fuzz.run { bytes in
    var artifact = Array(bytes)
    ChecksumRepair.repair(&artifact)
    Scratch.write(artifact, to: path)
    guard Fuzz.reading("inspect --verify", file: path, { try Inspector.inspect(path, verify: true) }) != nil,
          let model = Fuzz.reading("Model", file: path, { try Model(path: path) }),
          let inputs = smallInputs(model) else { return }
    _ = Fuzz.reading("session run", file: nil) { try model.makeSession(maxContext: 64).run(inputs: inputs) }
}
