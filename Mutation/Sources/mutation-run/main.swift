// mutation-run: the hostile-input acceptance run of issue 14. It writes mutants of real
// inputs (artifacts, BERT checkpoint folders, LLaMA GGUF files), runs the built `ingot` and
// `ingot-run` on each in a child process, and counts what a user must never see: a signal,
// a hang, exit 70 (internal error) or an undocumented exit code, and a peak RSS above
// 2 × the input size + 100 MB. Every offending mutant is kept with the command that failed.
// Exit status 0 only when nothing offended. It is a harness, not a fuzzer: no coverage
// feedback (the libFuzzer targets in Fuzz/ do that).
//
//   mutation-run --bin .build/release --models .cache/models --work /tmp/mutation \
//                [--artifacts 2000] [--checkpoints 2000] [--seed 1] [--jobs 2] [--timeout 20]

import Foundation
import IngotCore

#if canImport(Glibc)
import Glibc
#endif

struct Options {
    var bin = ".build/release"
    var models = ".cache/models"
    var work = "/tmp/ingot-mutation"
    var artifacts = 2000
    var checkpoints = 2000
    var seed: UInt64 = 1
    var jobs = 2
    var timeout = 20.0

    init(_ args: [String]) {
        var i = 1
        func value() -> String {
            i += 1
            guard i < args.count else { fail("missing value after \(args[i - 1])") }
            return args[i]
        }
        while i < args.count {
            switch args[i] {
            case "--bin": bin = value()
            case "--models": models = value()
            case "--work": work = value()
            case "--artifacts": artifacts = Int(value()) ?? artifacts
            case "--checkpoints": checkpoints = Int(value()) ?? checkpoints
            case "--seed": seed = UInt64(value()) ?? seed
            case "--jobs": jobs = max(1, Int(value()) ?? jobs)
            case "--timeout": timeout = Double(value()) ?? timeout
            default: fail("unknown argument \(args[i])")
            }
            i += 1
        }
    }
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data(("mutation-run: " + message + "\n").utf8))
    exit(2)
}

/// One child process: how it ended, its wall time and its peak resident set.
struct ChildOutcome {
    var exitCode: Int32?
    var signal: Int32?
    var timedOut: Bool
    var seconds: Double
    var peakRSSBytes: Int
    var stderrTail: String
}

/// Runs `argv` under GNU time (`/usr/bin/time -f %M`) with stdout discarded and stderr
/// captured, killing its process group after `timeout` seconds. The peak RSS comes from
/// time's report on its own fork: a child spawned straight from this process would count this
/// process's resident set too (posix_spawn shares the parent's memory until exec, and Linux
/// keeps the larger high-water mark across exec).
func runChild(_ argv: [String], timeout: Double, stderrPath: String) -> ChildOutcome {
    let rssPath = stderrPath + ".rss"
    let wrapped = ["/usr/bin/time", "-f", "%M", "-o", rssPath] + argv
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 2, stderrPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))
    posix_spawnattr_setpgroup(&attributes, 0)
    var pid: pid_t = 0
    let cArgs = wrapped.map { strdup($0) } + [nil]
    defer { for p in cArgs { free(p) } }
    let start = Date()
    let rc = posix_spawn(&pid, wrapped[0], &actions, &attributes, cArgs, environ)
    posix_spawn_file_actions_destroy(&actions)
    posix_spawnattr_destroy(&attributes)
    guard rc == 0 else { fail("cannot start \(wrapped[0]): \(String(cString: strerror(rc)))") }
    var status: Int32 = 0
    var timedOut = false
    while true {
        let r = waitpid(pid, &status, WNOHANG)
        if r == pid { break }
        if Date().timeIntervalSince(start) > timeout, !timedOut {
            timedOut = true
            kill(-pid, SIGKILL)
        }
        usleep(2000)
    }
    let seconds = Date().timeIntervalSince(start)
    let err = (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? ""
    let tail = err.split(separator: "\n").suffix(2).joined(separator: " | ")
    // time's report: "Command terminated by signal N" / "Command exited with non-zero status N", then %M.
    let report = ((try? String(contentsOfFile: rssPath, encoding: .utf8)) ?? "").split(separator: "\n")
    let peakKB = report.last.flatMap { Int($0.trimmingCharacters(in: .whitespaces)) } ?? 0
    var signal: Int32? = nil
    if let line = report.first(where: { $0.contains("terminated by signal") }), let n = line.split(separator: " ").last.flatMap({ Int32($0) }) {
        signal = n
    }
    let low = status & 0x7F
    if low != 0 { signal = low }
    return ChildOutcome(exitCode: signal == nil ? (status >> 8) & 0xFF : nil, signal: signal,
                        timedOut: timedOut, seconds: seconds, peakRSSBytes: peakKB * 1024,
                        stderrTail: String(tail.prefix(300)))
}

