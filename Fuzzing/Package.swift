// swift-tools-version:6.1
// IngotFuzz: libFuzzer targets for every reader of untrusted bytes (safetensors, GGUF, ONNX,
// .ingot artifacts, pass recipes, JSONL input, v1 reports, the tokenizer section, vocab.txt,
// PyTorch .bin state dicts) and for the real tokenizers encoding arbitrary text. A package of
// its own so the main build never carries fuzzer flags; it links the main package's
// IngotReaders product by path.
// scripts/fuzz.sh builds it with
//   -Xswiftc -sanitize=fuzzer,address -Xswiftc -use-ld=lld -Xswiftc -enable-testing
// (-enable-testing for the CLI's internal recipe and JSONL readers) and runs each target;
// Fixtures/fuzz/<target>/ holds the seeds, Dictionaries/ the libFuzzer dictionaries. It does
// not fuzz passes or kernels, nor the executor beyond loading a model and running it once.
// The folder is not named Fuzz/: a path dependency is identified by its folder's name, and
// a clone of the repository in a folder named "fuzz" would then be this package itself.
//
// Why every target has a main.swift that calls LLVMFuzzerRunDriver: SwiftPM links an
// executable with `--defsym main=<module>_main` (its testable-executable entry point), and
// `-sanitize=fuzzer` links libFuzzer (with its own main) as a whole archive. gold fails on
// the two mains; lld lets the --defsym win, so <module>_main, the top-level code of
// main.swift, is the process entry and hands control to libFuzzer's driver itself.
import PackageDescription

let fuzzTargets = ["safetensors", "gguf", "artifact", "recipe", "jsonl", "report", "tokenizer", "vocab", "encode", "pytorch", "onnx"]

let package = Package(
    name: "IngotFuzz",
    dependencies: [
        .package(name: "Ingot", path: ".."),
    ],
    targets: [
        .target(name: "CFuzzerDriver"),
        .target(name: "FuzzSupport", dependencies: [
            "CFuzzerDriver", .product(name: "IngotReaders", package: "Ingot"),
        ]),
        // Writes Fixtures/fuzz/<target>/ (the seed corpora) from small real and synthetic inputs.
        .executableTarget(name: "fuzz-seeds", dependencies: ["FuzzSupport"]),
    ] + fuzzTargets.map { name in
        .executableTarget(name: "fuzz-\(name)", dependencies: ["FuzzSupport"])
    },
    swiftLanguageModes: [.v5]
)
