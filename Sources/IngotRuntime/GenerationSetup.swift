// GenerationSetup: what `ingot run --prompt` and `ingot-run --prompt` share, so both accept
// the same options with the same limits and error texts: the sampling options, reading them
// from command-line words, their checks, the --threads cap, and turning a prompt into
// checked token ids and GenerationOptions (chat template, stop tokens, prompt + max-tokens
// within the context length) and then into streamed text. Foundation-free: the lean runner
// links it. Other command-line words, help text and printing are left to the front ends.

import IngotCore

/// The generation options of both runners, as the user gave them.
public struct GenerationSettings: Sendable, Equatable {
    /// Sampling and length, as the runtime API takes them (stop tokens are set by `prepare`);
    /// options.maxTokens + the prompt must fit the context length.
    public var options = GenerationOptions()
    /// Wrap the prompt in the model's chat template and stop at its end-of-turn token.
    public var chat = false
    /// Keep generating after the end-of-sequence token.
    public var ignoreEOS = false

    public init() {}

    /// The options as a usage line lists them.
    public static let usage = "[--chat] [--max-tokens N] [--temperature T] [--top-k K] [--top-p P] [--repetition-penalty R] [--seed S] [--ignore-eos]"

    /// What each option accepts, as its error text says it.
    public static let expectedMaxTokens = "an integer ≥ 1"
    public static let expectedTemperature = "a finite number ≥ 0"
    public static let expectedTopK = "an integer ≥ 0"
    public static let expectedTopP = "a number in (0, 1]"
    public static let expectedRepetitionPenalty = "a finite number > 0"
    public static let expectedSeed = "an integer from 0 to \(UInt64.max)"

    /// Reads `flag` when it is one of these options, taking its value from `value()`; returns
    /// false for any other flag. Values are checked for their type here, for range by `check()`.
    public mutating func read(flag: String, value: () throws -> String) throws -> Bool {
        switch flag {
        case "--chat": chat = true
        case "--ignore-eos": ignoreEOS = true
        case "--max-tokens": options.maxTokens = try Self.parse(flag, try value(), Self.expectedMaxTokens) { Int($0) }
        case "--temperature": options.temperature = try Self.parse(flag, try value(), Self.expectedTemperature) { Float($0) }
        case "--top-k": options.topK = try Self.parse(flag, try value(), Self.expectedTopK) { Int($0) }
        case "--top-p": options.topP = try Self.parse(flag, try value(), Self.expectedTopP) { Float($0) }
        case "--repetition-penalty":
            options.repetitionPenalty = try Self.parse(flag, try value(), Self.expectedRepetitionPenalty) { Float($0) }
        case "--seed": options.seed = try Self.parse(flag, try value(), Self.expectedSeed) { UInt64($0) }
        default: return false
        }
        return true
    }

    /// Checks every limit that does not depend on the model; the context length is checked by `prepare`.
    public func check() throws {
        guard options.maxTokens >= 1 else { throw Self.invalid("--max-tokens", "\(options.maxTokens)", Self.expectedMaxTokens) }
        guard options.temperature.isFinite, options.temperature >= 0 else {
            throw Self.invalid("--temperature", "\(options.temperature)", Self.expectedTemperature)
        }
        guard options.topK >= 0 else { throw Self.invalid("--top-k", "\(options.topK)", Self.expectedTopK) }
        guard options.topP > 0, options.topP <= 1 else { throw Self.invalid("--top-p", "\(options.topP)", Self.expectedTopP) }
        guard options.repetitionPenalty.isFinite, options.repetitionPenalty > 0 else {
            throw Self.invalid("--repetition-penalty", "\(options.repetitionPenalty)", Self.expectedRepetitionPenalty)
        }
    }

    /// Checks that the prompt and maxTokens new tokens fit in `contextLength` (no overflow for any maxTokens).
    public func checkContext(promptTokens: Int, contextLength: Int) throws {
        guard promptTokens < contextLength else {
            throw IngotError(.invalidArgument, location: "--prompt",
                             "\(promptTokens) tokens, expected fewer than the context length \(contextLength)")
        }
        let room = contextLength - promptTokens
        guard options.maxTokens <= room else {
            throw IngotError(.invalidArgument, location: "--max-tokens",
                             "value \(options.maxTokens), expected at most \(room) (context length \(contextLength) − \(promptTokens) prompt tokens)")
        }
    }

