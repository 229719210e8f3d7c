// swift-tools-version:6.1
// IngotBenchmarks: per-core timings of Ingot's GEMM and softmax kernels with ordo-one/benchmark.
// A package of its own so the main package never depends on the benchmark framework; it
// links the main package's IngotKernels and IngotPasses (weight quantizer, packed layout)
// products by path. It does not run models or threads.
import PackageDescription

let package = Package(
    name: "IngotBenchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "Ingot", path: ".."),
        // Only the malloc interposer trait: the default "RuntimeInterposer" trait pulls in
        // swift-runtime-interposer (ARC counters), which these benchmarks do not measure.
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "IngotKernelBenchmarks",
            dependencies: [
                .product(name: "IngotKernels", package: "Ingot"),
                .product(name: "IngotPasses", package: "Ingot"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/IngotKernelBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ],
    swiftLanguageModes: [.v5]
)
