// ReportPrinter: one report as a terminal table, Markdown, or one self-contained HTML page
// (inline CSS and SVG: latency distributions, per-layer sensitivity and sparsity bars, the
// training curve when there is one). Every string from the report is escaped for HTML. It
// reads the report; it does not measure or judge.

import IngotCore

public enum ReportFormat: String, CaseIterable, Sendable {
    case table, markdown, html, json
}

public enum ReportPrinter {
    public static func render(_ r: Report, _ format: ReportFormat) -> String {
        switch format {
        case .table: return table(r)
        case .markdown: return markdown(r)
        case .html: return html(r)
        case .json: return r.json.serialized(pretty: true) + "\n"
        }
    }

    // MARK: Sections as rows (shared by table and Markdown)

    static func summaryRows(_ r: Report) -> [[String]] {
        var rows: [[String]] = []
        let params = Int(r.number("model.parameters") ?? 0)
        rows.append(["model", "\(r.string("model.architecture") ?? "?"), \(grouped(params)) parameters, source \(grouped(Int(r.number("model.source_bytes") ?? 0))) B"])
        let bytes = Int(r.number("artifact.bytes") ?? 0)
        var size = "\(grouped(bytes)) B"
        if let ratio = r.number("size_ratio") { size += " (\(fmt(ratio * 100, 1))% of source)" }
        rows.append(["artifact", size])
        if let teacher = r.number("training.teacher_parameters"), let student = r.number("training.student_parameters") {
            let curve = (r.value(at: "training.steps")?.array ?? []).compactMap { p -> (Double, Double)? in
                guard let step = p["step"]?.double, let loss = p["loss"]?.double else { return nil }
                return (step, loss)
            }
            var text = "teacher \(grouped(Int(teacher))) → student \(grouped(Int(student))) parameters (\(fmt(student / max(teacher, 1) * 100, 1))%)"
            if let first = curve.first, let last = curve.last {
                text += "; loss \(fmt(first.1, 4)) → \(fmt(last.1, 4)) over \(Int(last.0)) updates"
            }
            rows.append(["training", text])
        }
        return rows
    }

    static func passRows(_ r: Report) -> [[String]] {
        (r.value(at: "passes")?.array ?? []).map { p in
            let stats = (p["stats"]?.object ?? []).map { "\($0.0)=\(number($0.1.double ?? 0))" }.joined(separator: ", ")
            let options = (p["options"]?.object ?? []).map { "\($0.0)=\($0.1.string ?? "")" }.joined(separator: ":")
            return [p["name"]?.string ?? "?", options, p["seconds"]?.double.map { fmt($0, 2) + " s" } ?? "", stats]
        }
    }

    /// Build phases (name, seconds, share of the build), the whole build last; empty when
    /// the report has no `build_time`.
    static func buildTimeRows(_ r: Report) -> [[String]] {
        guard let total = r.number("build_time.seconds") else { return [] }
        let phases = (r.value(at: "build_time.phases")?.array ?? []).compactMap { p -> [String]? in
            guard let name = p["name"]?.string, let s = p["seconds"]?.double else { return nil }
            return [name, fmt(s, 2) + " s", fmt(s / max(total, 1e-9) * 100, 1) + "%"]
        }
        return phases + [["build", fmt(total, 2) + " s", "100.0%"]]
    }

    static func accuracyRows(_ r: Report) -> [[String]] {
        guard let a = r.value(at: "accuracy") else { return [] }
        let metrics: [(String, String, Bool)] = [
            ("cosine_mean", "cosine mean", false), ("cosine_min", "cosine min", false), ("top1_agreement", "top-1 neighbour agreement", true),
            ("top5_agreement", "top-5 neighbour agreement", true), ("perplexity_baseline", "perplexity (float32)", false),
            ("perplexity", "perplexity", false), ("perplexity_delta_pct", "perplexity change %", false),
            ("next_token_top1_agreement", "top-1 next-token agreement", true), ("kl_mean", "mean KL (nats)", false),
        ]
        return metrics.compactMap { key, label, percent in
            guard let v = a[key]?.double else { return nil }
            return [label, percent ? fmt(v * 100, 2) + "%" : fmt(v, 5)]
        }
    }

    static func latencyRows(_ r: Report) -> [[String]] {
        var rows = r.latencyRows.map { row -> [String] in
            if row.unit == "tok/s" {
                return [row.label, fmt(row.baselineThroughput, 1) + " tok/s", fmt(row.optimizedThroughput, 1) + " tok/s",
                        fmt(row.optimizedThroughput / max(row.baselineThroughput, 1e-12), 2) + "×"]
            }
            return [row.label, fmt(row.baselineP50 * 1000, 2) + " ms", fmt(row.optimizedP50 * 1000, 2) + " ms",
                    fmt(row.optimizedP50 / max(row.baselineP50, 1e-12), 2) + "×"]
        }
        if let a = r.number("latency.load_seconds_baseline"), let b = r.number("latency.load_seconds") {
            rows.append(["load", fmt(a * 1000, 1) + " ms", fmt(b * 1000, 1) + " ms", fmt(b / max(a, 1e-12), 2) + "×"])
        }
        return rows
    }

