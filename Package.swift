// swift-tools-version:6.1
// Ingot: a compiled model-optimization toolchain. Targets are layered; imports only go downward:
//   IngotCore, CBLAS, CZstd, CKernels → IngotKernels (fast kernels and their reference twins)
//   IngotCheckpoint (SwiftProtobuf for ONNX) → IngotImport → IngotIR → (IngotAutodiff → IngotPasses) → IngotCompiler
//     (IngotAutodiff's forward runs the reference twins of IngotKernels)
//   IngotArtifact (CZstd, CSodium: Ed25519 signatures), IngotKernels → IngotRuntime (lowers each IR op to kernels)
//   IngotCLI (ingot), ingot-run (runtime only, no Foundation)
import PackageDescription

let package = Package(
    name: "Ingot",
    products: [
        .executable(name: "ingot", targets: ["ingot"]),
        .executable(name: "ingot-run", targets: ["ingot-run"]),
        .library(name: "IngotRuntime", targets: ["IngotRuntime"]),
        // For the kernel benchmarks in Benchmarks/ (a package of its own): kernels, the packed
        // weight layout and the weight quantizer that feeds it.
        .library(name: "IngotKernels", targets: ["IngotKernels"]),
        .library(name: "IngotPasses", targets: ["IngotPasses", "IngotIR"]),
        // For the fuzz targets in Fuzzing/ and the mutation run in Mutation/ (packages of their own):
        // every module that reads untrusted bytes, the command-line front end's recipe and JSONL readers included.
        .library(name: "IngotReaders", targets: [
            "IngotCore", "IngotCheckpoint", "IngotImport", "IngotIR", "IngotPasses", "IngotArtifact", "IngotCompiler",
            "IngotRuntime", "IngotReport", "IngotCLI",
        ]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
        .package(url: "https://github.com/apple/swift-numerics", from: "1.1.1"),
        // ONNX ModelProto decoding (IngotCheckpoint only; the runtime never links it).
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
    ],
    targets: [
        // Core types and C shims.
        .target(name: "IngotCore"),
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS"),
        .systemLibrary(name: "CZstd", path: "Sources/CZstd"),
        .systemLibrary(name: "CSodium", path: "Sources/CSodium"),
        .target(name: "CKernels", cSettings: [.unsafeFlags(["-O3"])]),

        // Compiler side: checkpoints → IR → artifact.
        .target(name: "IngotCheckpoint", dependencies: [
            "IngotCore", .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        ]),
        .target(name: "IngotIR", dependencies: ["IngotCore"]),
        .target(name: "IngotImport", dependencies: ["IngotCheckpoint", "IngotIR"]),
        // Reverse-mode differentiation over IR graphs and the distillation training loop.
        .target(name: "IngotAutodiff", dependencies: [
            "IngotIR", "IngotCore", "IngotKernels", "CBLAS", .product(name: "RealModule", package: "swift-numerics"),
        ]),
        .target(name: "IngotPasses", dependencies: ["IngotIR", "IngotAutodiff", "CBLAS"]),
        .target(name: "IngotArtifact", dependencies: ["IngotCore", "IngotIR", "CZstd", "CSodium"]),
        .target(name: "IngotCompiler", dependencies: [
            "IngotImport", "IngotPasses", "IngotArtifact",
            .product(name: "Crypto", package: "swift-crypto"),
        ]),

        // Runtime side: never imports the compiler.
        .target(name: "IngotKernels", dependencies: ["IngotCore", "CBLAS", "CKernels"]),
        .target(name: "IngotRuntime", dependencies: ["IngotCore", "IngotIR", "IngotArtifact", "IngotKernels", "CBLAS", "CKernels"]),

        // Reports: the v1 report document, its printers, diffs and CI gates (no runtime).
        .target(name: "IngotReport", dependencies: ["IngotCore"]),

        // Evaluation: calibration, accuracy and latency comparisons (runs graphs with the runtime).
        .target(name: "IngotEval", dependencies: ["IngotRuntime", "IngotPasses", "IngotAutodiff", "IngotIR", "IngotCore"]),

        // Front ends.
        .target(name: "IngotCLI", dependencies: [
            "IngotCompiler", "IngotPasses", "IngotEval", "IngotReport", "IngotRuntime", "IngotKernels",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Yams", package: "Yams"),
        ]),
        .executableTarget(name: "ingot", dependencies: ["IngotCLI"]),
        .executableTarget(name: "ingot-run", dependencies: ["IngotRuntime", "IngotArtifact"],
                          linkerSettings: [.unsafeFlags(["-static-stdlib"])]),

        // Test support and tests.
        .target(name: "IngotTestSupport", dependencies: ["IngotCore"]),
        .testTarget(name: "IngotCoreTests", dependencies: ["IngotCore", "IngotTestSupport"]),
        .testTarget(name: "IngotCheckpointTests", dependencies: [
            "IngotCheckpoint", "IngotTestSupport", .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        ]),
        .testTarget(name: "IngotIRTests", dependencies: ["IngotIR", "IngotTestSupport"]),
        .testTarget(name: "IngotReportTests", dependencies: ["IngotReport", "IngotCore", "IngotTestSupport"]),
        .testTarget(name: "IngotAutodiffTests", dependencies: ["IngotAutodiff", "IngotIR", "IngotCore", "IngotTestSupport"]),
        .testTarget(name: "IngotPassesTests", dependencies: ["IngotPasses", "IngotAutodiff", "IngotIR", "IngotTestSupport"]),
        .testTarget(name: "IngotImportTests", dependencies: [
            "IngotImport", "IngotTestSupport", .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        ]),
        .testTarget(name: "IngotArtifactTests", dependencies: ["IngotArtifact", "IngotTestSupport"]),
        .testTarget(name: "IngotCompilerTests", dependencies: ["IngotCompiler", "IngotCheckpoint", "IngotArtifact", "IngotTestSupport"]),
        .testTarget(name: "IngotKernelsTests", dependencies: ["IngotKernels", "IngotIR", "IngotTestSupport"]),
        .testTarget(name: "IngotRuntimeTests", dependencies: ["IngotRuntime", "IngotArtifact", "IngotCompiler", "IngotImport", "IngotPasses", "IngotAutodiff", "IngotEval", "IngotCheckpoint", "IngotTestSupport",
            .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        ]),
        .testTarget(name: "IngotCLITests", dependencies: ["IngotCLI", "IngotTestSupport"]),
    ],
    swiftLanguageModes: [.v5]
)
