// GGUFTokenizer: a TokenizerSpec from a GGUF file's tokenizer.* metadata alone (no tensors
// read), for the importers and for anything that only needs the tokenizer (tests, tooling).
// Kinds: `gpt2` (byte-level BPE; pre-tokenizers smollm, gpt2/default, qwen2, llama-bpe) and
// `llama` (SentencePiece-style: scores, token types, `<0xNN>` byte fallback). When the file
// carries no chat template and its family has a well-known one (Gemma), that built-in
// template is used and recorded as such. Encoding text is IngotRuntime's job, not this file's.

import IngotCheckpoint
import IngotCore

public enum GGUFTokenizer {
    /// `tokenizer.ggml.model` values this reader accepts, and what each becomes.
    public static let supportedModels = ["gpt2 (byte-level BPE)", "llama (SentencePiece)"]
    /// `tokenizer.ggml.pre` values accepted with `tokenizer.ggml.model = gpt2`.
    public static let supportedByteLevelPreTokenizers = ["smollm", "gpt2", "default", "qwen2", "llama-bpe"]

    /// The tokenizer of `file`, or nil when it carries no `tokenizer.ggml.model`.
    /// `contextLength` defaults to `<general.architecture>.context_length` (else 2^24).
    public static func spec(_ file: GGUFFile, contextLength: Int? = nil) throws -> TokenizerSpec? {
        guard let model = file["tokenizer.ggml.model"]?.string else { return nil }
        let kind: TokenizerSpec.Kind
        switch model {
        case "gpt2": kind = .byteLevelBPE
        case "llama": kind = .sentencePiece
        default:
            throw IngotError(.unsupported, file: file.path, location: "tokenizer.ggml.model",
                             "value \"\(model)\", expected one of: \(supportedModels.joined(separator: ", "))")
        }
        guard let tokens = file["tokenizer.ggml.tokens"]?.stringArray else {
            throw IngotError(.format, file: file.path, location: "tokenizer.ggml.tokens", "missing, expected an array of strings")
        }
        let types = file["tokenizer.ggml.token_type"]?.intArray ?? []
        guard types.isEmpty || types.count == tokens.count else {
            throw IngotError(.format, file: file.path, location: "tokenizer.ggml.token_type",
                             "\(types.count) entries, expected one per token (\(tokens.count))")
        }
        var merges: [String] = []
        var scores: [Float] = []
        var pre = file["tokenizer.ggml.pre"]?.string ?? (kind == .byteLevelBPE ? "gpt2" : "default")
        switch kind {
        case .byteLevelBPE:
            guard let m = file["tokenizer.ggml.merges"]?.stringArray else {
                throw IngotError(.format, file: file.path, location: "tokenizer.ggml.merges", "missing, expected an array of strings")
            }
            merges = m
            guard supportedByteLevelPreTokenizers.contains(pre) else {
                throw IngotError(.unsupported, file: file.path, location: "tokenizer.ggml.pre",
                                 "value \"\(pre)\" with tokenizer.ggml.model \"gpt2\", expected one of: \(supportedByteLevelPreTokenizers.joined(separator: ", "))")
            }
        case .sentencePiece:
            guard let items = file["tokenizer.ggml.scores"]?.array else {
                throw IngotError(.format, file: file.path, location: "tokenizer.ggml.scores",
                                 "missing, expected an array of numbers (one per token) for tokenizer.ggml.model \"llama\"")
            }
            guard items.count == tokens.count else {
                throw IngotError(.format, file: file.path, location: "tokenizer.ggml.scores",
                                 "\(items.count) entries, expected one per token (\(tokens.count))")
            }
            scores.reserveCapacity(items.count)
            for (i, item) in items.enumerated() {
                guard let v = item.float, v.isFinite else {
                    throw IngotError.badField(file: file.path, "tokenizer.ggml.scores[\(i)]", seen: item.summary, expected: "a finite number")
                }
                scores.append(Float(v))
            }
            guard pre == "default" else {
                throw IngotError(.unsupported, file: file.path, location: "tokenizer.ggml.pre",
                                 "value \"\(pre)\" with tokenizer.ggml.model \"llama\", expected \"default\" (SentencePiece has no pre-tokenizer)")
            }
            pre = "default"
        case .wordPiece:
            throw IngotError(.internal, file: file.path, location: "tokenizer.ggml.model", "wordpiece is not read from GGUF")
        }
        var special: [String: Int32] = [:]
        for (key, name) in [("tokenizer.ggml.bos_token_id", "bos"), ("tokenizer.ggml.eos_token_id", "eos"),
                            ("tokenizer.ggml.unknown_token_id", "unk"), ("tokenizer.ggml.padding_token_id", "pad"),
                            ("tokenizer.ggml.eot_token_id", "eot")] {
            guard let id = file[key]?.int else { continue }
            guard id >= 0, id < tokens.count else {
                throw IngotError.badField(file: file.path, key, seen: String(id), expected: "a token id in 0..<\(tokens.count)")
            }
            special[name] = Int32(id)
        }
        let architecture = file["general.architecture"]?.string ?? ""
        let context = contextLength ?? file["\(architecture).context_length"]?.int ?? TokenizerSpec.maxLengthLimit
        var template = file["tokenizer.chat_template"]?.string
        var builtIn: String?
        if template == nil, let family = builtInFamily(architecture: architecture) {
            template = family.template
            builtIn = family.name
        }
        let spec = TokenizerSpec(
            kind: kind, tokens: tokens, merges: merges, tokenTypes: types.map { Int32(truncatingIfNeeded: $0) },
            preTokenizer: pre, lowercase: false, stripAccents: false, splitCJK: false,
            continuingSubwordPrefix: "", maxInputCharsPerWord: 0, maxLength: min(max(context, 1), TokenizerSpec.maxLengthLimit),
            specialTokens: special,
            addBOS: file["tokenizer.ggml.add_bos_token"]?.bool ?? (kind == .sentencePiece),
            addEOS: file["tokenizer.ggml.add_eos_token"]?.bool ?? false,
            chatTemplate: template, scores: scores,
            addSpacePrefix: file["tokenizer.ggml.add_space_prefix"]?.bool ?? (kind == .sentencePiece),
            chatTemplateBuiltIn: builtIn)
        try spec.checkEncodable(file: file.path)
        return spec
    }

