// linear_sparse in the runtime: the real MiniLM pruned to 70% (magnitude) computes the same
// embeddings whether its pruned layers are stored dense or as CSR (sparsify), through the
// artifact writer and reader; hostile CSR arrays are rejected when the model is opened.
import XCTest
import IngotCore
import IngotIR
import IngotTestSupport
@testable import IngotRuntime

final class SparseLinearTests: XCTestCase {
    func testSparsifiedMiniLMMatchesTheDensePrunedModel() throws {
        let source = try requireModel(TestPaths.miniLMDir)
        let dense = try Model(path: try BuiltArtifacts.path(for: source, name: "minilm-m70", passes: "prune=magnitude:0.7"))
        let sparse = try Model(path: try BuiltArtifacts.path(for: source, name: "minilm-m70-csr", passes: "prune=magnitude:0.7,sparsify=0.6"))
        XCTAssertEqual(sparse.graph.nodes.filter { $0.op.name == "linear_sparse" }.count, 36)
        XCTAssertLessThan(try FileManager.default.attributesOfItem(atPath: sparse.path)[.size] as! Int,
                          try FileManager.default.attributesOfItem(atPath: dense.path)[.size] as! Int)
        let a = try Encoder(model: dense), b = try Encoder(model: sparse)
        let batch: [[Int32]] = [[101, 2129, 2079, 1045, 16476, 1037, 2944, 1029, 102], [101, 7592, 102],
                                (0..<70).map { Int32(1000 + $0 * 13) }]
        let oa = try a.run(ids: batch), ob = try b.run(ids: batch)
        // The CSR kernel adds a row's products in another order (and with FMA) than sgemm: float rounding only.
        for name in ["last_hidden_state", "embedding"] {
            XCTAssertLessThanOrEqual(relativeMaxError(oa[name]!.floats!, ob[name]!.floats!), 5e-5, name)
        }
        // A batch of one one-token sentence takes the single-row (decode-shaped) kernel path.
        let single = [[Int32(101)]]
        XCTAssertLessThanOrEqual(relativeMaxError(try a.run(ids: single)["embedding"]!.floats!, try b.run(ids: single)["embedding"]!.floats!), 5e-5)
    }

    func testHostileCSRArraysAreRejectedAtLoad() throws {
        let text = """
            graph m(%x: f32[batch, 4]) -> (%y) {
              @v: f32[3]
              @c: i16[3]
              @o: i32[3]
              %y: f32[batch, 2] = linear_sparse(%x, @v, @c, @o) {activation = none}
              return %y
            }
            """
        let g = try GraphParser.parse(text)
        func load(columns: [Int16], offsets: [Int32]) -> String {
            let constants: [ValueID: TensorBuffer] = [
                g.value(named: "v")!: TensorBuffer(array: [Float](repeating: 1, count: 3)),
                g.value(named: "c")!: TensorBuffer(array: columns), g.value(named: "o")!: TensorBuffer(array: offsets),
            ]
            do {
                _ = try Model(graph: g, constants: constants, tokenizerSpec: nil, label: "hostile.ingot")
                return "loaded"
            } catch {
                return "\(error)"
            }
        }
        XCTAssertEqual(load(columns: [0, 3, 1], offsets: [0, 2, 3]), "loaded")
        XCTAssertTrue(load(columns: [0, 4, 1], offsets: [0, 2, 3]).contains("column[1] = 4, expected 0..<4"))
        XCTAssertTrue(load(columns: [0, -2, 1], offsets: [0, 2, 3]).contains("column[1] = -2"))
        XCTAssertTrue(load(columns: [0, 1, 1], offsets: [0, 2, 9]).contains("expected 0...3"))
        XCTAssertTrue(load(columns: [0, 1, 1], offsets: [0, 3, 2]).contains("offsets run") || load(columns: [0, 1, 1], offsets: [0, 3, 2]).contains("below row"))
        XCTAssertTrue(load(columns: [0, 1, 1], offsets: [1, 2, 3]).contains("expected 0...3"))
    }
}
