// Fuzz target: the safetensors reader on one .safetensors file, as `ingot inspect` and the
// importer read it — header length, header JSON, every entry's dtype, shape and offsets, the
// overlap and gap rules — then every tensor of at most 2²⁰ elements converted to float32.
import FuzzSupport
import IngotCheckpoint
import IngotCompiler

let path = Scratch.file("model.safetensors")

Fuzz.run { bytes in
    Scratch.write(bytes, to: path)
    _ = Fuzz.reading("inspect", file: path) { try Inspector.inspect(path) }
    guard let checkpoint = Fuzz.reading("safetensors", file: path, { try SafetensorsCheckpoint(path: path) }) else { return }
    for name in checkpoint.tensorNames {
        guard let info = checkpoint.tensor(named: name), info.elementCount <= 1 << 20 else { continue }
        _ = Fuzz.reading("safetensors floats", file: path) { try checkpoint.floats(name) }
    }
}