    /// The tokenizer of the GGUF file at `path` (its metadata is read; tensors are not).
    public static func spec(path: String, contextLength: Int? = nil) throws -> TokenizerSpec? {
        try spec(try GGUFFile(path: path), contextLength: contextLength)
    }

    /// The family whose built-in chat template a file of `architecture` without one gets.
    public static func builtInFamily(architecture: String) -> (name: String, template: String)? {
        switch architecture {
        case "gemma", "gemma2", "gemma3": return ("gemma", gemmaTemplate)
        default: return nil
        }
    }

    /// Gemma's turn format: `<bos>`, then per message `<start_of_turn>{user|model}\n{content}<end_of_turn>\n`
    /// (a system message is folded into the next turn's text), then `<start_of_turn>model\n`.
    public static let gemmaTemplate = """
        {%- set ns = namespace(system='') -%}
        {{- bos_token -}}
        {%- for message in messages -%}
        {%- if message.role == 'system' -%}
        {%- set ns.system = message.content | trim + '\\n\\n' -%}
        {%- else -%}
        {%- set role = 'model' if message.role == 'assistant' else message.role -%}
        {{- '<start_of_turn>' + role + '\\n' + ns.system + message.content | trim + '<end_of_turn>\\n' -}}
        {%- set ns.system = '' -%}
        {%- endif -%}
        {%- endfor -%}
        {%- if add_generation_prompt -%}
        {{- '<start_of_turn>model\\n' -}}
        {%- endif -%}
        """
}
