// Fuzz target: the JSONL reader of `ingot run --input` and `ingot tokenize --input`
// (IngotCLI.readJSONLines: UTF-8 check, one JSON object with a string "text" per line).
import FuzzSupport
@testable import IngotCLI

let path = Scratch.file("input.jsonl")

Fuzz.run { bytes in
    Scratch.write(bytes, to: path)
    _ = Fuzz.reading("jsonl", file: path) { try readJSONLines(path) }
}
