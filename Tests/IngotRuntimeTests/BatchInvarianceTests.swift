// Batch invariance of sentence embeddings (issue 13 part 5): each of 20 dev sentences
// embedded alone, in batches of 16, and in a batch padded to a long sentence gives
// bit-identical embeddings — for the fused float32 artifact and both int8 recipes. Padding never
// changes another row: activation scales are per row, attention ignores keys after a row's
// last real token, and float products use the row-invariant kernels.
import Foundation
import XCTest
import IngotTestSupport
@testable import IngotRuntime

final class BatchInvarianceTests: XCTestCase {
    func sentences() throws -> [String] {
        let text = try String(contentsOf: TestPaths.fixtures.appendingPathComponent("eval/minilm-dev-sentences.txt"), encoding: .utf8)
        return Array(text.split(separator: "\n").prefix(20).map(String.init))
    }

    /// Five dev sentences run together: longer than any of the 20.
    func longSentence() throws -> String {
        let text = try String(contentsOf: TestPaths.fixtures.appendingPathComponent("eval/minilm-dev-sentences.txt"), encoding: .utf8)
        return text.split(separator: "\n")[40..<45].joined(separator: " ")
    }

    func assertBatchInvariant(_ path: String, _ label: String) throws {
        let encoder = try Encoder(model: try Model(path: path))
        let texts = try sentences()
        XCTAssertEqual(texts.count, 20)
        let long = try longSentence()
        let lengths = try texts.map { try encoder.tokenize($0).count }
        XCTAssertGreaterThan(try encoder.tokenize(long).count, lengths.max()! + 20, "the long sentence pads every other row")
        XCTAssertGreaterThan(Set(lengths).count, 5, "sentences of several lengths")

        let alone = try texts.map { try encoder.embed([$0])[0] }
        // Two batches of 16 (every sentence is in one; 4..<16 are in both, at different rows).
        let first = try encoder.embed(Array(texts[0..<16])), second = try encoder.embed(Array(texts[4..<20]))
        let withLong = try encoder.embed([long] + texts)
        let pairs = try texts.map { try encoder.embed([$0, long])[0] }
        for i in 0..<20 {
            let expected = alone[i].map(\.bitPattern)
            XCTAssertEqual(expected.count, 384)
            if i < 16 { XCTAssertEqual(first[i].map(\.bitPattern), expected, "\(label): sentence \(i) in batch 0..<16") }
            if i >= 4 { XCTAssertEqual(second[i - 4].map(\.bitPattern), expected, "\(label): sentence \(i) in batch 4..<20") }
            XCTAssertEqual(withLong[i + 1].map(\.bitPattern), expected, "\(label): sentence \(i) in the batch with a long sentence")
            XCTAssertEqual(pairs[i].map(\.bitPattern), expected, "\(label): sentence \(i) paired with a long sentence")
        }
    }

    /// Fused float32 (`linear` and `attention` ops). The unfused graph's `matmul` runs on sgemm
    /// and is not batch-invariant.
    func testFusedFloat32EmbeddingsAreBitIdenticalAloneAndInAnyBatch() throws {
        try assertBatchInvariant(try BuiltArtifacts.miniLMFused(), "float32")
    }

    func testInt8EmbeddingsAreBitIdenticalAloneAndInAnyBatch() throws {
        try assertBatchInvariant(try BuiltArtifacts.miniLMInt8(), "int8")
    }

    func testPackedInt8EmbeddingsAreBitIdenticalAloneAndInAnyBatch() throws {
        try assertBatchInvariant(try BuiltArtifacts.miniLMInt8Packed(), "int8 packed")
    }
}
