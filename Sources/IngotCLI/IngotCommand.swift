// The `ingot` command tree (swift-argument-parser) and the mapping from IngotError kinds
// to documented exit codes. Subcommands live one per file.

import ArgumentParser
import IngotCore

public struct IngotCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "ingot",
        abstract: "Compile, optimize and run transformer checkpoints.",
        discussion: """
            Exit codes: 0 success; 64 bad usage or options; 65 malformed or corrupt input \
            (checkpoint, artifact, graph); 66 input not found or unreadable; 69 unsupported \
            model, dtype or feature; 70 internal error; 74 output could not be written.
            """,
        version: IngotVersion.string,
        subcommands: [BuildCommand.self, InspectCommand.self, RunCommand.self, TokenizeCommand.self,
                       PerplexityCommand.self, BenchCommand.self, ReportCommand.self, DiffCommand.self])
    public init() {}
}

/// Flags every subcommand shares.
struct GlobalOptions: ParsableArguments {
    @Flag(name: [.short, .long], help: "Print only errors.")
    var quiet = false

    @Flag(name: [.short, .long], help: "Print more detail about each step.")
    var verbose = false
}

/// `--threads`, for commands that run models.
struct ThreadOptions: ParsableArguments {
    @Option(help: "Compute threads (default: the CPUs this process may use).")
    var threads: Int?

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
    }
}

public enum ExitCodes {
    public static func code(for kind: IngotError.Kind) -> Int32 {
        switch kind {
        case .invalidArgument: return 64
        case .format, .checksum, .verification, .shape: return 65
        case .io: return 66
        case .output: return 74
        case .unsupported: return 69
        case .internal: return 70
        }
    }
}

/// Runs `body`, turning thrown Ingot errors into "ingot: error: …" on stderr and the exit code of their kind.
func reportingErrors<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let e as IngotError {
        Terminal.error("error: \(e.description)")
        throw ExitCode(ExitCodes.code(for: e.kind))
    }
}