/// A mutant ready to run: where it is, how big it is, what was done to it, and the commands.
struct Mutant {
    var family: String
    var index: Int
    var path: String
    var inputBytes: Int
    var edits: String
    var commands: [[String]]
}

/// Exit codes README "Exit codes" documents for these commands (1 is only `ingot diff`'s gate; 70 is a bug).
let documentedExits: Set<Int32> = [0, 64, 65, 66, 69, 74]

final class Tally: @unchecked Sendable {
    let lock = NSLock()
    var runs = 0
    var exits: [String: [Int32: Int]] = [:]
    var offences: [String] = []
    var slowest: [String: Double] = [:]
    var peakRatio: [String: Double] = [:]

    func record(_ m: Mutant, _ command: [String], _ o: ChildOutcome, keep: () -> String) {
        lock.lock(); defer { lock.unlock() }
        runs += 1
        let exe = URL(fileURLWithPath: command[0]).lastPathComponent
        let tool = exe == "ingot" ? exe + " " + command[1] : exe
        let key = m.family + " / " + tool
        if let code = o.exitCode { exits[key, default: [:]][code, default: 0] += 1 }
        slowest[key] = max(slowest[key] ?? 0, o.seconds)
        let limit = 2 * m.inputBytes + 100 << 20
        peakRatio[key] = max(peakRatio[key] ?? 0, Double(o.peakRSSBytes) / Double(limit))
        var why: [String] = []
        if o.timedOut { why.append("hang (killed after the timeout)") }
        else if let s = o.signal { why.append("signal \(s)") }
        else if let c = o.exitCode, c == 70 || !documentedExits.contains(c) { why.append("exit \(c)") }
        if o.peakRSSBytes > limit { why.append("peak RSS \(o.peakRSSBytes >> 20) MB > \(limit >> 20) MB") }
        if !why.isEmpty {
            offences.append("\(why.joined(separator: ", ")): \(key) mutant \(m.index) [\(m.edits)] kept at \(keep()) :: \(o.stderrTail)")
        }
    }
}

func writeFile(_ bytes: [UInt8], _ path: String) {
    _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
}

