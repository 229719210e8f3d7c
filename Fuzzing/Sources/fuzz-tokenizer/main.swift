// Fuzz target: the tokenizer an artifact carries (the TOKN section, IngotCore.TokenizerSpec
// decoding, Formats/tokenizer-v1.md), then the runtime tokenizer built from it encoding and
// decoding sample text, and its chat template (parsed and rendered by the Jinja interpreter).
import FuzzSupport
import IngotCore
import IngotRuntime

Fuzz.run { bytes in
    guard let spec = Fuzz.reading("TOKN", file: "TOKN", { try TokenizerSpec(decoding: bytes, file: "TOKN") }),
          let tokenizer = Fuzz.reading("tokenizer", file: nil, { try makeTokenizer(spec) }) else { return }
    Fuzz.exercise(tokenizer, text: Fuzz.sampleText)
    if let template = Fuzz.reading("chat template", file: nil, { try ChatTemplate(spec: spec) }),
       let text = Fuzz.reading("chat template render", file: nil, { try template.render([(role: "user", content: Fuzz.sampleText)]) }) {
        Fuzz.exercise(tokenizer, text: text)
        _ = template.endOfTurnToken(tokenizer)
    }
}
