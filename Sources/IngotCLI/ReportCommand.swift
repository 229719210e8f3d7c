// `ingot report` and `ingot diff`: render one report, or compare several with CI gates.

import ArgumentParser
import IngotCore
import IngotReport

extension ReportFormat: ExpressibleByArgument {}

func loadReport(_ path: String) throws -> Report {
    let file = try MappedFile(path: path)
    return try Report.parse(Array(file.bytes.bindMemory(to: UInt8.self)), file: path)
}

/// Prints to stdout, or writes atomically to `output`.
func emit(_ text: String, to output: String?) throws {
    if let output { try ReportWriter.writeAtomically(path: output, text: text) } else { print(text, terminator: "") }
}

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Render an optimization report (from ingot build --report).",
        discussion: "Exit codes: 0 success; 64 bad usage; 65 malformed report; 66 report not found; 74 output not written.")

    @Argument(help: "The report (.json).")
    var file: String

    @Option(help: "Output: table, markdown, html or json.")
    var format: ReportFormat = .table

    @Option(name: [.short, .customLong("output")], help: "Write to this file instead of standard output.")
    var output: String?

    func run() throws {
        try reportingErrors {
            try emit(ReportPrinter.render(try loadReport(file), format), to: output)
        }
    }
}

struct DiffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Compare optimization reports side by side; gate CI on their fields.",
        discussion: """
            Changes are against the first report; the best value of each row is marked. Each \
            --fail-if condition (FIELD OP NUMBER, e.g. "accuracy.cosine_mean < 0.995" or \
            "latency.rows[0].p50_ratio > 1.05") is evaluated on the last report; if any holds, \
            the command exits 1 after printing the comparison. Exit codes: 0 no condition holds; \
            1 a --fail-if condition holds; 64 bad usage or expression, or a field that is not in \
            the report; 65 malformed report; 66 report not found; 74 output not written.
            """)

    @Argument(help: "Two or more reports (.json); the last is the candidate --fail-if reads.")
    var files: [String]

    @Option(help: "Output: table, markdown, html or json.")
    var format: ReportFormat = .table

    @Option(name: [.short, .customLong("output")], help: "Write to this file instead of standard output.")
    var output: String?

    @Option(name: .customLong("fail-if"), help: ArgumentHelp("Exit 1 when this holds for the last report.", valueName: "condition"))
    var failIf: [String] = []

    func validate() throws {
        guard files.count >= 2 else { throw ValidationError("give at least two reports, got \(files.count)") }
    }

    func run() throws {
        let failed = try reportingErrors { () throws -> [String] in
            let gates = try failIf.map { try GateExpression(parsing: $0) }
            let reports = try files.map(loadReport)
            let results = try gates.map { ($0, try $0.evaluate(reports.last!)) }
            try emit(ReportDiff.render(reports, format), to: output)
            return results.filter { $0.1.holds }.map { "\($0.0.text) (value \(number($0.1.value)))" }
        }
        for f in failed { Terminal.error("gate failed: \(f)") }
        if !failed.isEmpty { throw ExitCode(1) }
    }
}

/// Integers as integers, others with up to 6 decimals.
func number(_ v: Double) -> String {
    if v == v.rounded(), abs(v) < 1e15 { return String(Int(v)) }
    return String(v)
}
