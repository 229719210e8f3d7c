// Fused against unfused float32 artifacts of the real models: the fuse pipeline must not
// change what the model computes beyond float rounding (1e-5 of the output's scale), and
// every fusion must show in the artifact's graph.
import XCTest
import IngotIR
import IngotTestSupport
@testable import IngotRuntime

/// max |a − b| / max |a|.
func relativeMaxError(_ a: [Float], _ b: [Float]) -> Double {
    let scale = Double(a.map { abs($0) }.max() ?? 1)
    let diff = zip(a, b).map { Double(abs($0 - $1)) }.max() ?? 0
    return diff / max(scale, 1e-30)
}

final class FusionNumericsTests: XCTestCase {
    func testFusedMiniLMMatchesUnfused() throws {
        let plain = try Model(path: try BuiltArtifacts.miniLM())
        let fused = try Model(path: try BuiltArtifacts.miniLMFused())
        let ops = Set(fused.graph.nodes.map(\.op.name))
        XCTAssertTrue(ops.isSuperset(of: ["linear", "split", "add_layer_norm"]), "\(ops.sorted())")
        XCTAssertFalse(ops.contains("matmul"))
        XCTAssertLessThan(fused.graph.nodes.count, plain.graph.nodes.count)
        let a = try Encoder(model: plain), b = try Encoder(model: fused)
        let batch: [[Int32]] = [[101, 2129, 2079, 1045, 16476, 1037, 2944, 1029, 102],
                                [101, 7592, 102], (0..<40).map { Int32(1000 + $0 * 13) }]
        let oa = try a.run(ids: batch), ob = try b.run(ids: batch)
        for name in ["last_hidden_state", "embedding"] {
            let e = relativeMaxError(oa[name]!.floats!, ob[name]!.floats!)
            XCTAssertLessThanOrEqual(e, 1e-5, name)
        }
    }

    func testFusedSmolLM2MatchesUnfusedInPrefillAndDecode() throws {
        let plain = try Model(path: try BuiltArtifacts.smolLM2())
        let fused = try Model(path: try BuiltArtifacts.smolLM2Fused())
        let ops = Set(fused.graph.nodes.map(\.op.name))
        XCTAssertTrue(ops.isSuperset(of: ["linear", "split", "swiglu", "add_rms_norm"]), "\(ops.sorted())")
        let a = try LanguageModel(model: plain), b = try LanguageModel(model: fused)
        let prompt: [Int32] = [1, 504, 3458, 282, 4649, 314, 253, 1345, 30, 216, 11, 27, 198, 2093, 17, 504]
        XCTAssertLessThanOrEqual(relativeMaxError(try a.logits(ids: prompt), try b.logits(ids: prompt)), 1e-5, "prefill")
        for id: Int32 in [42, 1024] {
            XCTAssertLessThanOrEqual(relativeMaxError(try a.logits(ids: [id]), try b.logits(ids: [id])), 1e-5, "decode \(id)")
        }
    }
}
