// `ingot run`: embeddings from an encoder artifact (one text, or JSONL in → JSONL out) or
// streamed generation from a language-model artifact. Generation options are checked and
// set up by GenerationSettings (IngotRuntime), the same code `ingot-run` uses.

import ArgumentParser
import Foundation
import IngotCore
import IngotRuntime

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run an artifact: embed text (encoders) or generate text (language models).")

    @Argument(help: "The .ingot artifact.")
    var artifact: String

    @Option(name: .long, help: "Text to embed (repeatable).")
    var text: [String] = []

    @Option(help: "JSONL file of {\"id\", \"text\"} to embed.")
    var input: String?

    @Option(help: "Where to write JSONL {\"id\", \"embedding\"} (default: standard output).")
    var output: String?

    @Option(help: "Text put before every text to embed, e.g. \"query: \" (a sentence-transformers prompt); not with --prompt.")
    var promptPrefix: String?

    @Option(help: "Sentences per batch in --input mode.")
    var batch = 16

    @Option(help: "Prompt for a language model.")
    var prompt: String?

    @Flag(help: "Wrap the prompt in the model's chat template.")
    var chat = false

    @Option(help: "Tokens to generate at most.")
    var maxTokens = 64

    @Option(help: "Sampling temperature; 0 (or below 1e-6) is greedy.")
    var temperature: Float = 0

    @Option(help: "Sample among the k most likely tokens (0: all).")
    var topK = 0

    @Option(help: "Sample among the most likely tokens reaching this probability mass.")
    var topP: Float = 1

    @Option(help: "Penalty > 1 for tokens already in the context.")
    var repetitionPenalty: Float = 1

    @Option(help: "Random seed for sampling.")
    var seed: UInt64 = 0

    @Flag(help: "Keep generating after the end-of-sequence token.")
    var ignoreEOS = false

    @OptionGroup var threadOptions: ThreadOptions

    @OptionGroup var trust: TrustOptions

    @OptionGroup var global: GlobalOptions

    func validate() throws {
        guard batch >= 1 else { throw ValidationError("--batch must be at least 1, got \(batch)") }
        let modes = [!text.isEmpty, input != nil, prompt != nil].filter { $0 }.count
        guard modes == 1 else { throw ValidationError("give exactly one of --text, --input or --prompt") }
        if promptPrefix != nil, prompt != nil {
            throw ValidationError("--prompt-prefix is for embedding (--text or --input), not with --prompt")
        }
    }

    /// The generation options as GenerationSettings, which checks them.
    var settings: GenerationSettings {
        var s = GenerationSettings()
        s.options.maxTokens = maxTokens
        s.options.temperature = temperature
        s.options.topK = topK
        s.options.topP = topP
        s.options.repetitionPenalty = repetitionPenalty
        s.options.seed = seed
        s.chat = chat
        s.ignoreEOS = ignoreEOS
        return s
    }

    func run() throws {
        Threads.setComputeThreads(threadOptions.threads ?? Threads.availableCPUCount())
        try reportingErrors {
            try settings.check()
            let model = try Model(path: artifact, trust: try trust.trust())
            if let prompt {
                try generate(model, prompt)
            } else {
                try embed(model)
            }
        }
    }

    func embed(_ model: Model) throws {
        let encoder = try Encoder(model: model)
        if input == nil {
            for (i, t) in text.enumerated() {
                let e = try encoder.embed([(promptPrefix ?? "") + t])[0]
                print(JSONValue.object([("id", .number(Double(i))), ("embedding", .array(e.map(jsonFloat)))]).serialized())
            }
            return
        }
        let rows = try readJSONLines(input!)
        var lines: [String] = []
        for start in stride(from: 0, to: rows.count, by: batch) {
            let chunk = Array(rows[start..<min(start + batch, rows.count)])
            let embeddings = try encoder.embed(chunk.map { (promptPrefix ?? "") + $0.text })
            for (row, e) in zip(chunk, embeddings) {
                lines.append(JSONValue.object([("id", row.id), ("embedding", .array(e.map(jsonFloat)))]).serialized())
            }
            if !global.quiet { Terminal.progress(min(start + batch, rows.count), rows.count, "sentences") }
        }
        try writeOutput(lines.joined(separator: "\n") + (lines.isEmpty ? "" : "\n"), to: output)
    }

    func generate(_ model: Model, _ prompt: String) throws {
        let generation = try settings.prepare(model: model, prompt: prompt)
        try generation.run { piece in
            print(piece, terminator: "")
            fflush(stdout)
        }
        print()
    }
}

struct TextRow {
    var id: JSONValue
    var text: String
}

/// JSONL of {"id", "text"}; errors name the line.
func readJSONLines(_ path: String) throws -> [TextRow] {
    let file = try MappedFile(path: path)
    guard let text = String(validating: file.bytes.bindMemory(to: UInt8.self), as: UTF8.self) else {
        throw IngotError(.format, file: path, "not valid UTF-8")
    }
    var rows: [TextRow] = []
    for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() where !line.allSatisfy(\.isWhitespace) {
        let value: JSONValue
        do { value = try JSONValue.parse(String(line)) } catch let e as IngotError {
            throw IngotError(.format, file: path, location: "line \(n + 1)", e.location.map { $0 + ": " } .map { $0 + e.message } ?? e.message)
        }
        guard let t = value["text"]?.string else {
            throw IngotError(.format, file: path, location: "line \(n + 1)", "expected an object with a string \"text\"")
        }
        rows.append(TextRow(id: value["id"] ?? .number(Double(rows.count)), text: t))
    }
    return rows
}

/// Writes to a file atomically (temp + rename), or to standard output when `path` is nil.
func writeOutput(_ content: String, to path: String?) throws {
    guard let path else { print(content, terminator: ""); return }
    let url = URL(fileURLWithPath: path)
    do {
        try Data(content.utf8).write(to: url, options: .atomic)
    } catch {
        throw IngotError(.output, file: path, "cannot write: \(error.localizedDescription)")
    }
}

/// A Float as the shortest JSON number that reads back as the same Float.
func jsonFloat(_ f: Float) -> JSONValue {
    .number(Double(f.description) ?? Double(f), integer: nil)
}
