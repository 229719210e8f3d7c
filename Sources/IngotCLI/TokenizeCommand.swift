// `ingot tokenize`: token ids from the tokenizer carried in an artifact, described by a GGUF
// file's tokenizer metadata, or held by a Hugging Face decoder folder (tokenizer.model /
// tokenizer.json), as JSONL. Reads the tokenizer only; it neither loads nor checks the graph
// or weights.

import ArgumentParser
import IngotCore
import IngotImport
import IngotRuntime

#if canImport(Glibc)
import Glibc
#endif

struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Print the token ids of text with an artifact's tokenizer (JSONL {\"id\", \"input_ids\"}).")

    @Argument(help: "The .ingot artifact, a .gguf file (its tokenizer metadata), or a Hugging Face llama/qwen2/gemma3_text folder.")
    var artifact: String

    @Option(name: .long, help: "Text to tokenize (repeatable).")
    var text: [String] = []

    @Option(help: "JSONL file of {\"id\", \"text\"}.")
    var input: String?

    @Flag(help: "Do not add special tokens ([CLS]/[SEP], BOS).")
    var noSpecialTokens = false

    @OptionGroup var trust: TrustOptions

    @OptionGroup var global: GlobalOptions

    func validate() throws {
        guard text.isEmpty != (input == nil) else { throw ValidationError("give --text or --input") }
    }

    func run() throws {
        try reportingErrors {
            // The tokenizer section only: no graph, no weights (a few MB instead of the model).
            let found = artifact.hasSuffix(".gguf") ? try GGUFTokenizer.spec(path: artifact)
                : isDirectory(artifact) ? try HuggingFaceTokenizer.spec(folder: artifact)
                : try Model.tokenizerSpec(artifact: artifact, trust: try trust.trust())
            guard let spec = found else {
                throw IngotError(.unsupported, file: artifact, "the \(artifact.hasSuffix(".gguf") ? "file" : isDirectory(artifact) ? "folder" : "artifact") has no tokenizer")
            }
            let tokenizer = try makeTokenizer(spec)
            let rows = input != nil ? try readJSONLines(input!) : text.enumerated().map { TextRow(id: .number(Double($0.offset)), text: $0.element) }
            for row in rows {
                let ids = tokenizer.encode(row.text, addSpecialTokens: !noSpecialTokens)
                print(JSONValue.object([("id", row.id), ("input_ids", .array(ids.map { .number(Double($0)) }))]).serialized())
            }
        }
    }
}

private func isDirectory(_ path: String) -> Bool {
    var st = stat()
    return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
}
