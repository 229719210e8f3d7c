// ReportWriter: the build's facts (sizes, parameters, pass records, per-layer findings)
// and its evaluation (accuracy, interleaved latency, load times) as a version-1 report
// (Formats/report-v1.schema.json), written atomically. It measures nothing itself.

import IngotArtifact
import IngotCompiler
import IngotCore
import IngotEval
import IngotImport
import IngotPasses
import IngotRuntime

#if canImport(Glibc)
import Glibc
#endif

enum ReportWriter {
    /// Peak RSS of each artifact run alone (ModelMemory), when measured.
    struct ModelPeaks {
        var baseline: Int?
        var optimized: Int?
    }

    /// Where the build's time went: the whole build (import to committed artifact, before the
    /// report's evaluation) and its phases in order; a phase named `pass.part` is part of `pass`.
    struct BuildTime {
        var seconds: Double
        var phases: [(String, Double)]
    }

    static func write(path: String, summary: BuildSummary, imported: ImportedModel, evaluation: BuildEvaluation,
                      baselineBytes: Int, modelPeaks: ModelPeaks = ModelPeaks(), buildTime: BuildTime? = nil, commandLine: String) throws {
        let json = try report(summary: summary, imported: imported, evaluation: evaluation, baselineBytes: baselineBytes,
                              modelPeaks: modelPeaks, buildTime: buildTime, commandLine: commandLine)
        try writeAtomically(path: path, text: json.serialized(pretty: true) + "\n")
    }

    static func num(_ d: Double) -> JSONValue { .number(d) }
    static func num(_ i: Int) -> JSONValue { .number(Double(i)) }

