// `ingot build`: checkpoint (GGUF file, Hugging Face folder with safetensors or pytorch_model.bin,
// or an ONNX encoder with --tokenizer) → .ingot.

import ArgumentParser
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

struct BuildCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build",
        abstract: "Convert a checkpoint into a .ingot artifact.",
        discussion: "SOURCE is a .gguf file, a Hugging Face model folder (config.json + model.safetensors, or pytorch_model.bin when there is no safetensors), a .safetensors or .bin file beside its config.json, or an ONNX sentence encoder (.onnx, with --tokenizer). A .bin is read without running its pickle: only the globals a state dict uses are accepted.")

    @Argument(help: "The checkpoint to convert.")
    var source: String

    @Option(name: [.short, .customLong("output")], help: "Where to write the artifact (.ingot).")
    var output: String

    @Option(help: ArgumentHelp("ONNX only: the tokenizer, a vocab.txt, a tokenizer.json or a Hugging Face / sentence-transformers folder (whose modules.json then sets pooling and normalisation).", valueName: "path"))
    var tokenizer: String?

    @Option(help: ArgumentHelp("ONNX only: how the embedding output pools the token states: mean (default), cls, max or last.", valueName: "mode"))
    var pooling: ONNXPooling?

    @Flag(help: "ONNX only: L2-normalise the embedding output.")
    var normalize = false

    @Option(help: "Compress tensors: auto (when it saves 10% or more), always, never.")
    var compress: TensorCompressionChoice = .auto

    @Option(help: "zstd level for compressed sections and tensors (1-19).")
    var zstdLevel: Int32 = 3

    @Option(help: ArgumentHelp("Optimization passes, in order, e.g. fuse,quantize=int8.", valueName: "list"))
    var passes: String?

    @Option(help: ArgumentHelp("A pass recipe (.yaml, .yml or .json) instead of --passes.", valueName: "file"))
    var recipe: String?

    @Option(help: ArgumentHelp("Calibration text: one sentence per line (encoders) or running text (language models).", valueName: "file"))
    var calibration: String?

    @Option(name: .customLong("eval"), help: ArgumentHelp("Evaluation text for the report (default: a held-out fifth of the calibration text).", valueName: "file"))
    var evaluation: String?

    @Option(help: ArgumentHelp("Write an optimization report (JSON, Formats/report-v1.schema.json).", valueName: "file"))
    var report: String?

    @Option(help: "Timed runs per latency row in the report.")
    var reportRuns = 20

    @Flag(help: "Expand a GGUF's block-quantized weights (Q4_0 … Q6_K) to float32 instead of keeping them as stored (always so when passes run).")
    var dequantize = false

    @Flag(help: "Verify the graph after every pass (always on in debug builds).")
    var verifyPasses = false

    @Option(help: ArgumentHelp("Sign the artifact with this secret key (from ingot keygen).", valueName: "key"))
    var sign: String?

    @OptionGroup var threadOptions: ThreadOptions

    @OptionGroup var global: GlobalOptions

    func validate() throws {
        guard (1...19).contains(zstdLevel) else {
            throw ValidationError("--zstd-level must be in 1...19, got \(zstdLevel)")
        }
        guard output.hasSuffix(".ingot") else {
            throw ValidationError("--output must end in .ingot, got '\(output)'")
        }
        if passes != nil && recipe != nil { throw ValidationError("give either --passes or --recipe, not both") }
        if !source.hasSuffix(".onnx") && (tokenizer != nil || pooling != nil || normalize) {
            throw ValidationError("--tokenizer, --pooling and --normalize are for ONNX sources (.onnx); other checkpoints carry their own")
        }
        guard reportRuns >= 1 else { throw ValidationError("--report-runs must be at least 1, got \(reportRuns)") }
    }

    func run() throws {
        ArtifactWriter.removeTemporaryFilesOnInterrupt()
        Threads.setComputeThreads(threadOptions.threads ?? Threads.availableCPUCount())
        var options = BuildOptions()
        options.compressTensors = compress.value
        options.zstdLevel = zstdLevel
        let log: @Sendable (String) -> Void = { [quiet = global.quiet, verbose = global.verbose] line in
            if verbose && !quiet { Terminal.error(line) }
        }
        let clock = ContinuousClock()
        let start = clock.now
        var phaseSeconds: [(String, Double)] = []
        func since(_ t: ContinuousClock.Instant) -> Double {
            let d = (clock.now - t).components
            return Double(d.seconds) + Double(d.attoseconds) / 1e18
        }
        let (summary, imported, data) = try reportingErrors { () throws -> (BuildSummary, ImportedModel, EvaluationData?) in
            // Everything that can be checked is checked before any work.
            if let sign { options.signingKey = try SigningKey.read(from: sign) }
            if let passes { options.pipeline = try Pipeline.parse(passes) }
            if let recipe { options.pipeline = try RecipeFile.load(recipe) }
            if options.pipeline.needsCalibration && calibration == nil {
                let names = options.pipeline.steps.filter(\.needsCalibration).map(\.pass.name)
                throw IngotError(.invalidArgument, location: "--calibration",
                                 "missing; pass\(names.count == 1 ? "" : "es") \(names.joined(separator: ", ")) need\(names.count == 1 ? "s" : "") calibration data")
            }
            var phaseStart = clock.now
            // Passes read float32 weights: with any pass, block-quantized GGUF weights are expanded (then e.g. quantize=int8 converts them).
            let native = !dequantize && options.pipeline.steps.isEmpty
            let imported = source.hasSuffix(".onnx")
                ? try ONNXImporter.importModel(path: source, tokenizer: tokenizer, pooling: pooling, normalize: normalize ? true : nil)
                : try ModelImporter.importModel(at: source, blockWeights: native ? .native : .float32)
            phaseSeconds.append(("import", since(phaseStart)))
            phaseStart = clock.now
            var data: EvaluationData?
            if let file = calibration ?? evaluation {
                guard let spec = imported.tokenizer else {
                    throw IngotError(.unsupported, file: source, "the checkpoint has no tokenizer to read calibration text with")
                }
                // --eval alone: all of it is evaluation data (and nothing calibrates).
                data = try EvaluationData.load(calibrationFile: file, evaluationFile: evaluation,
                                               tokenizer: spec, isEncoder: imported.isEncoder)
            }
            if data != nil { phaseSeconds.append(("read_text", since(phaseStart))) }
            let models = GraphModels(reference: imported.graph, tokenizerSpec: imported.tokenizer)
            // Only --calibration calibrates: with --eval alone, passes must not tune on the evaluation text.
            let calibrator = calibration == nil ? nil : data.map { ModelCalibrator(data: $0.calibration, models: models) }
            // INGOT_WHOLE_RUNS=1: every candidate measured by a whole run (to compare build times; Formats/passes.md).
            if let whole = getenv("INGOT_WHOLE_RUNS"), String(cString: whole) == "1" { calibrator?.resumesRuns = false }
            options.passContext = PassContext(calibrator: calibrator, verifyBetweenPasses: verifyPasses || PassContext.debugBuild, log: log)
            options.passContext.parallelFor = { count, body in ModelCalibrator.parallelFor(count, body) }
            options.passContext.progress = { [quiet = global.quiet] line in
                if !quiet { Terminal.error(line) }
            }
            let summary = try ArtifactBuilder.write(imported, source: source, output: output, options: options,
                                                    progress: global.quiet ? nil : Terminal.progress)
            models.clear()
            for record in summary.passes {
                phaseSeconds.append((record.name, record.seconds))
                phaseSeconds += record.phases.map { ("\(record.name).\($0.0)", $0.1) }
            }
            phaseSeconds.append(("write", summary.writeSeconds))
            return (summary, imported, data)
        }
        let buildTime = ReportWriter.BuildTime(seconds: since(start), phases: phaseSeconds)
        if let report {
            try reportingErrors {
                try writeReport(to: report, summary: summary, imported: imported, data: data, options: options, buildTime: buildTime, log: log)
            }
        }
        let seconds = Double((clock.now - start).components.attoseconds) / 1e18 + Double((clock.now - start).components.seconds)
        guard !global.quiet else { return }
        print("built \(summary.outputPath): \(summary.architecture), \(summary.tensorCount) tensors, \(summary.parameterCount) parameters")
        print("size \(formatBytes(summary.artifactBytes)) (source \(formatBytes(summary.sourceBytes)), \(summary.compressedTensors) tensors compressed)")
        if let id = summary.signerKeyID { print("signed with key \(id)") }
        for record in summary.passes {
            let stats = record.stats.map { "\($0.0)=\($0.1 == $0.1.rounded() ? String(Int($0.1)) : String($0.1))" }
            print("pass \(record.name): " + stats.joined(separator: ", "))
        }
        if global.verbose { print("time \(String(format2: seconds)) s") }
    }
}

