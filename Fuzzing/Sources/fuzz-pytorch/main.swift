// Fuzz target: the restricted unpickler and the PyTorch `.bin` layouts (zip with data.pkl and
// STORED storages; the legacy magic-number pickle stream), as the importer reads a
// pytorch_model.bin — every opcode, global, storage reference and view — then every tensor of
// at most 2²⁰ elements converted to float32. A forbidden global must come back as an error,
// never as a call. It does not fuzz the importer's graph building.
import FuzzSupport
import IngotCheckpoint

let path = Scratch.file("pytorch_model.bin")

Fuzz.run { bytes in
    Scratch.write(bytes, to: path)
    guard let checkpoint = Fuzz.reading("pytorch", file: path, { try PyTorchCheckpoint(path: path) }) else { return }
    for name in checkpoint.tensorNames {
        guard let info = checkpoint.tensor(named: name), info.elementCount <= 1 << 20 else { continue }
        _ = Fuzz.reading("pytorch floats", file: path) { try checkpoint.floats(name) }
    }
}
