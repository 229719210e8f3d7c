// Int8KernelPath: the one place that decides which instruction path the packed int8 GEMM
// (ingot_q8p_gemm) runs — chosen from CPUID at first use, or forced by INGOT_KERNEL_PATH, by
// `ingot bench --kernel-path`, or by tests through `use(_:)`. Every path gives identical bits
// (CKernels/include/ingot_q8packed.h). The s8 × s8 kernels (ingot_q8.h) have only portable and
// AVX2 paths: `portable` forces them portable too, every other path leaves them on AVX2. The
// block-quantized kernels (ingot_blockq.h) follow the path's register width.
// It does not run kernels or read CPUID itself (CKernels/cpu.c does).

import CKernels
import IngotCore

#if canImport(Glibc)
import Glibc
#endif

public enum Int8KernelPath: String, CaseIterable, Sendable {
    case portable
    case avx2
    case avx2VNNI = "avx2-vnni"
    case avx512BW = "avx512bw"
    case avx512VNNI = "avx512-vnni"

    /// What a path is: its value in ingot_q8packed.h, register width and the instructions
    /// that multiply and accumulate.
    public struct Traits: Sendable, Equatable {
        public var cValue: Int32
        public var registerBits: Int
        public var multiplyAccumulate: String
        /// vpmaddubsw sums pairs of u8·s8 products in int16, so these paths rely on the packed
        /// weights' bound (|w| ≤ 63 with u8 codes, ≤ 127 with 7-bit codes); vpdpbusd does not.
        public var needsPairSumBound: Bool
    }

    public var traits: Traits {
        switch self {
        case .portable: return Traits(cValue: Int32(INGOT_Q8P_PATH_PORTABLE), registerBits: 32, multiplyAccumulate: "C loops", needsPairSumBound: false)
        case .avx2: return Traits(cValue: Int32(INGOT_Q8P_PATH_AVX2), registerBits: 256, multiplyAccumulate: "vpmaddubsw+vpmaddwd", needsPairSumBound: true)
        case .avx2VNNI: return Traits(cValue: Int32(INGOT_Q8P_PATH_AVX2_VNNI), registerBits: 256, multiplyAccumulate: "vpdpbusd", needsPairSumBound: false)
        case .avx512BW: return Traits(cValue: Int32(INGOT_Q8P_PATH_AVX512BW), registerBits: 512, multiplyAccumulate: "vpmaddubsw+vpmaddwd", needsPairSumBound: true)
        case .avx512VNNI: return Traits(cValue: Int32(INGOT_Q8P_PATH_AVX512_VNNI), registerBits: 512, multiplyAccumulate: "vpdpbusd", needsPairSumBound: false)
        }
    }

    /// The variable that forces a path for every model the process loads.
    public static let environmentVariable = "INGOT_KERNEL_PATH"

    /// Whether this CPU (and OS) can run the path.
    public var isAvailable: Bool { ingot_q8p_path_available(traits.cValue) == 1 }

    /// The paths this CPU has, slowest first.
    public static var available: [Int8KernelPath] { allCases.filter(\.isAvailable) }

    /// The fastest path this CPU has (the default).
    public static var best: Int8KernelPath { path(cValue: ingot_q8p_best_path()) }

    /// The path the GEMM runs now.
    public static var current: Int8KernelPath { path(cValue: ingot_q8p_path()) }

    static func path(cValue: Int32) -> Int8KernelPath {
        allCases.first { $0.traits.cValue == cValue } ?? .portable
    }

    /// Makes every later GEMM use `path`. Throws (exit 64) when this CPU lacks it. Call it
    /// while no model is running.
    public static func use(_ path: Int8KernelPath) throws {
        guard ingot_q8p_set_path(path.traits.cValue) == 0 else {
            throw IngotError(.invalidArgument, location: "kernel path",
                             "'\(path.rawValue)' is not available on this CPU; it has \(availableList)")
        }
        ingot_q8_set_portable(path == .portable ? 1 : 0)
        ingot_bq_set_path(path.blockQuantPath)
    }

    /// The block-quantized float kernels' path (ingot_blockq.h) that goes with this one: they use
    /// no VNNI, so the VNNI paths take the plain path of their register width.
    var blockQuantPath: Int32 {
        switch self {
        case .portable: return Int32(INGOT_BQ_PATH_PORTABLE)
        case .avx2, .avx2VNNI: return Int32(INGOT_BQ_PATH_AVX2)
        case .avx512BW, .avx512VNNI: return Int32(INGOT_BQ_PATH_AVX512)
        }
    }

    /// A path name as given on the command line or in the environment (`source` names where
    /// it came from); unknown names and paths this CPU lacks are errors (exit 64).
    public static func parse(_ text: String, source: String) throws -> Int8KernelPath {
        guard let path = Int8KernelPath(rawValue: text) else {
            throw IngotError(.invalidArgument, location: source,
                             "'\(text)' is not a kernel path; expected one of \(allCases.map(\.rawValue).joined(separator: ", ")) (this CPU has \(availableList))")
        }
        guard path.isAvailable else {
            throw IngotError(.invalidArgument, location: source, "'\(text)' is not available on this CPU; it has \(availableList)")
        }
        return path
    }

    /// Applies INGOT_KERNEL_PATH when it is set (and not empty); leaves the path alone otherwise.
    public static func applyEnvironment() throws {
        guard let raw = getenv(environmentVariable) else { return }
        let text = String(cString: raw)
        guard !text.isEmpty else { return }
        try use(parse(text, source: environmentVariable))
    }

    static var availableList: String { available.map(\.rawValue).joined(separator: ", ") }

    /// The CPU features that decide the paths, as CPUID names, in a fixed order (those present).
    public static var cpuFlags: [String] {
        [("avx2", ingot_cpu_has_avx2_fma()), ("fma", ingot_cpu_has_avx2_fma()), ("avx512bw", ingot_cpu_has_avx512bw()),
         ("avx512vnni", ingot_cpu_has_avx512_vnni()), ("avxvnni", ingot_cpu_has_avx_vnni())]
            .filter { $0.1 == 1 }.map(\.0)
    }
}
