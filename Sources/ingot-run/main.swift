// ingot-run: the lean runner for edge boxes. Links only the runtime side (IngotRuntime and
// the artifact reader; no Foundation, no argument parser, no compiler) and the static Swift
// standard library. Generation options, their limits and error texts are
// GenerationSettings', shared with `ingot run`.
//
//   ingot-run MODEL.ingot --text "…"                          embedding as JSON
//   ingot-run MODEL.ingot --prompt "…" [--chat] [--max-tokens N] [--temperature T] [--top-k K]
//             [--top-p P] [--repetition-penalty R] [--seed S] [--ignore-eos]
//   options: --threads N, --trusted-key PUB (refuse the artifact unless PUB signed it;
//            without it, the public key file INGOT_TRUSTED_KEY names, when set)
//
// Exit codes as `ingot` (IngotError.Kind.exitCode): 0 ok, 64 usage, 65 corrupt input,
// 66 unreadable, 69 unsupported, 70 internal, 74 unwritable output.

import IngotArtifact
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

func fail(_ error: IngotError) -> Never { fail(error.description, error.kind.exitCode) }

let usage = "usage: ingot-run MODEL.ingot (--text TEXT | --prompt TEXT \(GenerationSettings.usage)) [--threads N] [--trusted-key PUB]"

var arguments = Array(CommandLine.arguments.dropFirst())
if arguments.isEmpty || arguments.contains("--help") || arguments.contains("-h") {
    print(usage)
    exit(arguments.isEmpty ? 64 : 0)
}
let path = arguments.removeFirst()
var texts: [String] = []
var prompt: String? = nil
var settings = GenerationSettings()
var threads = Threads.availableCPUCount()
var trustedKeyFile: String? = nil

do {
    while !arguments.isEmpty {
        let flag = arguments.removeFirst()
        func value() -> String {
            guard !arguments.isEmpty else { fail("\(flag) needs a value\n" + usage, 64) }
            return arguments.removeFirst()
        }
        if try settings.read(flag: flag, value: value) { continue }
        switch flag {
        case "--text": texts.append(value())
        case "--prompt": prompt = value()
        case "--threads": threads = try Threads.checkedCount(parsing: value())
        case "--trusted-key": trustedKeyFile = value()
        default: fail("unknown option '\(flag)'\n" + usage, 64)
        }
    }
    try settings.check()
} catch let e as IngotError {
    fail(e)
}
guard texts.isEmpty != (prompt == nil) else { fail("give --text or --prompt\n" + usage, 64) }
Threads.setComputeThreads(threads)

do {
    let model = try Model(path: path, trust: try ArtifactTrust.flag(trustedKeyFile))
    if let prompt {
        let generation = try settings.prepare(model: model, prompt: prompt)
        try generation.run { piece in
            print(piece, terminator: "")
            fflush(stdout)
        }
        print()
    } else {
        let encoder = try Encoder(model: model)
        for (i, t) in texts.enumerated() {
            let e = try encoder.embed([t])[0]
            print(JSONValue.object([("id", .number(Double(i))),
                                    ("embedding", .array(e.map { .number(Double($0.description) ?? Double($0), integer: nil) }))]).serialized())
        }
    }
} catch let e as IngotError {
    fail(e)
} catch {
    fail("\(error)", 70)
}