    /// The most sensitive layers first (or by quantization error, or sparsity, when no sensitivity was measured).
    static func layerRows(_ r: Report, limit: Int = 10) -> [[String]] {
        let layers = r.layers
        let key = layers.contains { $0["sensitivity"]?.double != nil } ? "sensitivity"
            : layers.contains { $0["quant_error"]?.double != nil } ? "quant_error" : "sparsity"
        let sorted = layers.sorted { ($0[key]?.double ?? -1) > ($1[key]?.double ?? -1) }
        return sorted.prefix(limit).map { l in
            [l["name"]?.string ?? "?", l["kind"]?.string ?? "", l["dtype"]?.string ?? "",
             l["sensitivity"]?.double.map { fmt($0, 6) } ?? "", l["quant_error"]?.double.map { fmt($0, 5) } ?? "",
             l["sparsity"]?.double.map { fmt($0 * 100, 1) + "%" } ?? "", (l["kept_float"]?.bool ?? false) ? "kept float" : ""]
        }
    }

    static let layerHeader = ["layer", "kind", "dtype", "sensitivity", "quant error", "sparsity", ""]

    // MARK: Table

    public static func table(_ r: Report) -> String {
        var out = r.title + "\n\n" + aligned(summaryRows(r)) + "\n"
        let passes = passRows(r)
        if !passes.isEmpty {
            // Options are in the Markdown and HTML forms; the terminal keeps to what each pass did.
            out += "passes\n" + aligned([["pass", "time", "statistics"]] + passes.map { [$0[0], $0[2], $0[3]] }, indent: "  ") + "\n"
        }
        let time = buildTimeRows(r)
        if !time.isEmpty { out += "build time (a phase named pass.part is part of pass)\n" + aligned([["phase", "time", "share"]] + time, indent: "  ") + "\n" }
        let acc = accuracyRows(r)
        if !acc.isEmpty {
            out += "accuracy (\(r.string("accuracy.task") ?? "?"), \(Int(r.number("accuracy.samples") ?? 0)) samples, against float32)\n"
            out += aligned(acc, indent: "  ") + "\n"
        }
        let lat = latencyRows(r)
        if !lat.isEmpty {
            out += "latency (\(Int(r.number("latency.threads") ?? 0)) threads, baseline and optimized interleaved)\n"
            out += aligned([["row", "baseline", "optimized", "ratio"]] + lat, indent: "  ") + "\n"
        }
        let layers = layerRows(r)
        if !layers.isEmpty { out += "layers\n" + aligned([layerHeader] + layers, indent: "  ") + "\n" }
        if let m = r.string("machine.cpu") { out += "machine: \(m), \(Int(r.number("machine.usable_cpus") ?? 0)) CPUs; build: ingot \(r.string("build.ingot_version") ?? "?") \(r.string("build.configuration") ?? "")\n" }
        return out
    }

    // MARK: Markdown

    public static func markdown(_ r: Report) -> String {
        var out = "# " + mdEscape(r.title) + "\n\n" + mdTable(["", ""], summaryRows(r))
        let passes = passRows(r)
        if !passes.isEmpty { out += "\n## Passes\n\n" + mdTable(["pass", "options", "time", "statistics"], passes) }
        let time = buildTimeRows(r)
        if !time.isEmpty { out += "\n## Build time\n\n" + mdTable(["phase", "time", "share"], time) }
        let acc = accuracyRows(r)
        if !acc.isEmpty { out += "\n## Accuracy against float32\n\n" + mdTable(["metric", "value"], acc) }
        let lat = latencyRows(r)
        if !lat.isEmpty { out += "\n## Latency (interleaved)\n\n" + mdTable(["row", "baseline", "optimized", "ratio"], lat) }
        let layers = layerRows(r)
        if !layers.isEmpty { out += "\n## Layers\n\n" + mdTable(layerHeader, layers) }
        return out
    }

    // MARK: HTML

