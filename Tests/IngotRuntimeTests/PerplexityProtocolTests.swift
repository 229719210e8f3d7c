// The one perplexity protocol (PerplexityWindows, NegativeLogLikelihood, logSoftmax): its
// windows and errors, the log-softmax against a direct formula, and IngotEval's accuracy
// comparison giving bit-for-bit the perplexity `LanguageModel.perplexity` gives (the one
// tested against PyTorch in ReferenceTests).
import Foundation
import XCTest
import IngotCore
import IngotEval
import IngotTestSupport
import IngotRuntime

final class PerplexityProtocolTests: XCTestCase {
    func testWindowsAreFullAndFromTheStart() throws {
        let w = try PerplexityWindows(tokens: 1000, window: 256)
        XCTAssertEqual(w.count, 3)
        XCTAssertEqual(try PerplexityWindows(tokens: 1000, window: 256, maxWindows: 2).count, 2)
        let ids = (0..<1000).map { Int32($0) }
        XCTAssertEqual(w.ids(1, of: ids), Array(ids[256..<512]))
        XCTAssertThrowsError(try PerplexityWindows(tokens: 100, window: 256)) { error in
            XCTAssertEqual((error as? IngotError)?.description, "text: 100 tokens, expected at least one full window of 256")
        }
        XCTAssertThrowsError(try PerplexityWindows(tokens: 100, window: 256, text: "evaluation text")) { error in
            XCTAssertEqual((error as? IngotError)?.description, "evaluation text: 100 tokens, expected at least one full window of 256")
        }
        XCTAssertThrowsError(try PerplexityWindows(tokens: 100, window: 1)) { error in
            XCTAssertEqual((error as? IngotError)?.description, "window: value 1, expected at least 2")
        }
    }

    func testLogSoftmaxAndScoring() {
        // logits [2, 3]
        let logits: [Float] = [1, 2, 3, 1000, 0, -1000]
        for (row, index) in [(0, 0), (0, 2), (1, 0), (1, 1)] {
            let r = logits[(row * 3)..<(row * 3 + 3)].map(Double.init)
            let direct = r[index] - log(r.map { exp($0 - r.max()!) }.reduce(0, +)) - r.max()!
            XCTAssertEqual(logSoftmax(logits, row: row, width: 3, at: index), direct, accuracy: 1e-12)
        }
        var nll = NegativeLogLikelihood()
        nll.add(logits: logits, window: [7, 2, 0], vocabulary: 3)
        XCTAssertEqual(nll.scored, 2, "every token but the window's first")
        XCTAssertEqual(nll.total, -logSoftmax(logits, row: 0, width: 3, at: 2) - logSoftmax(logits, row: 1, width: 3, at: 0))
        XCTAssertEqual(nll.perplexity, exp(nll.total / 2))
    }

    /// The build report's baseline perplexity is the `ingot perplexity` figure, to the bit.
    func testAccuracyComparisonUsesTheSameProtocol() throws {
        let text = try String(contentsOf: TestPaths.fixtures.appendingPathComponent("eval/smollm2-dev.txt"), encoding: .utf8)
        let model = try Model(path: try BuiltArtifacts.smolLM2())
        let ids = try makeTokenizer(try XCTUnwrap(model.tokenizerSpec)).encode(String(text.prefix(2000)), addSpecialTokens: false)
        XCTAssertGreaterThan(ids.count, 2 * 128 + 64, "a tail beyond the two windows")
        let direct = try LanguageModel(model: model).perplexity(ids: Array(ids.prefix(256)), window: 128)
        let compared = try AccuracyEvaluator.languageModels(baseline: model, candidate: model, ids: ids, window: 128, maxWindows: 2)
        XCTAssertEqual(direct.scored, 254)
        XCTAssertEqual(compared.samples, 254)
        XCTAssertEqual(compared.perplexityBaseline, direct.perplexity)
        XCTAssertEqual(compared.perplexity, direct.perplexity)
        XCTAssertEqual(compared.nextTokenTop1Agreement, 1)
    }
}
