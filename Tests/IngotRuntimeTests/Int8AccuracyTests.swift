// int8 artifacts of the real models against their float32 artifacts: the accuracy bars of
// the Passes I issue on the dev data (MiniLM: 300 sentences; SmolLM2: the dev text under
// the reference perplexity protocol) and the size bar.
import Foundation
import XCTest
import IngotCore
import IngotIR
import IngotEval
import IngotTestSupport
@testable import IngotRuntime

final class Int8AccuracyTests: XCTestCase {
    func testMiniLMInt8MeetsTheEmbeddingBars() throws {
        let ids = try miniLMDevSentenceIDs()
        let float = try Model(path: try BuiltArtifacts.miniLM()), int8 = try Model(path: try BuiltArtifacts.miniLMInt8())
        XCTAssertTrue(int8.graph.nodes.contains { $0.op.name == "linear_int8" })
        let a = try AccuracyEvaluator.encoders(baseline: float, candidate: int8, sentences: ids)
        XCTAssertEqual(a.samples, 300)
        XCTAssertGreaterThanOrEqual(a.cosineMean!, 0.998)
        XCTAssertGreaterThanOrEqual(a.cosineMin!, 0.99)
        XCTAssertGreaterThanOrEqual(a.top1Agreement!, 0.95)
        let safetensors = try MappedFile(path: try requireModel(TestPaths.miniLMDir).appendingPathComponent("model.safetensors").path).count
        let artifact = try MappedFile(path: try BuiltArtifacts.miniLMInt8()).count
        XCTAssertLessThanOrEqual(Double(artifact), 0.30 * Double(safetensors), "int8 artifact ≤ 30% of the float32 safetensors")
    }

    /// The packed recipe (README, demo): most layers 7-bit on the packed kernel, the rest 8-bit.
    /// Measured on the 300 dev sentences: cosine mean 0.99884, min 0.99803, top-1 96.0%.
    func testMiniLMPackedInt8MeetsTheEmbeddingBars() throws {
        let ids = try miniLMDevSentenceIDs()
        let float = try Model(path: try BuiltArtifacts.miniLM()), int8 = try Model(path: try BuiltArtifacts.miniLMInt8Packed())
        let packed = int8.graph.nodes.filter { $0.op.name == "linear_int8_packed" }.count
        let rowMajor = int8.graph.nodes.filter { $0.op.name == "linear_int8" }.count
        XCTAssertEqual(packed + rowMajor, 24, "every fused linear layer is int8")
        XCTAssertGreaterThanOrEqual(packed, 12, "most layers stay 7-bit and packed")
        let a = try AccuracyEvaluator.encoders(baseline: float, candidate: int8, sentences: ids)
        XCTAssertGreaterThanOrEqual(a.cosineMean!, 0.998)
        XCTAssertGreaterThanOrEqual(a.cosineMin!, 0.99)
        XCTAssertGreaterThanOrEqual(a.top1Agreement!, 0.95)
        let safetensors = try MappedFile(path: try requireModel(TestPaths.miniLMDir).appendingPathComponent("model.safetensors").path).count
        XCTAssertLessThanOrEqual(Double(try MappedFile(path: try BuiltArtifacts.miniLMInt8Packed()).count), 0.30 * Double(safetensors))
    }

    /// The speed recipe: every linear layer 8-bit and packed with 7-bit activation codes
    /// (`pack:eight-bit=u7`), no sensitivity search. Measured on the 300 dev sentences: cosine
    /// mean 0.99827, min 0.99643, top-1 94.7% (below the 95% bar, so not the default recipe).
    func testMiniLMEightBitWeightsWithSevenBitInputs() throws {
        let ids = try miniLMDevSentenceIDs()
        let path = try BuiltArtifacts.miniLMCalibrated(name: "minilm-int8-u7", passes: "fuse,quantize=int8:smooth=0.5,pack:eight-bit=u7")
        let float = try Model(path: try BuiltArtifacts.miniLM()), int8 = try Model(path: path)
        let bits = int8.graph.nodes.compactMap { node -> Int? in
            if case .linearInt8Packed(let a) = node.op { return a.inputBits }
            return nil
        }
        XCTAssertEqual(bits, [Int](repeating: 7, count: 24), "every fused linear layer packed with 7-bit codes")
        let a = try AccuracyEvaluator.encoders(baseline: float, candidate: int8, sentences: ids)
        XCTAssertGreaterThanOrEqual(a.cosineMean!, 0.998)
        XCTAssertGreaterThanOrEqual(a.cosineMin!, 0.995)
    }

    /// Static int8 on the real model: activation ranges from calibration sentences by the
    /// 99.99th percentile (SmoothQuant α = 0.5), so every linear layer runs with a fixed
    /// input scale. Measured on the 300 dev sentences: cosine mean 0.99105, min 0.9848, top-1 87%.
    func testMiniLMStaticInt8WithPercentileRanges() throws {
        let ids = try miniLMDevSentenceIDs()
        let path = try BuiltArtifacts.miniLMCalibrated(name: "minilm-static-percentile", passes: "fuse,quantize=int8:mode=static:calibrate=percentile:smooth=0.5")
        let float = try Model(path: try BuiltArtifacts.miniLM()), int8 = try Model(path: path)
        let scales = int8.graph.nodes.compactMap { node -> Float? in
            if case .linearInt8(let a) = node.op, a.mode == .static { return a.inputScale }
            return nil
        }
        XCTAssertEqual(scales.count, 24, "every fused linear layer (QKV, output, two FFN per layer) static")
        XCTAssertTrue(scales.allSatisfy { $0 > 0 && $0.isFinite })
        let a = try AccuracyEvaluator.encoders(baseline: float, candidate: int8, sentences: ids)
        XCTAssertGreaterThanOrEqual(a.cosineMean!, 0.985)
        XCTAssertGreaterThanOrEqual(a.cosineMin!, 0.97)
    }

    /// Weight-only int8 in groups of 32 (float activations).
    func testSmolLM2Int8PerplexityAndAgreement() throws {
        let text = try String(contentsOf: TestPaths.fixtures.appendingPathComponent("eval/smollm2-dev.txt"), encoding: .utf8)
        let float = try Model(path: try BuiltArtifacts.smolLM2()), int8 = try Model(path: try BuiltArtifacts.smolLM2Int8())
        let ids = try makeTokenizer(try XCTUnwrap(int8.tokenizerSpec)).encode(text, addSpecialTokens: false)
        let ppl = try LanguageModel(model: int8).perplexity(ids: ids, window: 256).perplexity
        // Float32 gives 16.5797 here (ReferenceTests); the bar is +0.25% (llama.cpp Q8_0: +0.33%).
        XCTAssertLessThanOrEqual(ppl / 16.5797 - 1, 0.0025, "int8 perplexity \(ppl)")
        let a = try AccuracyEvaluator.languageModels(baseline: float, candidate: int8, ids: ids, window: 256, maxWindows: 8)
        XCTAssertGreaterThanOrEqual(a.nextTokenTop1Agreement!, 0.97)
        XCTAssertLessThan(a.klMean!, 0.005)
        let artifact = try MappedFile(path: try BuiltArtifacts.smolLM2Int8()).count
        XCTAssertLessThanOrEqual(Double(artifact), 0.30 * 538_554_576, "≤ 30% of the float32 weights")
    }
}
