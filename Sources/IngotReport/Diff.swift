// Diff and gates: any number of reports side by side — one row per metric, one column per
// report, the change against the first report, and the best value of each row marked (each
// metric knows whether higher or lower is better) — and `--fail-if` conditions over report
// fields for CI. A gate reads the last report given (the candidate).

import IngotCore

public struct DiffMetric: Sendable {
    public let label: String
    public let path: String
    public let higherIsBetter: Bool
    public let percent: Bool
}

public enum ReportDiff {
    public static let metrics: [DiffMetric] = [
        DiffMetric(label: "artifact bytes", path: "artifact.bytes", higherIsBetter: false, percent: false),
        DiffMetric(label: "size / source", path: "size_ratio", higherIsBetter: false, percent: true),
        DiffMetric(label: "parameters", path: "model.parameters", higherIsBetter: false, percent: false),
        DiffMetric(label: "cosine mean", path: "accuracy.cosine_mean", higherIsBetter: true, percent: false),
        DiffMetric(label: "cosine min", path: "accuracy.cosine_min", higherIsBetter: true, percent: false),
        DiffMetric(label: "top-1 agreement", path: "accuracy.top1_agreement", higherIsBetter: true, percent: true),
        DiffMetric(label: "top-5 agreement", path: "accuracy.top5_agreement", higherIsBetter: true, percent: true),
        DiffMetric(label: "perplexity", path: "accuracy.perplexity", higherIsBetter: false, percent: false),
        DiffMetric(label: "perplexity change %", path: "accuracy.perplexity_delta_pct", higherIsBetter: false, percent: false),
        DiffMetric(label: "next-token agreement", path: "accuracy.next_token_top1_agreement", higherIsBetter: true, percent: true),
        DiffMetric(label: "mean KL", path: "accuracy.kl_mean", higherIsBetter: false, percent: false),
        DiffMetric(label: "load s", path: "latency.load_seconds", higherIsBetter: false, percent: false),
        DiffMetric(label: "build peak RSS bytes", path: "latency.peak_rss_bytes", higherIsBetter: false, percent: false),
        DiffMetric(label: "model peak RSS bytes", path: "latency.model_peak_rss_bytes", higherIsBetter: false, percent: false),
    ]

    /// Rows: metric label, then per report its value text; `best` holds (row, report) cells to mark.
    public static func rows(_ reports: [Report]) -> (rows: [[String]], values: [[Double?]], best: Set<[Int]>) {
        var all: [(DiffMetric, [Double?])] = metrics.map { m in (m, reports.map { $0.number(m.path) }) }
        // Latency rows by label (p50 for ms rows, throughput for tok/s rows), in the first report's order.
        var labels: [String] = []
        for r in reports { for row in r.latencyRows where !labels.contains(row.label) { labels.append(row.label) } }
        for label in labels {
            let sample = reports.lazy.compactMap { $0.latencyRows.first { $0.label == label } }.first!
            if sample.unit == "tok/s" {
                all.append((DiffMetric(label: "\(label) tok/s", path: "", higherIsBetter: true, percent: false),
                            reports.map { r in r.latencyRows.first { $0.label == label }?.optimizedThroughput }))
            } else {
                all.append((DiffMetric(label: "\(label) p50 ms", path: "", higherIsBetter: false, percent: false),
                            reports.map { r in r.latencyRows.first { $0.label == label }.map { $0.optimizedP50 * 1000 } }))
            }
        }
        all = all.filter { $0.1.contains { $0 != nil } }
        var rows: [[String]] = [], values: [[Double?]] = [], best: Set<[Int]> = []
        for (i, (metric, vals)) in all.enumerated() {
            var row = [metric.label]
            for (j, v) in vals.enumerated() {
                guard let v else { row.append("—"); continue }
                var cell = metric.percent ? fmt(v * 100, 2) + "%" : number(v)
                if j > 0, let base = vals[0], base != 0 {
                    let change = (v / base - 1) * 100
                    cell += " (\(change >= 0 ? "+" : "")\(fmt(change, 1))%)"
                }
                row.append(cell)
            }
            let present = vals.enumerated().compactMap { j, v in v.map { (j, $0) } }
            if present.count > 1 {
                let target = metric.higherIsBetter ? present.map(\.1).max()! : present.map(\.1).min()!
                for (j, v) in present where v == target { best.insert([i, j + 1]) }
            }
            rows.append(row)
            values.append(vals)
        }
        return (rows, values, best)
    }

