// The `ingot` command tree (swift-argument-parser), the options several subcommands share,
// and the turning of IngotError into "ingot: error: …" and the exit code of its kind
// (IngotError.Kind.exitCode). Subcommands live one per file.

import ArgumentParser
import IngotCore
import IngotRuntime

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
                       PerplexityCommand.self, BenchCommand.self, ReportCommand.self, DiffCommand.self,
                       KeygenCommand.self, SignCommand.self, VerifyCommand.self])
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
        guard let threads else { return }
        do { _ = try Threads.checkedCount(threads) } catch let e as IngotError { throw ValidationError(e.description) }
    }
}

/// Runs `body`, turning thrown Ingot errors into "ingot: error: …" on stderr and the exit code of their kind.
func reportingErrors<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let e as IngotError {
        Terminal.error("error: \(e.description)")
        throw ExitCode(e.kind.exitCode)
    }
}
