// Measurement: a typed benchmark record in the llama-bench manner — raw samples kept,
// with the machine and the build it ran on, the int8 kernel path and the CPU flags that
// decide it — and the statistics derived from it.
// Printing lives in BenchPrinters.swift; timing loops live with their callers.

import IngotKernels

#if canImport(Glibc)
import Glibc
#endif

public struct MachineInfo: Sendable, Equatable {
    public var cpuModel: String
    public var logicalCPUs: Int
    /// CPUs this process may use (affinity and cgroup quota).
    public var usableCPUs: Int
    public var memoryBytes: Int
    public var kernel: String

    public static func current(usableCPUs: Int) -> MachineInfo {
        let cpuinfo = readSmallFile("/proc/cpuinfo") ?? ""
        let model = cpuinfo.split(separator: "\n").first { $0.hasPrefix("model name") }
            .flatMap { $0.split(separator: ":", maxSplits: 1).last }
            .map { $0.trimmingSpaces() } ?? "unknown"
        let logical = cpuinfo.split(separator: "\n").filter { $0.hasPrefix("processor") }.count
        let meminfo = readSmallFile("/proc/meminfo") ?? ""
        let memKB = meminfo.split(separator: "\n").first { $0.hasPrefix("MemTotal:") }
            .flatMap { $0.split(separator: " ").dropFirst().first }
            .flatMap { Int($0) } ?? 0
        var uts = utsname()
        uname(&uts)
        let release = withUnsafeBytes(of: &uts.release) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        return MachineInfo(cpuModel: model, logicalCPUs: max(logical, 1), usableCPUs: usableCPUs,
                           memoryBytes: memKB * 1024, kernel: "Linux " + release)
    }
}

public struct BuildInfo: Sendable, Equatable {
    public var version: String
    public var configuration: String
    public var compiler: String

    public static var current: BuildInfo {
        #if DEBUG
        let configuration = "debug"
        #else
        let configuration = "release"
        #endif
        #if compiler(>=6.3)
        let compiler = "swift 6.3+"
        #else
        let compiler = "swift <6.3"
        #endif
        return BuildInfo(version: IngotRuntimeVersion.string, configuration: configuration, compiler: compiler)
    }
}

public enum IngotRuntimeVersion {
    public static let string = "0.1.0"
}

/// One benchmarked case: what ran, the raw samples (seconds), and derived statistics.
public struct Measurement: Sendable, Equatable {
    /// e.g. "minilm.ingot encode seq=128 batch=1".
    public var name: String
    /// Work items per sample (sentences, tokens) for throughput.
    public var itemsPerSample: Int
    /// "sentences" or "tokens".
    public var itemUnit: String
    public var threads: Int
    public var samples: [Double]
    /// The packed int8 GEMM's path while the samples ran (Int8KernelPath raw value, e.g. "avx2").
    public var kernelPath: String
    /// The CPU features that decide the kernel paths (Int8KernelPath.cpuFlags), e.g. ["avx2", "fma"].
    public var cpuFlags: [String]

    /// `kernelPath` and `cpuFlags` default to this process's state when the record is made.
    public init(name: String, itemsPerSample: Int, itemUnit: String, threads: Int, samples: [Double],
                kernelPath: String = Int8KernelPath.current.rawValue, cpuFlags: [String] = Int8KernelPath.cpuFlags) {
        self.name = name
        self.itemsPerSample = itemsPerSample
        self.itemUnit = itemUnit
        self.threads = threads
        self.samples = samples
        self.kernelPath = kernelPath
        self.cpuFlags = cpuFlags
    }

    /// Nearest-rank percentile of the samples (p in 0...100); 0 when empty.
    public func percentile(_ p: Double) -> Double {
        guard !samples.isEmpty else { return 0 }
        let sorted = samples.sorted()
        let rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
        return sorted[min(max(rank, 1), sorted.count) - 1]
    }

    public var mean: Double { samples.isEmpty ? 0 : samples.reduce(0, +) / Double(samples.count) }

    /// Items per second at the median.
    public var throughput: Double {
        let p50 = percentile(50)
        return p50 > 0 ? Double(itemsPerSample) / p50 : 0
    }
}

/// A whole benchmark run: the measurements plus load time, peak memory, machine and build.
public struct BenchReport: Sendable, Equatable {
    public var artifact: String
    public var loadSeconds: Double
    public var peakRSSBytes: Int
    public var measurements: [Measurement]
    public var machine: MachineInfo
    public var build: BuildInfo
    /// Language models: the memory-bandwidth limit of decoding, measured in the same run.
    public var decodeBound: DecodeBound?

    public init(artifact: String, loadSeconds: Double, peakRSSBytes: Int, measurements: [Measurement],
                machine: MachineInfo, build: BuildInfo) {
        self.artifact = artifact
        self.loadSeconds = loadSeconds
        self.peakRSSBytes = peakRSSBytes
        self.measurements = measurements
        self.machine = machine
        self.build = build
    }
}

/// Peak resident set size of this process (VmHWM), in bytes.
public func peakResidentBytes() -> Int {
    guard let status = readSmallFile("/proc/self/status"),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
          let kb = line.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) else { return 0 }
    return kb * 1024
}

/// Monotonic seconds.
public func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// A small text file (procfs, sysfs, cgroup) read whole; nil when unreadable.
func readSmallFile(_ path: String, limit: Int = 1 << 20) -> String? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var out: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 65536)
    while out.count < limit {
        let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n <= 0 { break }
        out.append(contentsOf: buf[0..<n])
    }
    return String(decoding: out, as: UTF8.self)
}

extension Substring {
    func trimmingSpaces() -> String {
        String(self.drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}
