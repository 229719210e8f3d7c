// BenchPrinters: one BenchReport, three renderings — an aligned terminal table, JSON
// (every raw sample included, for machines) and Markdown (for notes and PRs). Each row names
// the int8 kernel path it ran on; the CPU flags are a footer line (every record in JSON).

import IngotCore

public enum BenchFormat: String, CaseIterable, Sendable {
    case table, json, markdown
}

extension BenchReport {
    public func rendered(_ format: BenchFormat) -> String {
        switch format {
        case .table: return table
        case .json: return json.serialized(pretty: true) + "\n"
        case .markdown: return markdown
        }
    }

    static let columns = ["case", "threads", "kernel", "p50 ms", "p95 ms", "p99 ms", "mean ms", "throughput", "runs"]

    func rows() -> [[String]] {
        measurements.map { m in
            [m.name, "\(m.threads)", m.kernelPath, ms(m.percentile(50)), ms(m.percentile(95)), ms(m.percentile(99)), ms(m.mean),
             fixed(m.throughput, 1) + " \(m.itemUnit)/s", "\(m.samples.count)"]
        }
    }

    /// The CPU flags of the records, one line per distinct set ("none" when a CPU has none of them).
    var cpuFlagLines: [String] {
        var seen: [[String]] = []
        for m in measurements where !seen.contains(m.cpuFlags) { seen.append(m.cpuFlags) }
        return seen.map { "cpu flags: " + ($0.isEmpty ? "none" : $0.joined(separator: " ")) }
    }

    var footer: [String] {
        var lines = footerBase
        if let bound = decodeBound {
            var line = "decode bound: \(fixed(bound.boundTokensPerSecond, 1)) tok/s = \(fixed(bound.readBytesPerSecond / 1e9, 1)) GB/s read ÷ \(fixed(Double(bound.weightBytesPerToken) / 1e6, 1)) MB of weights per token"
            if let decode = measurements.first(where: { $0.name.hasPrefix("decode") }) {
                line += "; decode runs at \(fixed(decode.throughput / bound.boundTokensPerSecond * 100, 1))% of it"
            }
            lines.insert(line, at: 2)
        }
        return lines
    }

    var footerBase: [String] {
        ["artifact: \(artifact)",
         "load: \(ms(loadSeconds)) ms, peak RSS: \(fixed(Double(peakRSSBytes) / 1_048_576, 1)) MiB",
         "machine: \(machine.cpuModel), \(machine.usableCPUs)/\(machine.logicalCPUs) CPUs usable, \(fixed(Double(machine.memoryBytes) / 1_073_741_824, 1)) GiB, \(machine.kernel)",
         "build: ingot \(build.version) \(build.configuration), \(build.compiler)"] + cpuFlagLines
    }

    public var table: String {
        let all = [BenchReport.columns] + rows()
        let widths = (0..<BenchReport.columns.count).map { c in all.map { $0[c].count }.max() ?? 0 }
        var out = ""
        for (i, row) in all.enumerated() {
            out += row.enumerated().map { c, cell in
                c == 0 ? cell + String(repeating: " ", count: widths[c] - cell.count)
                       : String(repeating: " ", count: widths[c] - cell.count) + cell
            }.joined(separator: "  ") + "\n"
            if i == 0 { out += widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ") + "\n" }
        }
        return out + footer.joined(separator: "\n") + "\n"
    }

    public var markdown: String {
        var out = "| " + BenchReport.columns.joined(separator: " | ") + " |\n"
        out += "|" + BenchReport.columns.enumerated().map { $0.offset == 0 ? "---" : "---:" }.joined(separator: "|") + "|\n"
        for row in rows() { out += "| " + row.joined(separator: " | ") + " |\n" }
        return out + "\n" + footer.map { "- " + $0 }.joined(separator: "\n") + "\n"
    }

    public var json: JSONValue {
        .object([
            ("artifact", .string(artifact)),
            ("load_ms", .number(loadSeconds * 1000)),
            ("peak_rss_bytes", .number(Double(peakRSSBytes))),
            ("machine", .object([("cpu", .string(machine.cpuModel)), ("logical_cpus", .number(Double(machine.logicalCPUs))),
                                 ("usable_cpus", .number(Double(machine.usableCPUs))), ("memory_bytes", .number(Double(machine.memoryBytes))),
                                 ("kernel", .string(machine.kernel))])),
            ("build", .object([("version", .string(build.version)), ("configuration", .string(build.configuration)),
                               ("compiler", .string(build.compiler))])),
            ("measurements", .array(measurements.map { m in
                .object([("name", .string(m.name)), ("threads", .number(Double(m.threads))),
                         ("items_per_sample", .number(Double(m.itemsPerSample))), ("item_unit", .string(m.itemUnit)),
                         ("kernel_path", .string(m.kernelPath)), ("cpu_flags", .array(m.cpuFlags.map { .string($0) })),
                         ("p50_ms", .number(m.percentile(50) * 1000)), ("p95_ms", .number(m.percentile(95) * 1000)),
                         ("p99_ms", .number(m.percentile(99) * 1000)), ("mean_ms", .number(m.mean * 1000)),
                         ("throughput", .number(m.throughput)),
                         ("samples_ms", .array(m.samples.map { .number($0 * 1000) }))])
            })),
        ] + (decodeBound.map { b in
            [("decode_bound", JSONValue.object([
                ("weight_bytes_per_token", .number(Double(b.weightBytesPerToken))),
                ("read_bytes_per_second", .number(b.readBytesPerSecond)),
                ("bound_tokens_per_second", .number(b.boundTokensPerSecond)),
            ]))]
        } ?? []))
    }
}

func ms(_ seconds: Double) -> String { fixed(seconds * 1000, 2) }

func fixed(_ value: Double, _ digits: Int) -> String { formatFixed(value, digits) }