    static func report(summary: BuildSummary, imported: ImportedModel, evaluation: BuildEvaluation, baselineBytes: Int,
                       modelPeaks: ModelPeaks = ModelPeaks(), buildTime: BuildTime? = nil, commandLine: String) throws -> JSONValue {
        let reader = try ArtifactReader(path: summary.outputPath, verify: .structure)
        var tensors: [JSONValue] = []
        for entry in reader.tensors {
            let params = entry.shape.reduce(1, *)
            var fields: [(String, JSONValue)] = [
                ("name", .string(entry.name)), ("dtype", .string(entry.dtype.description)),
                ("shape", .array(entry.shape.map { num($0) })), ("parameters", num(params)), ("bytes", num(entry.storedSize)),
            ]
            if let zeros = try? zeroFraction(reader, entry) { fields.append(("sparsity", num(zeros))) }
            tensors.append(.object(fields))
        }
        let layers = summary.passes.flatMap(\.layers).map { l -> JSONValue in
            var f: [(String, JSONValue)] = [("name", .string(l.name)), ("kind", .string(l.kind)), ("dtype", .string(l.dtype))]
            if let v = l.quantError { f.append(("quant_error", num(v))) }
            if let v = l.sensitivity { f.append(("sensitivity", num(v))) }
            if let v = l.keptFloat { f.append(("kept_float", .bool(v))) }
            if let v = l.sparsity { f.append(("sparsity", num(v))) }
            return .object(f)
        }
        let passes = summary.passes.map { r -> JSONValue in
            let fields: [(String, JSONValue)] = [
                ("name", .string(r.name)),
                ("options", .object(r.options.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })),
                ("stats", .object(r.stats.map { ($0.0, num($0.1)) })),
                ("seconds", num(r.seconds)),
            ]
            return .object(fields)
        }
        var top: [(String, JSONValue)] = [
            ("schema", .string("ingot-report/1")),
            ("title", .string(title(summary))),
            ("model", .object([
                ("name", .string(imported.graph.name)), ("architecture", .string(imported.isEncoder ? imported.architecture : "llama")),
                ("source_path", .string(imported.sourceFiles.first ?? "")), ("source_bytes", num(summary.sourceBytes)),
                ("source_sha256", .string(try sourceDigest(reader))), ("parameters", num(summary.parameterCount)),
            ])),
            ("artifact", .object([
                ("path", .string(summary.outputPath)), ("bytes", num(summary.artifactBytes)),
                ("baseline_bytes", num(baselineBytes)), ("tensors", .array(tensors)),
            ])),
            ("size_ratio", num(Double(summary.artifactBytes) / Double(max(summary.sourceBytes, 1)))),
            ("passes", .array(passes)),
            ("layers", .array(layers)),
        ]
        if let buildTime {
            top.append(("build_time", .object([
                ("seconds", num(buildTime.seconds)),
                ("phases", .array(buildTime.phases.map { .object([("name", .string($0.0)), ("seconds", num($0.1))]) })),
            ])))
        }
        if let trained = summary.passes.last(where: { !$0.curve.isEmpty }) {
            var training: [(String, JSONValue)] = [
                ("steps", .array(trained.curve.map { .object([("step", num($0.step)), ("loss", num($0.loss))]) })),
            ]
            if let t = trained.stat("parameters_teacher") { training.append(("teacher_parameters", num(t))) }
            if let s = trained.stat("parameters_student") { training.append(("student_parameters", num(s))) }
            top.append(("training", .object(training)))
        }
        if let a = evaluation.accuracy { top.append(("accuracy", accuracy(a))) }
        top.append(("latency", latency(evaluation, modelPeaks: modelPeaks)))
        let machine = MachineInfo.current(usableCPUs: Threads.availableCPUCount())
        top.append(("machine", .object([("cpu", .string(machine.cpuModel)), ("logical_cpus", num(machine.logicalCPUs)),
                                         ("usable_cpus", num(machine.usableCPUs)), ("memory_bytes", num(machine.memoryBytes)),
                                         ("kernel", .string(machine.kernel))])))
        let build = BuildInfo.current
        top.append(("build", .object([("ingot_version", .string(build.version)), ("configuration", .string(build.configuration)),
                                       ("compiler", .string(build.compiler))])))
        top.append(("created_by", .string(commandLine)))
        return .object(top)
    }

    static func title(_ summary: BuildSummary) -> String {
        let name = summary.outputPath.split(separator: "/").last.map(String.init) ?? summary.outputPath
        let passes = summary.passes.map(\.name).joined(separator: "+")
        return passes.isEmpty ? "\(name) (float32)" : "\(name) (\(passes))"
    }

    static func accuracy(_ a: AccuracyComparison) -> JSONValue {
        var f: [(String, JSONValue)] = [("task", .string(a.task.rawValue)), ("samples", num(a.samples)),
                                        ("baseline_label", .string("float32"))]
        let optional: [(String, Double?)] = [
            ("cosine_mean", a.cosineMean), ("cosine_min", a.cosineMin), ("top1_agreement", a.top1Agreement),
            ("top5_agreement", a.top5Agreement), ("perplexity_baseline", a.perplexityBaseline), ("perplexity", a.perplexity),
            ("perplexity_delta_pct", a.perplexityDeltaPercent), ("next_token_top1_agreement", a.nextTokenTop1Agreement),
            ("kl_mean", a.klMean),
        ]
        for (k, v) in optional { if let v { f.append((k, num(v))) } }
        return .object(f)
    }

    static func stats(_ samples: [Double], items: Int, unit: String) -> JSONValue {
        let m = Measurement(name: "", itemsPerSample: items, itemUnit: unit, threads: 1, samples: samples)
        return .object([("samples", .array(samples.map { num($0) })), ("p50", num(m.percentile(50))), ("p95", num(m.percentile(95))),
                        ("p99", num(m.percentile(99))), ("throughput", num(m.throughput))])
    }

    static func latency(_ e: BuildEvaluation, modelPeaks: ModelPeaks) -> JSONValue {
        let rows = e.latency.map { row -> JSONValue in
            let base = Measurement(name: row.label, itemsPerSample: row.itemsPerSample, itemUnit: row.unit, threads: e.threads, samples: row.baseline)
            let opt = Measurement(name: row.label, itemsPerSample: row.itemsPerSample, itemUnit: row.unit, threads: e.threads, samples: row.optimized)
            return .object([("label", .string(row.label)), ("unit", .string(row.unit)),
                            ("baseline", stats(row.baseline, items: row.itemsPerSample, unit: row.unit)),
                            ("optimized", stats(row.optimized, items: row.itemsPerSample, unit: row.unit)),
                            ("p50_ratio", num(opt.percentile(50) / max(base.percentile(50), 1e-12))),
                            ("throughput_ratio", num(opt.throughput / max(base.throughput, 1e-12)))])
        }
        var f: [(String, JSONValue)] = [("threads", num(e.threads)), ("interleaved", .bool(true)), ("rows", .array(rows))]
        if let first = e.latency.first {
            let p50 = { (s: [Double]) in Measurement(name: "", itemsPerSample: 1, itemUnit: "", threads: 1, samples: s).percentile(50) }
            f.append(("p50_ratio", num(p50(first.optimized) / max(p50(first.baseline), 1e-12))))
        }
        f += [("load_seconds_baseline", num(e.loadSecondsBaseline)), ("load_seconds", num(e.loadSeconds)),
              ("peak_rss_bytes", num(peakResidentBytes()))]
        if let b = modelPeaks.baseline { f.append(("model_peak_rss_bytes_baseline", num(b))) }
        if let o = modelPeaks.optimized { f.append(("model_peak_rss_bytes", num(o))) }
        return .object(f)
    }

    /// Fraction of exact zeros in a float or int8 tensor.
    static func zeroFraction(_ reader: ArtifactReader, _ entry: ArtifactTensorInfo) throws -> Double? {
        let buffer = try reader.tensor(entry.name)
        let count = entry.shape.reduce(1, *)
        guard count > 0 else { return nil }
        var zeros = 0
        switch entry.dtype {
        case .f32: buffer.withFloats { for v in $0 where v == 0 { zeros += 1 } }
        case .i8: buffer.withBytes { for b in $0 where b == 0 { zeros += 1 } }
        case .f16, .bf16, .f64, .u8, .i16, .i32, .i64, .bool, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q4_K, .q5_K, .q6_K: return nil
        }
        return Double(zeros) / Double(count)
    }

    static func sourceDigest(_ reader: ArtifactReader) throws -> String {
        guard let bytes = try reader.payload(.provenance) else { return "" }
        let json = try JSONValue.parse(bytes)
        return json["sources"]?[0]?["sha256"]?.string ?? ""
    }

    /// Writes `text` to a temporary file beside `path`, then renames it over `path`.
    static func writeAtomically(path: String, text: String) throws {
        let tmp = path + ".tmp-\(getpid())"
        InterruptCleanup.register(tmp)
        defer { InterruptCleanup.unregister(tmp) }
        guard let f = fopen(tmp, "wb") else {
            throw IngotError(.output, file: path, "cannot create: \(String(cString: strerror(errno)))")
        }
        let bytes = Array(text.utf8)
        let written = fwrite(bytes, 1, bytes.count, f)
        let closed = fclose(f)
        guard written == bytes.count, closed == 0, rename(tmp, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(tmp)
            throw IngotError(.output, file: path, "could not be written: \(reason)")
        }
    }
}
