// Fuzz target: the ONNX reader on one .onnx file, as `ingot build model.onnx` reads it —
// protobuf decoding, every initializer's type, dims and data (raw_data or the typed fields),
// node attributes, inputs and outputs — then the importer without a tokenizer: the
// unsupported-op listing, shape folding and the pattern rewrites.
import FuzzSupport
import IngotCheckpoint
import IngotImport

let path = Scratch.file("model.onnx")

Fuzz.run { bytes in
    Scratch.write(bytes, to: path)
    guard Fuzz.reading("onnx", file: path, { try ONNXModel(path: path) }) != nil else { return }
    _ = Fuzz.reading("onnx import", file: path) { try ONNXImporter.importModel(path: path, tokenizer: nil) }
}
