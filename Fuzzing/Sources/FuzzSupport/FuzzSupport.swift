// FuzzSupport: what every fuzz target shares. `Fuzz.run` hands the process to libFuzzer's
// driver with a Swift closure as the target; `Scratch` keeps the current input in a private
// folder for readers that only open paths; `Fuzz.reading` holds every reader to the project's
// rule on hostile bytes: return normally, or throw an IngotError that is not `.internal`
// (a bug) and, for a reader given a file, names a file. A broken rule is a fatalError, which
// libFuzzer reports as a crash and saves with its input. It generates no inputs itself.

import CFuzzerDriver
import IngotCore
import IngotRuntime

#if canImport(Glibc)
import Glibc
#endif

nonisolated(unsafe) private var fuzzTarget: ((UnsafeRawBufferPointer) -> Void)?

public enum Fuzz {
    /// Runs libFuzzer's driver (flags and corpus folders from the command line) with `target`
    /// called once per input; exits with the driver's status.
    public static func run(_ target: @escaping (UnsafeRawBufferPointer) -> Void) -> Never {
        fuzzTarget = target
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        let status = LLVMFuzzerRunDriver(&argc, &argv) { data, size in
            fuzzTarget!(UnsafeRawBufferPointer(start: data, count: size))
            return 0
        }
        exit(status)
    }

    /// With INGOT_FUZZ_TRACE set, every `reading` step prints its outcome to stderr (how far
    /// the seeds get: `fuzz-<target> -runs=0 Fixtures/fuzz/<target>`).
    static let trace = getenv("INGOT_FUZZ_TRACE") != nil

    /// `body`'s result, or nil when it threw an error the rule allows. `file`: the path the
    /// reader was given (its errors must name a file); nil for readers of in-memory bytes.
    public static func reading<T>(_ what: String, file: String?, _ body: () throws -> T) -> T? {
        do {
            let result = try body()
            if trace { fputs("\(what): ok\n", stderr) }
            return result
        } catch let error as IngotError {
            if trace { fputs("\(what): \(error)\n", stderr) }
            if error.kind == .internal {
                fatalError("\(what): an internal error (a bug) on hostile input: \(error)")
            }
            if let file, error.file == nil {
                fatalError("\(what): the error does not name the file (\(file)): \(error)")
            }
            return nil
        } catch {
            fatalError("\(what): threw \(type(of: error)) instead of an IngotError: \(error)")
        }
    }

    /// Text covering what tokenizers split on: contractions, digits, accents, CJK, emoji,
    /// whitespace runs, WordPiece and ChatML markers.
    public static let sampleText = "Hello, world! It's 2024: naïve café — 東京タワー 🙂 don't\t\ttabs  \n ##ing [UNK] <|im_start|>user\nhi<|im_end|>"

    /// Encodes `text` with and without special tokens and decodes the ids whole and streamed;
    /// every id must be inside the vocabulary (ids index the embedding table).
    public static func exercise(_ tokenizer: any Tokenizer, text: String) {
        for special in [false, true] {
            var ids = tokenizer.encode(text, addSpecialTokens: special)
            ids += tokenizer.encode(text, addSpecialTokens: special, parseSpecial: true)
            for id in ids where id < 0 || Int(id) >= tokenizer.vocabularySize {
                fatalError("tokenizer: id \(id) outside the vocabulary of \(tokenizer.vocabularySize) tokens")
            }
            _ = tokenizer.decode(ids)
            var stream = StreamingDecoder(tokenizer: tokenizer)
            for id in ids { _ = stream.push(id) }
            _ = stream.flush()
        }
    }
}

/// A private folder holding the current input as a file: $INGOT_FUZZ_SCRATCH when set (made
/// and removed by scripts/fuzz.sh, so a crashed run leaves nothing behind), else a new folder
/// under /dev/shm when writable, $TMPDIR or /tmp, removed when the process exits normally.
public enum Scratch {
    nonisolated(unsafe) private static var folder: String?
    nonisolated(unsafe) private static var files: [String] = []
    nonisolated(unsafe) private static var folders: [String] = []

    /// The path of `name` in the scratch folder (a sub-path such as "model/vocab.txt" has its
    /// folders created).
    public static func file(_ name: String) -> String {
        let base = scratchFolder()
        var parent = base
        for part in name.split(separator: "/").dropLast() {
            parent += "/" + part
            if mkdir(parent, 0o700) == 0 { folders.append(parent) }
        }
        let path = base + "/" + name
        files.append(path)
        return path
    }

    /// Replaces the file's contents with `bytes`.
    public static func write(_ bytes: UnsafeRawBufferPointer, to path: String) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { fatalError("scratch: cannot create \(path): errno \(errno)") }
        defer { close(fd) }
        var done = 0
        while done < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { fatalError("scratch: cannot write \(path): errno \(errno)") }
            done += n
        }
    }

    public static func write(_ bytes: [UInt8], to path: String) {
        bytes.withUnsafeBytes { write($0, to: path) }
    }

    private static func scratchFolder() -> String {
        if let folder { return folder }
        if let given = getenv("INGOT_FUZZ_SCRATCH").map({ String(cString: $0) }) {
            guard mkdir(given, 0o700) == 0 || errno == EEXIST else { fatalError("scratch: cannot create \(given): errno \(errno)") }
            folder = given
            return given
        }
        let env = getenv("TMPDIR").map { String(cString: $0) }
        let base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : (env ?? "/tmp")
        var template = Array((base + "/ingot-fuzz-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { fatalError("scratch: cannot create a folder in \(base): errno \(errno)") }
        let path = String(cString: made)
        folder = path
        atexit {
            for f in Scratch.files { _ = unlink(f) }
            for f in Scratch.folders.reversed() { _ = rmdir(f) }
            if let folder = Scratch.folder { _ = rmdir(folder) }
        }
        return path
    }
}
