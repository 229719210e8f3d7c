// The packed-int8 MiniLM artifact (the README recipe, built once per test process) gives
// bit-identical embeddings on every int8 kernel path this CPU has, forced through the Swift
// API and through INGOT_KERNEL_PATH when a model opens; a path the CPU lacks is refused.
import XCTest
import IngotCore
import IngotKernels
@testable import IngotRuntime

final class KernelPathTests: XCTestCase {
    override func tearDown() {
        unsetenv(Int8KernelPath.environmentVariable)
        XCTAssertNoThrow(try Int8KernelPath.use(Int8KernelPath.best))
    }

    func testPackedMiniLMEmbeddingsAreBitIdenticalOnEveryPath() throws {
        let path = try BuiltArtifacts.miniLMInt8Packed()
        let model = try Model(path: path)
        XCTAssertGreaterThanOrEqual(model.graph.nodes.filter { $0.op.name == "linear_int8_packed" }.count, 12)
        let encoder = try Encoder(model: model)
        // Sentences of different lengths in one padded batch, then one alone: row counts that
        // are not multiples of the tiles.
        let ids = Array(try miniLMDevSentenceIDs().prefix(7))
        XCTAssertGreaterThan(Set(ids.map(\.count)).count, 3)
        var baseline: (batch: [[Float]], single: [Float])?
        for kernelPath in Int8KernelPath.available {
            try Int8KernelPath.use(kernelPath)
            let batch = try encoder.embed(ids: ids), single = try encoder.embed(ids: [ids[3]])[0]
            XCTAssertEqual(Int8KernelPath.current, kernelPath)
            XCTAssertEqual(batch.count, ids.count)
            guard let first = baseline else {
                baseline = (batch, single)
                continue
            }
            for (i, (a, b)) in zip(batch, first.batch).enumerated() {
                XCTAssertTrue(a.map(\.bitPattern) == b.map(\.bitPattern), "sentence \(i) on \(kernelPath) differs from \(Int8KernelPath.available[0])")
            }
            XCTAssertTrue(single.map(\.bitPattern) == first.single.map(\.bitPattern), "single sentence on \(kernelPath)")
        }
        XCTAssertNotNil(baseline)

        // The environment variable applies when a model opens.
        for kernelPath in Int8KernelPath.available.reversed() {
            setenv(Int8KernelPath.environmentVariable, kernelPath.rawValue, 1)
            let opened = try Encoder(model: try Model(path: path))
            XCTAssertEqual(Int8KernelPath.current, kernelPath)
            let batch = try opened.embed(ids: ids)
            XCTAssertTrue(zip(batch, baseline!.batch).allSatisfy { $0.map(\.bitPattern) == $1.map(\.bitPattern) }, "\(kernelPath) via the environment")
        }
    }

    func testEnvironmentNamingAMissingOrUnknownPathIsAUsageError() throws {
        let path = try BuiltArtifacts.miniLM()
        let has = Int8KernelPath.available.map(\.rawValue).joined(separator: ", ")
        for value in ["avx9"] + Int8KernelPath.allCases.filter({ !$0.isAvailable }).map(\.rawValue) {
            setenv(Int8KernelPath.environmentVariable, value, 1)
            do {
                _ = try Model(path: path)
                XCTFail("\(value) was accepted")
            } catch let e as IngotError {
                XCTAssertEqual(e.kind.exitCode, 64)
                XCTAssertTrue(e.description.contains("INGOT_KERNEL_PATH") && e.description.contains("'\(value)'")
                              && e.description.contains("has \(has)"), e.description)
            }
        }
    }
}
