// `ingot perplexity`: perplexity of a language-model artifact on a text file under the
// reference protocol (full windows from the start, each run alone, first token unscored).

import ArgumentParser
import Foundation
import IngotCore
import IngotRuntime

struct PerplexityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "perplexity",
        abstract: "Measure perplexity on a text file.",
        discussion: "Windows of --window tokens from the start of the text; the tail that does not fill a window is dropped; each window runs alone from position 0; every token but a window's first is scored; log-softmax in float64.")

    @Argument(help: "The .ingot artifact (a language model).")
    var artifact: String

    @Option(help: "The text to score (UTF-8).")
    var textFile: String

    @Option(help: "Tokens per window.")
    var window = 256

    @Flag(help: "Print JSON {\"ppl\", \"nll\", \"tokens\", \"scored\", \"windows\"}.")
    var json = false

    @OptionGroup var threadOptions: ThreadOptions

    @OptionGroup var trust: TrustOptions

    @OptionGroup var global: GlobalOptions

    func validate() throws {
        guard window >= 2 else { throw ValidationError("--window must be at least 2, got \(window)") }
    }

    func run() throws {
        Threads.setComputeThreads(threadOptions.threads ?? Threads.availableCPUCount())
        try reportingErrors {
            let model = try Model(path: artifact, trust: try trust.trust())
            let lm = try LanguageModel(model: model)
            guard let spec = model.tokenizerSpec else { throw IngotError(.unsupported, file: artifact, "the artifact has no tokenizer") }
            guard window <= spec.maxLength else {
                throw IngotError(.invalidArgument, location: "--window", "value \(window), expected at most the context length \(spec.maxLength)")
            }
            let file = try MappedFile(path: textFile)
            guard let text = String(validating: file.bytes.bindMemory(to: UInt8.self), as: UTF8.self) else {
                throw IngotError(.format, file: textFile, "not valid UTF-8")
            }
            let ids = try makeTokenizer(spec).encode(text, addSpecialTokens: false)
            let r = try lm.perplexity(ids: ids, window: window) { done, total in
                if !global.quiet { Terminal.progress(done, total, "windows") }
            }
            if json {
                print(JSONValue.object([("ppl", .number(r.perplexity, integer: nil)), ("nll", .number(r.nll, integer: nil)),
                                        ("tokens", .number(Double(r.tokens))), ("scored", .number(Double(r.scored))),
                                        ("windows", .number(Double(r.windows)))]).serialized(pretty: true))
            } else {
                print("perplexity \(String(format: "%.4f", r.perplexity)) over \(r.scored) scored tokens (\(r.windows) windows of \(window), \(r.tokens) tokens in the text)")
            }
        }
    }
}
