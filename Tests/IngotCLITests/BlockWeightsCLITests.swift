// `ingot build` on a GGUF with block-quantized weights: kept as stored by default (q8_0 tensors
// in the artifact, the graph runs), expanded to float32 with --dequantize or when passes run.
import Foundation
import XCTest
import IngotCore
import IngotTestSupport

final class BlockWeightsCLITests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws { dir = try TempDirectory.make("block-cli") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    /// tensor name → artifact dtype, from `ingot inspect --json`.
    func tensorTypes(_ artifact: String) throws -> [String: String] {
        let r = try runIngot(["inspect", artifact, "--json", "--verify"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let tensors = try XCTUnwrap(try JSONValue.parse(r.stdout)["tensors"]?.array)
        return Dictionary(uniqueKeysWithValues: tensors.map { ($0["name"]?.string ?? "", $0["type"]?.string ?? "") })
    }

    func testBuildKeepsBlocksByDefaultAndDequantizeExpandsThem() throws {
        let gguf = dir.appendingPathComponent("q8.gguf")
        try Data(TinyCheckpoints.llamaGGUF(tokens: ["a", "b", "c", "d"], vocabSize: 4, matrixType: TinyCheckpoints.ggmlQ8_0)).write(to: gguf)
        let native = dir.appendingPathComponent("native.ingot").path
        let b1 = try runIngot(["build", gguf.path, "-o", native, "-q"])
        XCTAssertEqual(b1.status, 0, b1.stderr)
        let types = try tensorTypes(native)
        XCTAssertEqual(types["blk.0.ffn_down.weight"], "q8_0")
        XCTAssertEqual(types["token_embd.weight"], "q8_0")
        XCTAssertEqual(types["output_norm.weight"], "f32")

        let expanded = dir.appendingPathComponent("f32.ingot").path
        let b2 = try runIngot(["build", gguf.path, "-o", expanded, "--dequantize", "-q"])
        XCTAssertEqual(b2.status, 0, b2.stderr)
        XCTAssertEqual(Set(try tensorTypes(expanded).values), ["f32"])

        let fused = dir.appendingPathComponent("fused.ingot").path
        let b3 = try runIngot(["build", gguf.path, "-o", fused, "--passes", "fuse", "-q"])
        XCTAssertEqual(b3.status, 0, b3.stderr)
        XCTAssertEqual(Set(try tensorTypes(fused).values), ["f32"], "passes read float32 weights")

        let help = try runIngot(["build", "--help"])
        XCTAssertTrue(help.stdout.contains("--dequantize"), help.stdout)
    }
}