func main() {
    setvbuf(stdout, nil, _IOLBF, 0)
    let opt = Options(CommandLine.arguments)
    let fm = FileManager.default
    let ingot = URL(fileURLWithPath: opt.bin).appendingPathComponent("ingot").path
    let runner = URL(fileURLWithPath: opt.bin).appendingPathComponent("ingot-run").path
    for exe in [ingot, runner] where !fm.isExecutableFile(atPath: exe) { fail("\(exe) is not built (swift build -c release)") }
    let models = URL(fileURLWithPath: opt.models)
    let work = URL(fileURLWithPath: opt.work)
    try? fm.removeItem(at: work)
    let seedsDir = work.appendingPathComponent("seeds")
    let keptDir = work.appendingPathComponent("kept")
    try! fm.createDirectory(at: seedsDir, withIntermediateDirectories: true)
    try! fm.createDirectory(at: keptDir, withIntermediateDirectories: true)

    var rng = SplitMix64(seed: opt.seed)
    let bertDir = seedsDir.appendingPathComponent("tiny-bert")
    let bert: SeedFile
    let gguf: SeedFile
    do {
        bert = try Seeds.writeTinyBert(from: models.appendingPathComponent("all-MiniLM-L6-v2"), to: bertDir, rng: &rng)
        gguf = try Seeds.tinyLlamaGGUF(from: models.appendingPathComponent("SmolLM2-135M-Instruct.Q4_1.gguf"), rng: &rng)
    } catch { fail("writing the seeds: \(error)") }
    let ggufPath = seedsDir.appendingPathComponent("tiny-llama.gguf").path
    writeFile(gguf.bytes, ggufPath)

    // Seed artifacts, built by the tool under test from the tiny checkpoints.
    let seedBuilds: [(name: String, args: [String], encoder: Bool)] = [
        ("bert-f32", [bertDir.path], true),
        ("bert-fused", [bertDir.path, "--passes", "fuse"], true),
        ("llama-f32", [ggufPath], false),
        ("llama-int8", [ggufPath, "--passes", "fuse,quantize=int8:mode=weight-only:group=32"], false),
    ]
    var seedList: [(name: String, seed: ArtifactSeed, encoder: Bool)] = []
    for s in seedBuilds {
        let out = seedsDir.appendingPathComponent(s.name + ".ingot").path
        let o = runChild([ingot, "build"] + s.args + ["-o", out], timeout: 300, stderrPath: seedsDir.appendingPathComponent(s.name + ".log").path)
        guard o.exitCode == 0 else { fail("seed build \(s.name) failed: \(o.stderrTail)") }
        do { seedList.append((s.name, try ArtifactSeed(path: out), s.encoder)) } catch { fail("reading seed \(s.name): \(error)") }
    }

    func artifactCommands(_ path: String, encoder: Bool) -> [[String]] {
        let input = encoder ? ["--text", "How do I deploy a model?"] : ["--prompt", "Hi", "--max-tokens", "3"]
        return [[ingot, "inspect", path, "--verify", "--json"], [ingot, "run", path] + input, [runner, path] + input]
    }

    // Mutant i is made from its own generator (seed, i), by the worker that runs it, and removed
    // after its run: a seed reproduces the same mutants whatever the number of jobs.
    let seeds = seedList
    let mutantDir = work.appendingPathComponent("mutants")
    try! fm.createDirectory(at: mutantDir, withIntermediateDirectories: true)

    func makeArtifactMutant(_ i: Int) -> Mutant {
        var m = Mutator(rng: SplitMix64(seed: opt.seed &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(i)))
        let (name, seed, encoder) = seeds[i % seeds.count]
        var sections = seed.sections
        var bytes: [UInt8]
        var edits: [String] = []
        switch m.int(10) {
        case 0, 1, 2:
            let k = m.int(sections.count)
            edits = ["\(String(decoding: sections[k].kind, as: UTF8.self)) payload"] + m.editBytes(&sections[k].payload)
            bytes = seed.layout(sections)
        case 3, 4:
            var entryEdits: [ArtifactSeed.EntryEdit] = []
            for _ in 0..<(1 + m.int(2)) {
                let field = [(0, 4), (4, 4), (8, 4), (12, 4), (16, 8), (24, 8), (32, 8), (40, 8), (48, 8)][m.int(9)]
                let e = (entry: m.int(sections.count + 1), field: field.0, width: field.1, value: m.boundary(width: field.1))
                entryEdits.append(e)
                edits.append("table entry \(e.entry) byte \(e.field) = \(e.value)")
            }
            bytes = seed.layout(sections, entryEdits: entryEdits)
        case 5, 6:
            let field = [(8, 2), (10, 2), (12, 4), (16, 8), (24, 8), (32, 4), (36, 4), (40, 8), (48, 8)][m.int(9)]
            let v = m.boundary(width: field.1)
            let recompute = m.chance(0.85)
            edits = ["header byte \(field.0) = \(v)\(recompute ? "" : " (checksum kept)")"]
            let mm = m
            bytes = seed.layout(sections, headerEdit: { mm.put(v, width: field.1, at: field.0, in: &$0) }, recomputeHeader: recompute)
        case 7:
            switch m.int(3) {
            case 0:
                let k = m.int(sections.count)
                edits = ["drop section \(String(decoding: sections[k].kind, as: UTF8.self))"]
                sections.remove(at: k)
            case 1:
                let k = m.int(sections.count)
                edits = ["duplicate section \(String(decoding: sections[k].kind, as: UTF8.self))"]
                sections.append(sections[k])
            default:
                edits = ["unknown section, required"]
                sections.append((Array("ZZZZ".utf8), true, [1, 2, 3]))
            }
            bytes = seed.layout(sections)
        default:
            bytes = seed.layout(sections)
            edits = ["raw bytes, no checksum recomputed"] + m.editBytes(&bytes)
        }
        let path = mutantDir.appendingPathComponent("a\(i).ingot").path
        writeFile(bytes, path)
        return Mutant(family: "artifact " + name, index: i, path: path, inputBytes: bytes.count,
                              edits: edits.joined(separator: "; "), commands: artifactCommands(path, encoder: encoder))
    }

    let bertFiles = try! fm.contentsOfDirectory(atPath: bertDir.path)
    func makeCheckpointMutant(_ i: Int) -> Mutant {
        var m = Mutator(rng: SplitMix64(seed: opt.seed &* 0xBF58_476D_1CE4_E5B9 &+ UInt64(i)))
        if i % 2 == 0 {
            // A BERT folder: links to the seed's files, one of them replaced by a mutant.
            let dir = mutantDir.appendingPathComponent("b\(i)")
            try! fm.createDirectory(at: dir, withIntermediateDirectories: true)
            var edited = "model.safetensors"
            var bytes = bert.bytes
            var edits: [String]
            switch m.int(10) {
            case 0, 1, 2: edits = [m.editNumberText(&bytes, bert.fields)]
            case 3: edits = [m.editField(&bytes, [bert.fields[0]])]
            case 4:
                let dtypes = ["F16", "BF16", "I32", "I64", "F64", "U8", "I8", "BOOL", "F8_E4M3", "XYZ", ""]
                let text = String(decoding: bytes, as: UTF8.self)
                let occurrences = text.ranges(of: "\"F32\"")
                let r = occurrences[m.int(occurrences.count)]
                let to = dtypes[m.int(dtypes.count)]
                let start = text.utf8.distance(from: text.startIndex, to: r.lowerBound) + 1
                bytes.replaceSubrange(start..<(start + 3), with: Array(to.utf8))
                edits = ["dtype at \(start) F32 → \(to)"]
            case 5, 6, 7:
                edited = m.chance(0.7) ? "config.json" : ["tokenizer.json", "sentence_bert_config.json", "tokenizer_config.json"][m.int(3)]
                bytes = Array(try! Data(contentsOf: bertDir.appendingPathComponent(edited)))
                edits = [edited] + jsonValueEdit(&bytes, &m)
            case 8:
                let headerEnd = bert.fields.last.map { $0.offset + $0.width } ?? 64
                edits = ["safetensors header bytes"] + m.editBytes(&bytes, in: 0..<headerEnd)
            default:
                edits = ["safetensors anywhere"] + m.editBytes(&bytes)
            }
            for f in bertFiles where f != edited {
                try! fm.createSymbolicLink(at: dir.appendingPathComponent(f), withDestinationURL: bertDir.appendingPathComponent(f))
            }
            writeFile(bytes, dir.appendingPathComponent(edited).path)
            let out = dir.appendingPathComponent("out.ingot").path
            return Mutant(family: "bert folder", index: i, path: dir.path, inputBytes: bert.bytes.count + 1 << 20,
                                  edits: edits.joined(separator: "; "),
                                  commands: [[ingot, "inspect", dir.path], [ingot, "build", dir.path, "-o", out]])
        } else {
            var bytes = gguf.bytes
            var edits: [String]
            switch m.int(10) {
            case 0...5: edits = (0..<(1 + m.int(2))).map { _ in m.editField(&bytes, gguf.fields) }
            case 6, 7: edits = ["header bytes"] + m.editBytes(&bytes, in: 0..<(gguf.fields.last!.offset + 8))
            case 8:
                let keep = m.int(bytes.count)
                bytes.removeSubrange(keep...)
                edits = ["cut to \(keep)"]
            default: edits = ["anywhere"] + m.editBytes(&bytes)
            }
            let path = mutantDir.appendingPathComponent("g\(i).gguf").path
            writeFile(bytes, path)
            let out = mutantDir.appendingPathComponent("g\(i).out.ingot").path
            return Mutant(family: "llama gguf", index: i, path: path, inputBytes: bytes.count,
                                  edits: edits.joined(separator: "; "),
                                  commands: [[ingot, "inspect", path], [ingot, "build", path, "-o", out]])
        }
    }

    let total = opt.artifacts + opt.checkpoints
    print("mutation-run: \(total) mutants (\(opt.artifacts) artifacts from \(seeds.count) seeds, \(opt.checkpoints) checkpoints), \(opt.jobs) jobs, seed \(opt.seed)")
    let tally = Tally()
    let next = NSLock()
    var cursor = 0
    let started = Date()
    DispatchQueue.concurrentPerform(iterations: opt.jobs) { worker in
        while true {
            next.lock()
            let k = cursor
            cursor += 1
            next.unlock()
            guard k < total else { return }
            let mutant = k < opt.artifacts ? makeArtifactMutant(k) : makeCheckpointMutant(k - opt.artifacts)
            for command in mutant.commands {
                let errPath = work.appendingPathComponent("stderr-\(worker).txt").path
                let o = runChild(command, timeout: opt.timeout, stderrPath: errPath)
                tally.record(mutant, command, o) {
                    let dest = keptDir.appendingPathComponent(URL(fileURLWithPath: mutant.path).lastPathComponent).path
                    try? fm.removeItem(atPath: dest)
                    try? fm.copyItem(atPath: mutant.path, toPath: dest)
                    return dest
                }
            }
            // Mutants and their outputs are removed as soon as they ran; offenders were copied.
            try? fm.removeItem(atPath: mutant.path)
            try? fm.removeItem(atPath: mutant.path.replacingOccurrences(of: ".gguf", with: ".out.ingot"))
            if k % 500 == 499 { print("  \(k + 1) mutants, \(Int(Date().timeIntervalSince(started))) s") }
        }
    }

    print("\nruns \(tally.runs) in \(Int(Date().timeIntervalSince(started))) s")
    print("family / command | exit codes (count) | slowest s | peak RSS / limit")
    for key in tally.exits.keys.sorted() {
        let codes = tally.exits[key]!.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ")
        print("\(key) | \(codes) | \(String(format: "%.2f", tally.slowest[key] ?? 0)) | \(String(format: "%.2f", tally.peakRatio[key] ?? 0))")
    }
    print("\noffences: \(tally.offences.count)")
    for o in tally.offences.prefix(100) { print("  " + o) }
    exit(tally.offences.isEmpty ? 0 : 1)
}