    /// The checked prompt of `model` with these settings: its tokens (with `chat`: the chat
    /// template rendered and tokenized with control tokens parsed and no BOS/EOS added, as
    /// transformers' apply_chat_template does), stop tokens (end of sequence unless
    /// `ignoreEOS`; with `chat` also the template's end-of-turn token, found in the vocabulary).
    public func prepare(model: Model, prompt: String) throws -> PreparedGeneration {
        try check()
        let languageModel = try LanguageModel(model: model)
        guard let spec = model.tokenizerSpec else { throw IngotError(.unsupported, file: model.path, "the artifact has no tokenizer") }
        let tokenizer = try makeTokenizer(spec)
        let template = chat ? try ChatTemplate(spec: spec) : nil
        let text = try template?.render([(role: "user", content: prompt)]) ?? prompt
        let ids = text.isEmpty ? [] : tokenizer.encode(text, addSpecialTokens: !chat, parseSpecial: chat)
        guard !ids.isEmpty else { throw IngotError(.invalidArgument, location: "--prompt", "empty") }
        try checkContext(promptTokens: ids.count, contextLength: min(spec.maxLength, languageModel.session.maxContext))
        var options = self.options
        options.stopTokens = []
        if !ignoreEOS {
            if let eos = spec.specialTokens["eos"] { options.stopTokens.insert(eos) }
            if let template, let end = template.endOfTurnToken(tokenizer) { options.stopTokens.insert(end) }
        }
        return PreparedGeneration(languageModel: languageModel, tokenizer: tokenizer, promptIDs: ids, options: options)
    }

    static func parse<T>(_ flag: String, _ text: String, _ expected: String, _ convert: (String) -> T?) throws -> T {
        guard let v = convert(text) else { throw invalid(flag, text, expected) }
        return v
    }

    static func invalid(_ flag: String, _ seen: String, _ expected: String) -> IngotError {
        IngotError(.invalidArgument, location: flag, "value \(seen), expected \(expected)")
    }
}

/// A checked prompt ready to generate from.
public struct PreparedGeneration {
    public let languageModel: LanguageModel
    public let tokenizer: any Tokenizer
    /// The prompt's token ids: [n], 0 < n < context length.
    public let promptIDs: [Int32]
    public let options: GenerationOptions

    /// Generates, handing `onText` each non-empty piece of text as soon as its UTF-8 is
    /// complete (the held-back tail last); returns the generated ids.
    @discardableResult
    public func run(onText: (String) -> Void) throws -> [Int32] {
        var decoder = StreamingDecoder(tokenizer: tokenizer)
        let ids = try languageModel.generate(prompt: promptIDs, options: options) { id in
            let piece = decoder.push(id)
            if !piece.isEmpty { onText(piece) }
            return true
        }
        let tail = decoder.flush()
        if !tail.isEmpty { onText(tail) }
        return ids
    }
}

extension Threads {
    /// The most compute threads a runner accepts: 4 × the CPUs this process may use.
    public static var maximumComputeThreads: Int { 4 * availableCPUCount() }

    /// `--threads` checked against 1…maximumComputeThreads.
    public static func checkedCount(_ n: Int) throws -> Int {
        guard n >= 1, n <= maximumComputeThreads else { throw invalidCount("\(n)") }
        return n
    }

    /// `--threads` read from a command-line word and checked.
    public static func checkedCount(parsing text: String) throws -> Int {
        guard let n = Int(text) else { throw invalidCount(text) }
        return try checkedCount(n)
    }

    static func invalidCount(_ seen: String) -> IngotError {
        IngotError(.invalidArgument, location: "--threads",
                   "value \(seen), expected an integer from 1 to \(maximumComputeThreads) (4 × the \(availableCPUCount()) CPUs this process may use)")
    }
}
