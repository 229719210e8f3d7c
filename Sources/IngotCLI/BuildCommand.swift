// `ingot build`: checkpoint (GGUF file, or Hugging Face folder with safetensors) → .ingot.

import ArgumentParser
import IngotArtifact
import IngotCompiler
import IngotCore
import IngotPasses

struct BuildCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build",
        abstract: "Convert a checkpoint into a .ingot artifact.",
        discussion: "SOURCE is a .gguf file, a Hugging Face model folder (config.json + model.safetensors), or a .safetensors file beside its config.json.")

    @Argument(help: "The checkpoint to convert.")
    var source: String

    @Option(name: [.short, .customLong("output")], help: "Where to write the artifact (.ingot).")
    var output: String

    @Option(help: "Compress tensors: auto (when it saves 10% or more), always, never.")
    var compress: TensorCompressionChoice = .auto

    @Option(help: "zstd level for compressed sections and tensors (1-19).")
    var zstdLevel: Int32 = 3

    @Option(help: ArgumentHelp("Optimization passes, in order, e.g. fuse,quantize=int8.", valueName: "list"))
    var passes: String?

    @Flag(help: "Verify the graph after every pass (always on in debug builds).")
    var verifyPasses = false

    @OptionGroup var global: GlobalOptions

    func validate() throws {
        guard (1...19).contains(zstdLevel) else {
            throw ValidationError("--zstd-level must be in 1...19, got \(zstdLevel)")
        }
        guard output.hasSuffix(".ingot") else {
            throw ValidationError("--output must end in .ingot, got '\(output)'")
        }
    }

    func run() throws {
        ArtifactWriter.removeTemporaryFilesOnInterrupt()
        var options = BuildOptions()
        options.compressTensors = compress.value
        options.zstdLevel = zstdLevel
        if let passes {
            options.pipeline = try reportingErrors { try Pipeline.parse(passes) }
        }
        options.passContext = PassContext(verifyBetweenPasses: verifyPasses || PassContext.debugBuild,
                                          log: { [quiet = global.quiet, verbose = global.verbose] line in
                                              if verbose && !quiet { Terminal.error(line) }
                                          })
        let clock = ContinuousClock()
        let start = clock.now
        let summary = try reportingErrors {
            try ArtifactBuilder.build(source: source, output: output, options: options,
                                      progress: global.quiet ? nil : Terminal.progress)
        }
        let seconds = Double((clock.now - start).components.attoseconds) / 1e18 + Double((clock.now - start).components.seconds)
        guard !global.quiet else { return }
        print("built \(summary.outputPath): \(summary.architecture), \(summary.tensorCount) tensors, \(summary.parameterCount) parameters")
        print("size \(formatBytes(summary.artifactBytes)) (source \(formatBytes(summary.sourceBytes)), \(summary.compressedTensors) tensors compressed)")
        for record in summary.passes {
            let stats = record.stats.map { "\($0.0)=\($0.1 == $0.1.rounded() ? String(Int($0.1)) : String($0.1))" }
            print("pass \(record.name): " + stats.joined(separator: ", "))
        }
        if global.verbose { print("time \(String(format2: seconds)) s") }
    }
}

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