/// A JSON file edited where values are: a number, string or literal replaced by a hostile
/// value, or a few bytes edited in its first 4 KB.
func jsonValueEdit(_ bytes: inout [UInt8], _ m: inout Mutator) -> [String] {
    let hostile = ["0", "-1", "1", "1e308", "-1e308", "1e19", "18446744073709551616", "2.5", "null", "true",
                   "\"x\"", "[]", "{}", "[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]", "\"\u{00e9}\u{0000}\""]
    // Positions right after a ':' (a value start) in the first 64 KB.
    var starts: [Int] = []
    for i in 0..<min(bytes.count, 65536) where bytes[i] == UInt8(ascii: ":") { starts.append(i + 1) }
    guard !starts.isEmpty, m.chance(0.8) else { return ["bytes"] + m.editBytes(&bytes, in: 0..<min(bytes.count, 4096)) }
    var at = starts[m.int(starts.count)]
    while at < bytes.count, bytes[at] == UInt8(ascii: " ") { at += 1 }
    var end = at
    var depth = 0
    var inString = false
    while end < bytes.count {
        let c = bytes[end]
        if inString {
            if c == UInt8(ascii: "\\") { end += 2; continue }
            if c == UInt8(ascii: "\"") { inString = false; if depth == 0 { end += 1; break } }
        } else if c == UInt8(ascii: "\"") { inString = true }
        else if c == UInt8(ascii: "[") || c == UInt8(ascii: "{") { depth += 1 }
        else if c == UInt8(ascii: "]") || c == UInt8(ascii: "}") { if depth == 0 { break }; depth -= 1; if depth == 0 { end += 1; break } }
        else if depth == 0 && (c == UInt8(ascii: ",") || c == UInt8(ascii: "\n")) { break }
        end += 1
    }
    end = min(end, bytes.count)
    let value = hostile[m.int(hostile.count)]
    let old = String(decoding: bytes[at..<end].prefix(40), as: UTF8.self)
    bytes.replaceSubrange(at..<end, with: Array(value.utf8))
    return ["value at \(at) \(old) → \(value)"]
}

main()
