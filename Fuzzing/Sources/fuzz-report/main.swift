// Fuzz target: the v1 report reader (IngotReport.Report: JSON, schema tag, required fields,
// number magnitudes) and, for a report it accepts, everything `ingot report` and `ingot diff`
// do with one: every printer, a diff of the report against itself, and --fail-if gates (the
// gate parser also reads the input's first line).
import FuzzSupport
import IngotReport

let gates = ["accuracy.cosine_mean < 0.998", "latency.p50_ratio > 1.05", "model.parameters >= 1",
             "artifact.bytes != 0", "latency.rows[0].p50_ratio <= 2", "layers[1].quant_error == 0"]
    .map { try! GateExpression(parsing: $0) }

Fuzz.run { bytes in
    // A --fail-if argument is one short line: the input's first 200 bytes up to a newline.
    let line = bytes.prefix(200).prefix { $0 != UInt8(ascii: "\n") }
    _ = Fuzz.reading("--fail-if", file: nil) { try GateExpression(parsing: String(decoding: line, as: UTF8.self)) }
    guard let report = Fuzz.reading("report", file: "report.json", { try Report.parse(Array(bytes), file: "report.json") }) else { return }
    for format in ReportFormat.allCases {
        _ = ReportPrinter.render(report, format)
        _ = ReportDiff.render([report, report], format)
    }
    for gate in gates { _ = Fuzz.reading("gate \(gate)", file: nil) { try gate.evaluate(report) } }
}
