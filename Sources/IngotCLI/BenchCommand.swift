// `ingot bench`: latency and throughput of an artifact on synthetic inputs — warm-up, timed
// runs with raw samples kept, load time, peak RSS, the machine and the build — printed as a
// table, JSON or Markdown. Encoders: batch × seq sentences; language models: prefill of
// --seq tokens and single-token decode steps. --kernel-path (or INGOT_KERNEL_PATH) runs the
// packed int8 GEMM on chosen instruction paths (several in one process, for same-run ratios);
// every record names its path and the CPU flags.

import ArgumentParser
import IngotCore
import IngotKernels
import IngotRuntime

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmark an artifact: latency percentiles, throughput, load time, peak memory.")

    @Argument(help: "The .ingot artifact.")
    var artifact: String

    @Option(help: "Sequence length (tokens per sentence, or prompt tokens to prefill).")
    var seq = 128

    @Option(help: "Sentences per call (encoders).")
    var batch = 1

    @Option(help: "Decode steps to time after the prefill (language models).")
    var decode = 64

    @OptionGroup var threadOptions: ThreadOptions

    @Option(help: ArgumentHelp("Instruction path of the packed int8 GEMM: portable, avx2, avx2-vnni, avx512bw or avx512-vnni; several, comma-separated, are timed in one process with their runs interleaved (default: INGOT_KERNEL_PATH, else the fastest this CPU has).",
                               valueName: "paths"))
    var kernelPath: String?

    @Option(help: "Untimed runs first.")
    var warmup = 3

    @Option(help: "Timed runs.")
    var runs = 20

    @Option(help: "Output: table, json or markdown.")
    var format: BenchFormatChoice = .table

    @OptionGroup var trust: TrustOptions

    @OptionGroup var global: GlobalOptions

    func validate() throws {
        guard seq >= 2, batch >= 1, runs >= 1, warmup >= 0, decode >= 0 else {
            throw ValidationError("--seq must be ≥ 2, --batch and --runs ≥ 1, --warmup and --decode ≥ 0")
        }
    }

    func run() throws {
        let threadCount = threadOptions.threads ?? Threads.availableCPUCount()
        Threads.setComputeThreads(threadCount)
        try reportingErrors {
            let forcedPaths = try kernelPath.map { list in
                try list.split(separator: ",", omittingEmptySubsequences: false).map {
                    try Int8KernelPath.parse(String($0), source: "--kernel-path")
                }
            }
            let t0 = monotonicSeconds()
            let model = try Model(path: artifact, trust: try trust.trust())
            // After the model: opening it applies INGOT_KERNEL_PATH, which the flag overrides.
            let paths = forcedPaths ?? [Int8KernelPath.current]
            var measurements: [Measurement] = []
            let load: Double
            if model.outputNames.contains("embedding") {
                let encoder = try Encoder(model: model)
                let sentence: [Int32] = [101] + (0..<(seq - 2)).map { Int32(2000 + $0 % 5000) } + [102]
                let input = [[Int32]](repeating: sentence, count: batch)
                _ = try encoder.embed(ids: input)
                load = monotonicSeconds() - t0
                for path in paths {
                    try Int8KernelPath.use(path)
                    for _ in 0..<warmup { _ = try encoder.embed(ids: input) }
                }
                // Run r of every path before run r + 1 of any, so drifting load hits all paths alike.
                var samples = [[Double]](repeating: [], count: paths.count)
                for _ in 0..<runs {
                    for (i, path) in paths.enumerated() {
                        try Int8KernelPath.use(path)
                        let s = monotonicSeconds()
                        _ = try encoder.embed(ids: input)
                        samples[i].append(monotonicSeconds() - s)
                    }
                }
                for (i, path) in paths.enumerated() {
                    measurements.append(Measurement(name: "encode batch=\(batch) seq=\(seq)", itemsPerSample: batch,
                                                    itemUnit: "sentences", threads: threadCount, samples: samples[i],
                                                    kernelPath: path.rawValue))
                }
            } else {
                let lm = try LanguageModel(model: model)
                let prompt: [Int32] = (0..<seq).map { Int32(1000 + $0 % 20000) }
                _ = try lm.logits(ids: [prompt[0]])
                load = monotonicSeconds() - t0
                for path in paths {
                    try Int8KernelPath.use(path)
                    var prefill: [Double] = [], steps: [Double] = []
                    for r in 0..<(warmup + runs) {
                        lm.session.reset()
                        let s = monotonicSeconds()
                        _ = try lm.logits(ids: prompt)
                        if r >= warmup { prefill.append(monotonicSeconds() - s) }
                    }
                    lm.session.reset()
                    _ = try lm.logits(ids: prompt)
                    for i in 0..<(decode + min(warmup, 2)) {
                        let s = monotonicSeconds()
                        _ = try lm.logits(ids: [Int32(500 + i)])
                        if i >= min(warmup, 2) { steps.append(monotonicSeconds() - s) }
                    }
                    measurements.append(Measurement(name: "prefill \(seq) tokens", itemsPerSample: seq, itemUnit: "tokens",
                                                    threads: threadCount, samples: prefill, kernelPath: path.rawValue))
                    if !steps.isEmpty {
                        measurements.append(Measurement(name: "decode after \(seq)", itemsPerSample: 1, itemUnit: "tokens",
                                                        threads: threadCount, samples: steps, kernelPath: path.rawValue))
                    }
                }
            }
            let peak = peakResidentBytes()
            var report = BenchReport(artifact: artifact, loadSeconds: load, peakRSSBytes: peak,
                                     measurements: measurements, machine: .current(usableCPUs: Threads.availableCPUCount()),
                                     build: .current)
            if model.usesKVCache && decode > 0 {
                report.decodeBound = DecodeBound(weightBytesPerToken: MemoryBandwidth.weightBytesPerToken(model.graph),
                                                 readBytesPerSecond: MemoryBandwidth.measureRead())
            }
            print(report.rendered(format.value), terminator: "")
        }
    }
}

enum BenchFormatChoice: String, ExpressibleByArgument, CaseIterable {
    case table, json, markdown

    var value: BenchFormat {
        switch self {
        case .table: return .table
        case .json: return .json
        case .markdown: return .markdown
        }
    }
}
