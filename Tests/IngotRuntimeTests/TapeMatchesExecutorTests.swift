// The training tape's forward (Float) against the runtime executor on the real models:
// all-MiniLM-L6-v2 (fused attention as imported, decomposed attention, and after `fuse`) on
// padded sentences of different lengths, and SmolLM2-135M (as imported and after `fuse`) on
// a short prompt. Distillation's teacher and student run on the tape, so the tape must
// compute the function the runtime ships. It does not test gradients (IngotAutodiffTests).

import XCTest
import IngotAutodiff
import IngotCore
import IngotEval
import IngotImport
import IngotIR
import IngotPasses
import IngotTestSupport
@testable import IngotRuntime

final class TapeMatchesExecutorTests: XCTestCase {
    /// Both sides run float32 and differ only in rounding: the executor's fast kernels (fused
    /// BLAS epilogues, 8-lane exp/erf approximations with relative error < 1e-6, Float sums)
    /// against the tape's reference kernels (Double inside, rounded once to Float) and its own
    /// BLAS products. Per op that is a few float32 ulps (~1e-7 relative); through 6 (MiniLM)
    /// or 30 (SmolLM2) residual layers it grows to a few 1e-6 of the output scale (measured:
    /// ≤ 5e-6 on every output here). The bar, max |Δ| ≤ 3e-5 · max |y| per output, leaves
    /// room for other BLAS builds' summation orders and is far below any op-semantics error
    /// (a wrong mask, scale or epsilon moves outputs by more than 1e-2 · max |y|).
    static let tolerance = 3e-5

    /// Max |tape − executor| / max |executor| per output, printed for the record.
    func compare(_ label: String, tape: Tape<Float>, graph: Graph, executor out: [String: HostTensor],
                 file: StaticString = #filePath, line: UInt = #line) throws {
        for id in graph.outputs {
            let name = graph[id].name
            let expected = try XCTUnwrap(out[name]?.floats, name, file: file, line: line)
            let got = try XCTUnwrap(tape.values(of: id), name, file: file, line: line)
            XCTAssertEqual(tape.shape(of: id), out[name]!.shape, "\(label) \(name)", file: file, line: line)
            XCTAssertEqual(got.count, expected.count, "\(label) \(name)", file: file, line: line)
            let scale = Double(expected.map { abs($0) }.max() ?? 0)
            let diff = zip(got, expected).map { Double(abs($0 - $1)) }.max() ?? 0
            print("tape vs executor, \(label) \(name): max |Δ| \(diff), max |y| \(scale), relative \(diff / max(scale, 1e-30))")
            XCTAssertLessThanOrEqual(diff, Self.tolerance * scale, "\(label) \(name): max |Δ| \(diff), max |y| \(scale)",
                                     file: file, line: line)
        }
    }

    /// The float constants of `graph` as the tape takes them.
    func parameters(_ graph: Graph) throws -> [Int: [Float]] {
        var out: [Int: [Float]] = [:]
        for c in graph.constants where graph.type(of: c.value).dtype.isFloatingPoint { out[c.value.index] = try graph.floats(of: c.value) }
        return out
    }

    func fused(_ graph: Graph) throws -> Graph {
        var g = graph
        _ = try Pass.fuse.run(&g, context: PassContext(verifyBetweenPasses: true))
        return g
    }

    // MARK: MiniLM

    func checkMiniLM(_ label: String, _ graph: Graph, _ imported: ImportedModel) throws {
        let models = GraphModels(reference: graph, tokenizerSpec: imported.tokenizer)
        let encoder = try Encoder(model: try models.model(graph, label: label))
        let sentences = ["A man is playing a guitar.",
                         "The new movie is awesome, and the soundtrack was composed by someone I had never heard of before.",
                         "Hi",
                         "Compilers turn graphs of tensor operations into fast kernels for the CPU."]
        let batch = try sentences.map(encoder.tokenize)
        XCTAssertGreaterThan(Set(batch.map(\.count)).count, 2, "sentences of different lengths")
        let out = try encoder.run(ids: batch)

        let seq = batch.map(\.count).max()!
        let pad = imported.tokenizer?.specialTokens["pad"] ?? 0
        var ids = [Int32](), mask = [Int32](), positions = [Int32]()
        for row in batch {
            ids += row + [Int32](repeating: pad, count: seq - row.count)
            mask += [Int32](repeating: 1, count: row.count) + [Int32](repeating: 0, count: seq - row.count)
            positions += (0..<seq).map(Int32.init)
        }
        let shape = [batch.count, seq]
        let tape = try Tape<Float>(graph: graph, parameters: try parameters(graph))
        try tape.forward(["input_ids": IntTensor(shape: shape, values: ids), "attention_mask": IntTensor(shape: shape, values: mask),
                          "token_type_ids": IntTensor(shape: shape, values: [Int32](repeating: 0, count: ids.count)),
                          "position_ids": IntTensor(shape: shape, values: positions)])
        try compare(label, tape: tape, graph: graph, executor: out)
    }

    func testMiniLMAsImported() throws {
        let imported = try ModelImporter.importModel(at: try requireModel(TestPaths.miniLMDir).path)
        try checkMiniLM("MiniLM", imported.graph, imported)
    }

    func testMiniLMFused() throws {
        let imported = try ModelImporter.importModel(at: try requireModel(TestPaths.miniLMDir).path)
        let g = try fused(imported.graph)
        XCTAssertTrue(g.nodes.contains { $0.op.name == "add_layer_norm" })
        try checkMiniLM("MiniLM fused", g, imported)
    }

    func testMiniLMDecomposedAttention() throws {
        let imported = try ModelImporter.importModel(at: try requireModel(TestPaths.miniLMDir).path, attention: .decomposed)
        XCTAssertTrue(imported.graph.nodes.contains { $0.op.name == "softmax" })
        try checkMiniLM("MiniLM decomposed", imported.graph, imported)
    }

    // MARK: SmolLM2

    func checkSmolLM2(_ label: String, _ graph: Graph, _ imported: ImportedModel) throws {
        let models = GraphModels(reference: graph, tokenizerSpec: imported.tokenizer)
        let lm = try LanguageModel(model: try models.model(graph, label: label))
        // 12 tokens of ordinary text ids (below the special tokens), batch 1, positions 0..<12.
        let ids: [Int32] = [504, 3458, 282, 4649, 314, 260, 1345, 28, 357, 4493, 30, 2986]
        let logits = try lm.logits(ids: ids)

        let tape = try Tape<Float>(graph: graph, parameters: try parameters(graph))
        try tape.forward(["input_ids": IntTensor(shape: [1, ids.count], values: ids),
                          "position_ids": IntTensor(shape: [1, ids.count], values: (0..<ids.count).map(Int32.init))])
        try compare(label, tape: tape, graph: graph, executor: ["logits": HostTensor(shape: [1, ids.count, lm.vocabularySize], floats: logits)])
    }

    func testSmolLM2AsImported() throws {
        let imported = try ModelImporter.importModel(at: try requireModel(TestPaths.smolLM2GGUF).path)
        try checkSmolLM2("SmolLM2", imported.graph, imported)
    }

    func testSmolLM2Fused() throws {
        let imported = try ModelImporter.importModel(at: try requireModel(TestPaths.smolLM2GGUF).path)
        let g = try fused(imported.graph)
        XCTAssertTrue(g.nodes.contains { $0.op.name == "add_rms_norm" })
        try checkSmolLM2("SmolLM2 fused", g, imported)
    }
}
