// A GGUF's block-quantized weights kept native through import, artifact and runtime, on a tiny
// synthetic LLaMA whose embedding table (also the tied head) and layer matrices are Q8_0: the
// native artifact holds q8_0 tensors, runs to the same logits as the float32 expansion, and
// a build with passes imports float32 weights (the passes' input).
import Foundation
import XCTest
import IngotCompiler
import IngotCore
import IngotImport
import IngotIR
import IngotPasses
import IngotRuntime
import IngotTestSupport

final class BlockWeightTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws { dir = try TempDirectory.make("block-weights") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func source() throws -> String {
        let url = dir.appendingPathComponent("q8.gguf")
        try Data(TinyCheckpoints.llamaGGUF(tokens: ["a", "b", "c", "d"], vocabSize: 4, matrixType: TinyCheckpoints.ggmlQ8_0)).write(to: url)
        return url.path
    }

    func testNativeWeightsKeepTheirBlocksAndGiveTheFloat32Logits() throws {
        let gguf = try source()
        let native = try ModelImporter.importModel(at: gguf, blockWeights: .native)
        let float = try ModelImporter.importModel(at: gguf)
        let nativeTypes = Dictionary(uniqueKeysWithValues: native.graph.constants.map { (native.graph[$0.value].name, native.graph[$0.value].type.dtype) })
        XCTAssertEqual(nativeTypes["token_embd.weight"], .q8_0, "gather table and tied head")
        for m in ["attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"] {
            XCTAssertEqual(nativeTypes["blk.0.\(m).weight"], .q8_0, m)
        }
        XCTAssertEqual(nativeTypes["blk.0.attn_norm.weight"], .f32)
        XCTAssertTrue(float.graph.constants.allSatisfy { float.graph[$0.value].type.dtype == .f32 })

        let a = dir.appendingPathComponent("native.ingot").path, b = dir.appendingPathComponent("float.ingot").path
        let nativeSummary = try ArtifactBuilder.write(native, source: gguf, output: a, options: BuildOptions())
        let floatSummary = try ArtifactBuilder.write(float, source: gguf, output: b, options: BuildOptions())
        XCTAssertLessThan(nativeSummary.artifactBytes, floatSummary.artifactBytes)
        let lmA = try LanguageModel(model: try Model(path: a)), lmB = try LanguageModel(model: try Model(path: b))
        for ids: [Int32] in [[0, 1, 2, 3, 1, 0, 2], [3]] {   // 7 rows: the decoded-tile sgemm path; 1 row: the fused GEMV
            lmA.session.reset()
            lmB.session.reset()
            let x = try lmA.logits(ids: ids), y = try lmB.logits(ids: ids)
            XCTAssertEqual(x.count, y.count)
            let scale = y.map(abs).max() ?? 1
            for (u, v) in zip(x, y) { XCTAssertEqual(u, v, accuracy: 1e-5 * max(scale, 1)) }
        }
    }

    func testBuildDefaultsToNativeAndPassesGetFloat32() throws {
        let gguf = try source()
        let out = dir.appendingPathComponent("default.ingot").path
        _ = try ArtifactBuilder.build(source: gguf, output: out)
        let d = try Model(path: out).graph
        XCTAssertTrue(d.constants.contains { d[$0.value].type.dtype == .q8_0 }, "native by default")
        var options = BuildOptions()
        options.pipeline = try Pipeline.parse("fuse")
        let fused = dir.appendingPathComponent("fused.ingot").path
        _ = try ArtifactBuilder.build(source: gguf, output: fused, options: options)
        let g = try Model(path: fused).graph
        XCTAssertTrue(g.constants.allSatisfy { g[$0.value].type.dtype == .f32 }, "passes read float32 weights")
        options.blockWeights = .float32
        options.pipeline = Pipeline(steps: [])
        let expanded = dir.appendingPathComponent("expanded.ingot").path
        _ = try ArtifactBuilder.build(source: gguf, output: expanded, options: options)
        let e = try Model(path: expanded).graph
        XCTAssertTrue(e.constants.allSatisfy { e[$0.value].type.dtype == .f32 }, "--dequantize")
    }
}
