// Decomposed attention in the runtime: batched matmul through the executor against a naive
// loop, and MiniLM imported with the decomposed attention chain, run as imported and after
// `fuse` (which turns each chain back into one `attention` node). It does not test the
// pattern matching itself (IngotPassesTests/FuseAttentionTests does).
import XCTest
import IngotCore
import IngotEval
import IngotImport
import IngotIR
import IngotPasses
import IngotTestSupport
@testable import IngotRuntime

final class DecomposedAttentionTests: XCTestCase {
    /// out[i, r, c] = Σ_p a[i, r, p] · b[i, p, c] (or b[i, c, p] with transposeB), in Double.
    func naiveBatchedMatmul(_ a: [Float], _ b: [Float], batch: Int, m: Int, n: Int, k: Int, transposeB: Bool) -> [Float] {
        var out = [Float](repeating: 0, count: batch * m * n)
        for i in 0..<batch {
            for r in 0..<m {
                for c in 0..<n {
                    var s = 0.0
                    for p in 0..<k {
                        let bv = transposeB ? b[(i * n + c) * k + p] : b[(i * k + p) * n + c]
                        s += Double(a[(i * m + r) * k + p]) * Double(bv)
                    }
                    out[(i * m + r) * n + c] = Float(s)
                }
            }
        }
        return out
    }

    func testBatchedMatmulThroughTheExecutor() throws {
        var state: UInt64 = 7
        func random(_ count: Int) -> [Float] {
            (0..<count).map { _ in
                state = state &* 6364136223846793005 &+ 1442695040888963407
                return Float(Double(state >> 11) / Double(1 << 53)) * 2 - 1
            }
        }
        // [batch, heads, rows, depth] against [batch, heads, cols, depth]ᵀ or [batch, heads, depth, cols].
        for (batch, heads, m, n, k) in [(3, 5, 7, 9, 11), (1, 1, 1, 13, 3), (2, 3, 17, 1, 5)] {
            for transposeB in [true, false] {
                var g = Graph(name: "bmm")
                let a = g.addInput("a", TensorType(.f32, ["batch", .fixed(heads), "rows", .fixed(k)]))
                let bShape: Shape = transposeB ? ["batch", .fixed(heads), "cols", .fixed(k)] : ["batch", .fixed(heads), .fixed(k), "cols"]
                let b = g.addInput("b", TensorType(.f32, bShape))
                g.markOutput(try g.add(.matmul(transposeB: transposeB), [a, b], name: "y"))
                let model = try Model(graph: g, constants: [:], tokenizerSpec: nil, label: "bmm")
                let av = random(batch * heads * m * k), bv = random(batch * heads * n * k)
                let out = try model.makeSession().run(inputs: [
                    "a": HostTensor(shape: [batch, heads, m, k], floats: av),
                    "b": HostTensor(shape: transposeB ? [batch, heads, n, k] : [batch, heads, k, n], floats: bv),
                ])["y"]!
                XCTAssertEqual(out.shape, [batch, heads, m, n])
                let expected = naiveBatchedMatmul(av, bv, batch: batch * heads, m: m, n: n, k: k, transposeB: transposeB)
                XCTAssertLessThanOrEqual(relativeMaxError(expected, out.floats!), 1e-6, "\(batch)×\(heads)×\(m)×\(n)×\(k) tB \(transposeB)")
            }
        }
    }

    func testMiniLMDecomposedAttentionFusesBackAndAgrees() throws {
        let directory = try requireModel(TestPaths.miniLMDir).path
        let imported = try ModelImporter.importModel(at: directory, attention: .decomposed)
        let plain = imported.graph
        XCTAssertEqual(plain.nodes.filter { $0.op.name == "softmax" }.count, 6)
        XCTAssertFalse(plain.nodes.contains { $0.op.name == "attention" })
        XCTAssertEqual(plain.nodes.filter { $0.op.name == "cast" }.count, 1, "the mask bias is computed once")

        var fused = plain
        let record = try Pass.fuse.run(&fused, context: PassContext(verifyBetweenPasses: true))
        XCTAssertEqual(record.stats.first { $0.0 == "fuse-attention.attention_fused" }?.1, 6)
        let ops = fused.nodes.map(\.op.name)
        XCTAssertEqual(ops.filter { $0 == "attention" }.count, 6)
        XCTAssertFalse(ops.contains("softmax"))
        XCTAssertFalse(ops.contains("matmul"))
        XCTAssertFalse(ops.contains("cast"), "the mask nodes are gone")
        // The same graph as importing the fused form and running `fuse`.
        var reference = try ModelImporter.importModel(at: directory).graph
        _ = try Pass.fuse.run(&reference)
        XCTAssertEqual(fused.text, reference.text)

        let models = GraphModels(reference: plain, tokenizerSpec: imported.tokenizer)
        let a = try Encoder(model: try models.model(plain, label: "decomposed"))
        let b = try Encoder(model: try models.model(fused, label: "fused"))
        // Three lengths: the shorter two are padded to 40.
        let batch: [[Int32]] = [[101, 2129, 2079, 1045, 16476, 1037, 2944, 1029, 102],
                                [101, 7592, 102], (0..<40).map { Int32(1000 + $0 * 13) }]
        let oa = try a.run(ids: batch), ob = try b.run(ids: batch)
        for name in ["last_hidden_state", "embedding"] {
            let e = relativeMaxError(oa[name]!.floats!, ob[name]!.floats!)
            XCTAssertLessThanOrEqual(e, 1e-5, name)
        }
    }
}