    public static func html(_ r: Report) -> String {
        var body = "<h1>\(esc(r.title))</h1>\n" + htmlTable(nil, summaryRows(r))
        let passes = passRows(r)
        if !passes.isEmpty { body += "<h2>Passes</h2>\n" + htmlTable(["pass", "options", "time", "statistics"], passes) }
        let time = buildTimeRows(r)
        if !time.isEmpty { body += "<h2>Build time</h2>\n" + htmlTable(["phase", "time", "share"], time) }
        let acc = accuracyRows(r)
        if !acc.isEmpty { body += "<h2>Accuracy against float32</h2>\n" + htmlTable(["metric", "value"], acc) }
        let lat = latencyRows(r)
        if !lat.isEmpty {
            body += "<h2>Latency</h2>\n" + htmlTable(["row", "baseline", "optimized", "ratio"], lat)
            body += SVGCharts.latencyStrips(r.latencyRows)
        }
        let layers = r.layers
        let sens = layers.compactMap { l in l["sensitivity"]?.double.map { (l["name"]?.string ?? "?", $0) } }
        if !sens.isEmpty { body += "<h2>Per-layer sensitivity</h2>\n" + SVGCharts.bars(sens.sorted { $0.1 > $1.1 }, unit: "") }
        let sparsity = layers.compactMap { l in l["sparsity"]?.double.map { (l["name"]?.string ?? "?", $0 * 100) } }
        if !sparsity.isEmpty { body += "<h2>Per-layer sparsity</h2>\n" + SVGCharts.bars(sparsity, unit: "%") }
        let steps = (r.value(at: "training.steps")?.array ?? []).compactMap { s -> (Double, Double)? in
            guard let x = s["step"]?.double, let y = s["loss"]?.double else { return nil }
            return (x, y)
        }
        if !steps.isEmpty { body += "<h2>Training loss</h2>\n" + SVGCharts.line(steps, xLabel: "step", yLabel: "loss") }
        if !layers.isEmpty { body += "<h2>Layers</h2>\n" + htmlTable(layerHeader, layerRows(r, limit: layers.count)) }
        return page(title: r.title, body: body)
    }

    static func page(title: String, body: String) -> String {
        """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>\(esc(title))</title>
        <style>
        body{font:14px/1.4 system-ui,sans-serif;margin:2em;max-width:1100px;color:#222}
        table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}
        th{background:#f2f2f2}td.num{text-align:right}.best{font-weight:bold;color:#0a6}
        svg{display:block;margin:.5em 0 1.5em}svg text{font:11px system-ui,sans-serif}
        </style></head><body>
        \(body)</body></html>

        """
    }

    // MARK: Helpers

    static func aligned(_ rows: [[String]], indent: String = "") -> String {
        guard let columns = rows.map(\.count).max() else { return "" }
        let widths = (0..<columns).map { c in rows.map { c < $0.count ? $0[c].count : 0 }.max() ?? 0 }
        return rows.map { row in
            var line = indent
            for (c, cell) in row.enumerated() {
                line += cell + (c == row.count - 1 ? "" : String(repeating: " ", count: widths[c] - cell.count + 2))
            }
            return line.trimmedTrailing()
        }.joined(separator: "\n") + "\n"
    }

    static func mdTable(_ header: [String], _ rows: [[String]]) -> String {
        var out = "| " + header.map(mdEscape).joined(separator: " | ") + " |\n|" + header.map { _ in "---" }.joined(separator: "|") + "|\n"
        for row in rows { out += "| " + row.map(mdEscape).joined(separator: " | ") + " |\n" }
        return out
    }

    static func htmlTable(_ header: [String]?, _ rows: [[String]], bold: Set<[Int]> = []) -> String {
        var out = "<table>\n"
        if let header { out += "<tr>" + header.map { "<th>\(esc($0))</th>" }.joined() + "</tr>\n" }
        for (i, row) in rows.enumerated() {
            out += "<tr>" + row.enumerated().map { c, cell in
                "<td\(bold.contains([i, c]) ? " class=\"best\"" : "")>\(esc(cell))</td>"
            }.joined() + "</tr>\n"
        }
        return out + "</table>\n"
    }
}

/// HTML-escapes text for element content and attribute values.
public func esc(_ s: String) -> String {
    var out = ""
    for c in s.unicodeScalars {
        switch c {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&#39;"
        default: out.unicodeScalars.append(c)
        }
    }
    return out
}

func mdEscape(_ s: String) -> String {
    String(s.flatMap { $0 == "|" ? ["\\", "|"] : [$0] })
}

public func fmt(_ value: Double, _ digits: Int) -> String { formatFixed(value, digits) }

/// Integers as integers, other numbers with up to 6 significant decimals.
func number(_ v: Double) -> String {
    if v == v.rounded(), abs(v) < 1e15 { return String(Int(v)) }
    return abs(v) >= 1 ? fmt(v, 3) : fmt(v, 6)
}

/// 1234567 → "1,234,567".
func grouped(_ n: Int) -> String {
    let digits = String(abs(n))
    var out = ""
    for (i, c) in digits.enumerated() {
        if i > 0, (digits.count - i) % 3 == 0 { out += "," }
        out.append(c)
    }
    return (n < 0 ? "-" : "") + out
}

extension String {
    func trimmedTrailing() -> String {
        var s = self
        while s.last == " " { s.removeLast() }
        return s
    }
}
