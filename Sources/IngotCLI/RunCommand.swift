// `ingot run`: embeddings from an encoder artifact (one text, or JSONL in → JSONL out) or
// streamed generation from a language-model artifact.

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

    @Option(help: "Sentences per batch in --input mode.")
    var batch = 16

    @Option(help: "Prompt for a language model.")
    var prompt: String?

    @Flag(help: "Wrap the prompt in the model's chat template.")
    var chat = false

    @Option(help: "Tokens to generate at most.")
    var maxTokens = 64

    @Option(help: "Sampling temperature; 0 is greedy.")
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

    @OptionGroup var global: GlobalOptions

    func validate() throws {
        guard batch >= 1 else { throw ValidationError("--batch must be at least 1, got \(batch)") }
        guard maxTokens >= 1 else { throw ValidationError("--max-tokens must be at least 1, got \(maxTokens)") }
        guard temperature >= 0 else { throw ValidationError("--temperature must be ≥ 0, got \(temperature)") }
        guard topP > 0 && topP <= 1 else { throw ValidationError("--top-p must be in (0, 1], got \(topP)") }
        guard repetitionPenalty > 0 else { throw ValidationError("--repetition-penalty must be > 0, got \(repetitionPenalty)") }
        let modes = [!text.isEmpty, input != nil, prompt != nil].filter { $0 }.count
        guard modes == 1 else { throw ValidationError("give exactly one of --text, --input or --prompt") }
    }

    func run() throws {
        Threads.setComputeThreads(threadOptions.threads ?? Threads.availableCPUCount())
        try reportingErrors {
            let model = try Model(path: artifact)
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
                let e = try encoder.embed([t])[0]
                print(JSONValue.object([("id", .number(Double(i))), ("embedding", .array(e.map(jsonFloat)))]).serialized())
            }
            return
        }
        let rows = try readJSONLines(input!)
        var lines: [String] = []
        for start in stride(from: 0, to: rows.count, by: batch) {
            let chunk = Array(rows[start..<min(start + batch, rows.count)])
            let embeddings = try encoder.embed(chunk.map(\.text))
            for (row, e) in zip(chunk, embeddings) {
                lines.append(JSONValue.object([("id", row.id), ("embedding", .array(e.map(jsonFloat)))]).serialized())
            }
            if !global.quiet { Terminal.progress(min(start + batch, rows.count), rows.count, "sentences") }
        }
        try writeOutput(lines.joined(separator: "\n") + (lines.isEmpty ? "" : "\n"), to: output)
    }

    func generate(_ model: Model, _ prompt: String) throws {
        let lm = try LanguageModel(model: model)
        guard let spec = model.tokenizerSpec else {
            throw IngotError(.unsupported, file: artifact, "the artifact has no tokenizer")
        }
        let tokenizer = try ByteLevelBPETokenizer(spec)
        let text = chat ? try ChatTemplate(source: spec.chatTemplate).render([(role: "user", content: prompt)]) : prompt
        guard !text.isEmpty else { throw IngotError(.invalidArgument, location: "--prompt", "empty") }
        let ids = tokenizer.encode(text, addSpecialTokens: true, parseSpecial: chat)
        guard ids.count + maxTokens <= spec.maxLength else {
            throw IngotError(.invalidArgument, location: "--prompt",
                             "\(ids.count) prompt tokens + \(maxTokens) new tokens exceed the context length \(spec.maxLength)")
        }
        var options = GenerationOptions()
        options.maxTokens = maxTokens
        options.temperature = temperature
        options.topK = topK
        options.topP = topP
        options.repetitionPenalty = repetitionPenalty
        options.seed = seed
        if !ignoreEOS, let eos = spec.specialTokens["eos"] { options.stopTokens = [eos] }
        if chat, !ignoreEOS, let end = spec.tokens.firstIndex(of: "<|im_end|>") { options.stopTokens.insert(Int32(end)) }
        var decoder = StreamingDecoder(tokenizer: tokenizer)
        _ = try lm.generate(prompt: ids, options: options) { id in
            let piece = decoder.push(id)
            if !piece.isEmpty {
                print(piece, terminator: "")
                fflush(stdout)
            }
            return true
        }
        print(decoder.flush())
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
