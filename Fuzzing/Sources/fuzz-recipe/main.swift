// Fuzz target: the pass recipe reader of `ingot build --recipe` (IngotCLI.RecipeFile: YAML
// through Yams, or JSON when the input starts with "{", into the pass manager's recipe form),
// and the same bytes as `--passes` text (Pipeline.parse).
import FuzzSupport
@testable import IngotCLI
import IngotPasses

let yamlPath = Scratch.file("recipe.yaml")
let jsonPath = Scratch.file("recipe.json")

Fuzz.run { bytes in
    let path = bytes.first == UInt8(ascii: "{") ? jsonPath : yamlPath
    Scratch.write(bytes, to: path)
    _ = Fuzz.reading("recipe", file: path) { try RecipeFile.load(path) }
    let text = String(decoding: bytes, as: UTF8.self)
    _ = Fuzz.reading("--passes", file: nil) { try Pipeline.parse(text) }
}