    public static func render(_ reports: [Report], _ format: ReportFormat) -> String {
        let (rows, values, best) = rows(reports)
        let header = ["metric"] + reports.map(\.title)
        switch format {
        case .table:
            let marked = rows.enumerated().map { i, row in row.enumerated().map { j, c in best.contains([i, j]) ? c + " *" : c } }
            return ReportPrinter.aligned([header] + marked) + "* best in its row; changes are against the first report\n"
        case .markdown:
            let marked = rows.enumerated().map { i, row in row.enumerated().map { j, c in best.contains([i, j]) ? "**\(c)**" : c } }
            return ReportPrinter.mdTable(header, marked) + "\nBold: best in its row; changes are against the first report.\n"
        case .html:
            let points = reports.compactMap { r -> (label: String, size: Double, accuracy: Double, latency: Double)? in
                guard let size = r.number("artifact.bytes") else { return nil }
                let accuracy = r.number("accuracy.cosine_mean") ?? r.number("accuracy.next_token_top1_agreement") ?? 1
                return (r.title, size, accuracy, r.number("latency.p50_ratio") ?? 1)
            }
            let accuracyLabel = reports.contains { $0.number("accuracy.cosine_mean") != nil } ? "cosine mean" : "next-token agreement"
            let body = "<h1>Report comparison</h1>\n" + ReportPrinter.htmlTable(header, rows, bold: best)
                + "<p>Bold: best in its row; changes are against the first report.</p>\n<h2>Size, accuracy and latency</h2>\n"
                + SVGCharts.tradeOff(points, accuracyLabel: accuracyLabel)
            return ReportPrinter.page(title: "Ingot report comparison", body: body)
        case .json:
            let metricsJSON = rows.enumerated().map { i, row -> JSONValue in
                .object([("metric", .string(row[0])),
                         ("values", .array(values[i].map { $0.map { JSONValue.number($0) } ?? .null })),
                         ("best", .array(reports.indices.filter { best.contains([i, $0 + 1]) }.map { .number(Double($0)) }))])
            }
            return JSONValue.object([("reports", .array(reports.map { .string($0.title) })), ("metrics", .array(metricsJSON))])
                .serialized(pretty: true) + "\n"
        }
    }
}

/// `accuracy.cosine_mean < 0.995`: a field path, a comparison, a number.
public struct GateExpression: Sendable, CustomStringConvertible {
    public enum Comparison: String, CaseIterable, Sendable { case le = "<=", ge = ">=", eq = "==", ne = "!=", lt = "<", gt = ">" }
    public let path: String
    public let comparison: Comparison
    public let threshold: Double
    public let text: String

    public var description: String { text }

    public init(parsing text: String) throws {
        self.text = text
        let chars = Array(text)
        for c in Comparison.allCases {
            let op = Array(c.rawValue)
            guard let at = (0...max(0, chars.count - op.count)).first(where: { i in
                i + op.count <= chars.count && Array(chars[i..<i + op.count]) == op
            }) else { continue }
            let lhs = String(chars[..<at]).trimmingBlanks(), rhs = String(chars[(at + op.count)...]).trimmingBlanks()
            guard !lhs.isEmpty, lhs.allSatisfy({ $0.isLetter || $0.isNumber || "._[]".contains($0) }) else {
                throw IngotError(.invalidArgument, location: "--fail-if", "'\(text)': expected a field path like accuracy.cosine_mean before \(c.rawValue), got '\(lhs)'")
            }
            guard let value = Double(rhs), value.isFinite else {
                throw IngotError(.invalidArgument, location: "--fail-if", "'\(text)': expected a number after \(c.rawValue), got '\(rhs)'")
            }
            path = lhs
            comparison = c
            threshold = value
            return
        }
        throw IngotError(.invalidArgument, location: "--fail-if", "'\(text)': expected FIELD OP NUMBER with OP one of < <= > >= == !=")
    }

    /// The field's value and whether the condition holds (so the gate fails).
    public func evaluate(_ report: Report) throws -> (value: Double, holds: Bool) {
        guard let v = report.value(at: path) else {
            let keys = (report.json.object ?? []).map(\.0).joined(separator: ", ")
            throw IngotError(.invalidArgument, file: report.file, location: path, "no such field in the report; top-level fields: \(keys)")
        }
        guard let x = v.double else {
            throw IngotError(.invalidArgument, file: report.file, location: path, "is not a number")
        }
        let holds: Bool
        switch comparison {
        case .lt: holds = x < threshold
        case .le: holds = x <= threshold
        case .gt: holds = x > threshold
        case .ge: holds = x >= threshold
        case .eq: holds = x == threshold
        case .ne: holds = x != threshold
        }
        return (x, holds)
    }
}

extension String {
    func trimmingBlanks() -> String {
        var s = Substring(self)
        while s.first == " " { s.removeFirst() }
        while s.last == " " { s.removeLast() }
        return String(s)
    }
}
