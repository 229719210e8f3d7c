// swift-tools-version:6.1
// IngotMutation: the hostile-input acceptance run (issue 14). A package of its own so the main
// build and CI never compile it; it links the main package's readers by path to read seeds and
// recompute checksums, and runs the built `ingot` / `ingot-run` executables as child processes.
import PackageDescription

let package = Package(
    name: "IngotMutation",
    dependencies: [.package(name: "Ingot", path: "..")],
    targets: [
        .executableTarget(
            name: "mutation-run",
            dependencies: [.product(name: "IngotReaders", package: "Ingot")],
            path: "Sources/mutation-run"
        ),
    ],
    swiftLanguageModes: [.v5]
)