extension ONNXPooling: ExpressibleByArgument {}

enum TensorCompressionChoice: String, ExpressibleByArgument, CaseIterable {
    case auto, always, never

    var value: ArtifactWriteOptions.TensorCompression {
        switch self {
        case .auto: return .auto
        case .always: return .always
        case .never: return .never
        }
    }
}

func formatBytes(_ n: Int) -> String {
    if n >= 1 << 20 { return String(format2: Double(n) / 1_048_576) + " MiB" }
    if n >= 1 << 10 { return String(format2: Double(n) / 1024) + " KiB" }
    return "\(n) B"
}

extension String {
    /// Two decimals, without Foundation.
    init(format2 value: Double) {
        let scaled = (value * 100).rounded()
        let whole = Int(scaled / 100)
        let frac = Int(abs(scaled).truncatingRemainder(dividingBy: 100))
        self = "\(value < 0 && whole == 0 ? "-" : "")\(whole).\(frac < 10 ? "0" : "")\(frac)"
    }
}

extension BuildCommand {
    /// Builds the float32 baseline in the temporary directory (unless no passes ran), compares, and
    /// writes the report. The baseline artifact is removed afterwards.
    func writeReport(to path: String, summary: BuildSummary, imported: ImportedModel, data: EvaluationData?,
                     options: BuildOptions, buildTime: ReportWriter.BuildTime? = nil, log: @escaping @Sendable (String) -> Void) throws {
        var baselinePath = output
        var temporary: String?
        if !options.pipeline.steps.isEmpty {
            // In the temporary directory: an interrupted evaluation leaves nothing beside the outputs.
            let dir = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
            temporary = dir + "/ingot-baseline-\(getpid()).ingot"
            baselinePath = temporary!
            // Registered before it exists: an interrupt or exit from here on removes it.
            InterruptCleanup.register(baselinePath)
        }
        defer {
            if let temporary {
                unlink(temporary)
                InterruptCleanup.unregister(temporary)
            }
        }
        if temporary != nil {
            log("building the float32 baseline for the report")
            var plain = BuildOptions()
            plain.compressTensors = options.compressTensors
            plain.zstdLevel = options.zstdLevel
            _ = try ArtifactBuilder.write(imported, source: source, output: baselinePath, options: plain)
        }
        var settings = BuildEvaluation.Settings()
        settings.runs = reportRuns
        let evaluation = try BuildEvaluation.run(baselinePath: baselinePath, optimizedPath: output, data: data, settings: settings,
                                                 log: log)
        let baselineBytes = (try? MappedFile(path: baselinePath).count) ?? 0
        log("measuring each artifact's peak memory in a process of its own")
        let isLM = !imported.isEncoder
        let peaks = ReportWriter.ModelPeaks(
            baseline: ModelMemory.peakResidentBytes(artifact: baselinePath, languageModel: isLM, threads: evaluation.threads),
            optimized: ModelMemory.peakResidentBytes(artifact: output, languageModel: isLM, threads: evaluation.threads))
        try ReportWriter.write(path: path, summary: summary, imported: imported, evaluation: evaluation,
                               baselineBytes: baselineBytes, modelPeaks: peaks, buildTime: buildTime,
                               commandLine: CommandLine.arguments.joined(separator: " "))
        // Never ship a slower model silently. Without passes both sides are the same artifact,
        // so a difference is timing noise, not a slower model.
        if !options.pipeline.steps.isEmpty {
            for line in slowerRows(evaluation) { Terminal.error("warning: \(line)") }
        }
    }

    /// Latency rows where the optimized artifact is slower than its float32 baseline.
    func slowerRows(_ e: BuildEvaluation) -> [String] {
        e.latency.compactMap { row in
            let base = Measurement(name: row.label, itemsPerSample: row.itemsPerSample, itemUnit: row.unit, threads: e.threads, samples: row.baseline)
            let opt = Measurement(name: row.label, itemsPerSample: row.itemsPerSample, itemUnit: row.unit, threads: e.threads, samples: row.optimized)
            let ratio = opt.percentile(50) / max(base.percentile(50), 1e-12)
            guard ratio > 1.02 else { return nil }
            return "\(row.label): the optimized artifact is slower than float32 (p50 \(String(format2: ratio))× the baseline)"
        }
    }
}
