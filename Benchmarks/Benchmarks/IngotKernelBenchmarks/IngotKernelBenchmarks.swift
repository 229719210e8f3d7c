// IngotKernelBenchmarks: the benchmark suite ordo-one/benchmark runs. Per all-MiniLM-L6-v2
// linear shape (m 128 rows; k 384 → n 1152 QKV, k 384 → n 1536 FFN-in, k 1536 → n 384
// FFN-out) it times the float32 baseline Kernels.linear (OpenBLAS sgemm), dynamic int8
// (row quantization + ingot_q8_gemm) and packed 7-bit (u8 row quantization + ingot_q8p_gemm,
// on the AVX2 path and on every faster Int8KernelPath the CPU has);
// and Kernels.softmaxRow against ReferenceKernels.softmaxRow on 128 score rows of 128 and
// 256 keys. Everything runs on the calling thread: a one-participant pool, OpenBLAS set to
// one thread, whole column ranges to the C kernels. It does not time thread scaling, the
// runtime's execution plan, or whole models.

import Benchmark
import CBLAS
import CKernels
import IngotKernels

/// Names are "<shape label>: <kernel>"; run.sh splits on ": " and divides by the f32 row.
enum KernelName {
    static let float32 = "f32 sgemm"
    static let dynamicInt8 = "int8 dynamic"
    static let packedInt8 = "int8 packed s7"
    /// The packed kernel on another path: "int8 packed s7 avx512-vnni".
    static func packedInt8(on path: Int8KernelPath) -> String { "\(packedInt8) \(path.rawValue)" }
    static let fastSoftmax = "Kernels.softmaxRow"
    static let referenceSoftmax = "ReferenceKernels.softmaxRow"
}

let benchmarks: @Sendable () -> Void = {
    openblas_set_num_threads(1)

    // Each benchmark stops at 1 s or 2000 iterations, whichever comes first.
    let configuration = Benchmark.Configuration(
        metrics: [.wallClock, .throughput],
        timeUnits: .microseconds,
        warmupIterations: 20,
        maxDuration: .seconds(1),
        maxIterations: 2000
    )

    for (index, shape) in LinearShape.miniLM.enumerated() {
        let fixture = LinearFixture(shape, seed: 0x1960_0000 + UInt64(index))
        Benchmark("\(shape.label): \(KernelName.float32)", configuration: configuration) { benchmark in
            for _ in benchmark.scaledIterations {
                fixture.runFloat32()
                blackHole(fixture.out.pointee)
            }
        }
        Benchmark("\(shape.label): \(KernelName.dynamicInt8)", configuration: configuration) { benchmark in
            for _ in benchmark.scaledIterations {
                fixture.runDynamicInt8()
                blackHole(fixture.out.pointee)
            }
        }
        Benchmark("\(shape.label): \(KernelName.packedInt8)", configuration: configuration) { benchmark in
            try? Int8KernelPath.use(.avx2)
            defer { try? Int8KernelPath.use(Int8KernelPath.best) }
            for _ in benchmark.scaledIterations {
                fixture.runPackedInt8()
                blackHole(fixture.out.pointee)
            }
        }
        for path in Int8KernelPath.available where path != .portable && path != .avx2 {
            Benchmark("\(shape.label): \(KernelName.packedInt8(on: path))", configuration: configuration) { benchmark in
                try? Int8KernelPath.use(path)
                defer { try? Int8KernelPath.use(Int8KernelPath.best) }
                for _ in benchmark.scaledIterations {
                    fixture.runPackedInt8()
                    blackHole(fixture.out.pointee)
                }
            }
        }
    }

    for (index, keys) in [128, 256].enumerated() {
        let fixture = SoftmaxFixture(rows: LinearShape.sentenceRows, n: keys, seed: 0x50F7_0000 + UInt64(index))
        Benchmark("\(fixture.label): \(KernelName.fastSoftmax)", configuration: configuration) { benchmark in
            fixture.restore()
            benchmark.startMeasurement()
            for r in 0..<fixture.rows { Kernels.softmaxRow(fixture.work + r * fixture.n, fixture.n) }
            blackHole(fixture.work.pointee)
        }
        Benchmark("\(fixture.label): \(KernelName.referenceSoftmax)", configuration: configuration) { benchmark in
            fixture.restore()
            benchmark.startMeasurement()
            for r in 0..<fixture.rows { ReferenceKernels.softmaxRow(fixture.work + r * fixture.n, fixture.n) }
            blackHole(fixture.work.pointee)
        }
    }
}
