// Fuzz target: the GGUF reader on one .gguf file — header, every metadata value type and
// nested arrays, tensor infos, alignment and data ranges — then what `ingot inspect` and
// `ingot build` read from it: the summary, every dequantizable tensor of at most 2²⁰
// elements, the byte-level BPE tokenizer (encoding sample text) and the LLaMA import.
import FuzzSupport
import IngotCheckpoint
import IngotCompiler
@testable import IngotImport
import IngotRuntime

let path = Scratch.file("model.gguf")

Fuzz.run { bytes in
    Scratch.write(bytes, to: path)
    _ = Fuzz.reading("inspect", file: path) { try Inspector.inspect(path) }
    guard let file = Fuzz.reading("gguf", file: path, { try GGUFFile(path: path) }) else { return }
    for t in file.tensors where t.type.traits.dequantizable && t.elementCount <= 1 << 20 {
        _ = Fuzz.reading("dequantize", file: path) { try file.dequantize(t) }
    }
    if let spec = Fuzz.reading("gguf tokenizer", file: path, { try GGUFTokenizer.spec(file, contextLength: 2048) }) ?? nil,
       let tokenizer = Fuzz.reading("tokenizer", file: nil, { try makeTokenizer(spec) }) {
        Fuzz.exercise(tokenizer, text: Fuzz.sampleText)
    }
    _ = Fuzz.reading("import", file: path) { try DecoderImporter.importGGUF(file) }
}
