// ingot-run: the lean runner for edge boxes. Links only IngotRuntime (no Foundation, no
// argument parser, no compiler) and the static Swift standard library.
//
//   ingot-run MODEL.ingot --text "…"                          embedding as JSON
//   ingot-run MODEL.ingot --prompt "…" [--max-tokens N] [--chat] [--temperature T] [--seed S]
//   options: --threads N
//
// Exit codes as `ingot`: 0 ok, 64 usage, 65 corrupt input, 66 unreadable, 69 unsupported, 70 internal.

import IngotCore
import IngotRuntime

#if canImport(Glibc)
import Glibc
#endif

func fail(_ message: String, _ code: Int32) -> Never {
    var line = "ingot-run: error: " + message + "\n"
    line.withUTF8 { _ = fwrite($0.baseAddress, 1, $0.count, stderr) }
    exit(code)
}

let usage = "usage: ingot-run MODEL.ingot (--text TEXT | --prompt TEXT [--chat] [--max-tokens N] [--temperature T] [--seed S]) [--threads N]"

var arguments = Array(CommandLine.arguments.dropFirst())
if arguments.isEmpty || arguments.contains("--help") || arguments.contains("-h") {
    print(usage)
    exit(arguments.isEmpty ? 64 : 0)
}
let path = arguments.removeFirst()
var texts: [String] = []
var prompt: String? = nil
var chat = false
var maxTokens = 64
var temperature: Float = 0
var seed: UInt64 = 0
var threads = Threads.availableCPUCount()

while !arguments.isEmpty {
    let flag = arguments.removeFirst()
    func value() -> String {
        guard !arguments.isEmpty else { fail("\(flag) needs a value\n" + usage, 64) }
        return arguments.removeFirst()
    }
    switch flag {
    case "--text": texts.append(value())
    case "--prompt": prompt = value()
    case "--chat": chat = true
    case "--max-tokens":
        let v = value()
        guard let n = Int(v), n >= 1 else { fail("--max-tokens: value \(v), expected an integer ≥ 1", 64) }
        maxTokens = n
    case "--temperature":
        let v = value()
        guard let t = Float(v), t >= 0 else { fail("--temperature: value \(v), expected a number ≥ 0", 64) }
        temperature = t
    case "--seed":
        let v = value()
        guard let s = UInt64(v) else { fail("--seed: value \(v), expected a non-negative integer", 64) }
        seed = s
    case "--threads":
        let v = value()
        guard let n = Int(v), n >= 1 else { fail("--threads: value \(v), expected an integer ≥ 1", 64) }
        threads = n
    default:
        fail("unknown option '\(flag)'\n" + usage, 64)
    }
}
guard texts.isEmpty != (prompt == nil) else { fail("give --text or --prompt\n" + usage, 64) }
Threads.setComputeThreads(threads)

func exitCode(_ kind: IngotError.Kind) -> Int32 {
    switch kind {
    case .invalidArgument: return 64
    case .format, .checksum, .verification, .shape: return 65
    case .io: return 66
    case .unsupported: return 69
    case .internal: return 70
    case .output: return 74
    }
}

do {
    let model = try Model(path: path)
    if let prompt {
        let lm = try LanguageModel(model: model)
        guard let spec = model.tokenizerSpec else { fail("\(path): the artifact has no tokenizer", 69) }
        let tokenizer = try ByteLevelBPETokenizer(spec)
        let text = chat ? try ChatTemplate(source: spec.chatTemplate).render([(role: "user", content: prompt)]) : prompt
        let ids = tokenizer.encode(text, addSpecialTokens: true, parseSpecial: chat)
        guard !ids.isEmpty else { fail("--prompt: empty", 64) }
        var options = GenerationOptions()
        options.maxTokens = maxTokens
        options.temperature = temperature
        options.seed = seed
        if let eos = spec.specialTokens["eos"] { options.stopTokens.insert(eos) }
        if chat, let end = spec.tokens.firstIndex(of: "<|im_end|>") { options.stopTokens.insert(Int32(end)) }
        var decoder = StreamingDecoder(tokenizer: tokenizer)
        _ = try lm.generate(prompt: ids, options: options) { id in
            print(decoder.push(id), terminator: "")
            fflush(stdout)
            return true
        }
        print(decoder.flush())
    } else {
        let encoder = try Encoder(model: model)
        for (i, t) in texts.enumerated() {
            let e = try encoder.embed([t])[0]
            print(JSONValue.object([("id", .number(Double(i))),
                                    ("embedding", .array(e.map { .number(Double($0.description) ?? Double($0), integer: nil) }))]).serialized())
        }
    }
} catch let e as IngotError {
    fail(e.description, exitCode(e.kind))
} catch {
    fail("\(error)", 70)
}
