// The runtime against PyTorch: MiniLM hidden states and embeddings, SmolLM2 logits,
// perplexity and greedy generation, all from float32 artifacts built by `ingot build`.
import Foundation
import XCTest
import IngotCheckpoint
import IngotCore
import IngotTestSupport
@testable import IngotRuntime

final class MiniLMReferenceTests: XCTestCase {
    func testHiddenStatesMatchPyTorch() throws {
        let encoder = try Encoder(model: try Model(path: try BuiltArtifacts.miniLM()))
        let reference = try SafetensorsCheckpoint(path: try referenceFile("minilm/dev/reference.safetensors").path)
        for i in 0..<8 {
            let ids = try referenceInts(reference, "ids_\(i)")
            let expected = try referenceFloats(reference, "hidden_\(i)")
            let hidden = try encoder.run(ids: [ids])["last_hidden_state"]!
            XCTAssertEqual(hidden.shape, [1, ids.count, 384])
            let got = hidden.floats!
            let maxError = zip(got, expected).map { abs($0 - $1) }.max()!
            XCTAssertLessThanOrEqual(maxError, 1e-3, "sentence \(i)")
        }
    }

    func testEmbeddingsMatchPyTorchInBatchesOf1And16() throws {
        let encoder = try Encoder(model: try Model(path: try BuiltArtifacts.miniLM()))
        let reference = try SafetensorsCheckpoint(path: try referenceFile("minilm/dev/reference.safetensors").path)
        let expected = try referenceFloats(reference, "embeddings")
        let rows = try readJSONL(try referenceFile("minilm/dev/tokens.jsonl"))
        let ids: [[Int32]] = rows.map { row in (row["input_ids"]?.array ?? []).map { Int32($0.int!) } }
        XCTAssertEqual(ids.count, 300)
        var worst1 = 1.0, worst16 = 1.0
        for start in stride(from: 0, to: ids.count, by: 16) {
            let batch = Array(ids[start..<min(start + 16, ids.count)])
            let padded = try encoder.embed(ids: batch)
            for (j, e) in padded.enumerated() {
                let ref = Array(expected[((start + j) * 384)..<((start + j + 1) * 384)])
                worst16 = min(worst16, cosine(e, ref))
                if (start + j) % 5 == 0 {
                    let alone = try encoder.embed(ids: [batch[j]])[0]
                    worst1 = min(worst1, cosine(alone, ref))
                }
            }
        }
        XCTAssertGreaterThanOrEqual(worst16, 0.99999, "batch 16 with padding")
        XCTAssertGreaterThanOrEqual(worst1, 0.99999, "batch 1")
    }
}

final class SmolLM2ReferenceTests: XCTestCase {
    func testLogitsMatchPyTorch() throws {
        let lm = try LanguageModel(model: try Model(path: try BuiltArtifacts.smolLM2()))
        let reference = try SafetensorsCheckpoint(path: try referenceFile("smollm2/dev/reference.safetensors").path)
        // Per window: every logit of four positions, and every 64th vocabulary column at all
        // 64 positions (Fixtures/reference/README.md).
        let columns = try referenceInts(reference, "columns").map(Int.init)
        let vocabulary = lm.vocabularySize
        for k in 0..<2 {
            let ids = try referenceInts(reference, "ids_\(k)")
            let rows = try referenceInts(reference, "rows_\(k)").map(Int.init)
            let expectedRows = try referenceFloats(reference, "logits_\(k)_rows")
            let expectedColumns = try referenceFloats(reference, "logits_\(k)_columns")
            lm.session.reset()
            let logits = try lm.logits(ids: ids)
            XCTAssertEqual(logits.count, ids.count * vocabulary)
            XCTAssertEqual(expectedRows.count, rows.count * vocabulary)
            XCTAssertEqual(expectedColumns.count, ids.count * columns.count)
            var maxError: Float = 0
            for (r, t) in rows.enumerated() {
                for v in 0..<vocabulary { maxError = max(maxError, abs(logits[t * vocabulary + v] - expectedRows[r * vocabulary + v])) }
            }
            for t in 0..<ids.count {
                for (c, v) in columns.enumerated() {
                    maxError = max(maxError, abs(logits[t * vocabulary + v] - expectedColumns[t * columns.count + c]))
                }
            }
            XCTAssertLessThanOrEqual(maxError, 2e-2, "window \(k)")
        }
    }

    func testKVCacheDecodingEqualsPrefill() throws {
        let lm = try LanguageModel(model: try Model(path: try BuiltArtifacts.smolLM2()))
        let ids: [Int32] = [19815, 1789, 4604, 553, 3928, 23663, 253, 5245]
        lm.session.reset()
        let full = try lm.logits(ids: ids)
        lm.session.reset()
        _ = try lm.logits(ids: Array(ids[0..<5]))
        var stepwise: [Float] = []
        for id in ids[5...] { stepwise = try lm.logits(ids: [id]) }
        let last = Array(full[(7 * lm.vocabularySize)...])
        let maxError = zip(last, stepwise).map { abs($0 - $1) }.max()!
        XCTAssertLessThanOrEqual(maxError, 1e-3)
    }

    func testGreedyGenerationMatchesPyTorch() throws {
        let lm = try LanguageModel(model: try Model(path: try BuiltArtifacts.smolLM2()))
        let greedy = try JSONValue.parse(try Array(Data(contentsOf: try referenceFile("smollm2/greedy.json"))))
        let prompts = try XCTUnwrap(greedy["prompts"]?.array)
        XCTAssertEqual(prompts.count, 2)
        for p in prompts {
            let prompt = (p["prompt_ids"]?.array ?? []).map { Int32($0.int!) }
            let expected = (p["gen_ids"]?.array ?? []).map { Int32($0.int!) }
            var options = GenerationOptions()
            options.maxTokens = expected.count
            let got = try lm.generate(prompt: prompt, options: options)
            XCTAssertEqual(got, expected, p["name"]?.string ?? "")
        }
    }

    func testAsyncTokenStreamEqualsGenerate() async throws {
        let lm = try LanguageModel(model: try Model(path: try BuiltArtifacts.smolLM2()))
        var options = GenerationOptions()
        options.maxTokens = 6
        options.temperature = 0.8
        options.topK = 40
        options.seed = 7
        let prompt: [Int32] = [19815, 1789, 4604, 553]
        var streamed: [Int32] = []
        for try await id in lm.tokens(prompt: prompt, options: options) { streamed.append(id) }
        XCTAssertEqual(streamed.count, 6)
        XCTAssertEqual(streamed, try lm.generate(prompt: prompt, options: options), "same seed, same tokens")
    }

    func testPerplexityMatchesReferenceProtocol() throws {
        let lm = try LanguageModel(model: try Model(path: try BuiltArtifacts.smolLM2()))
        let tokens = try JSONValue.parse(try Array(Data(contentsOf: try referenceFile("smollm2/dev/tokens.json"))))
        let ids = try XCTUnwrap(tokens["input_ids"]?.array).map { Int32($0.int!) }
        let expected = try JSONValue.parse(try Array(Data(contentsOf: try referenceFile("smollm2/dev/perplexity.json"))))
        let result = try lm.perplexity(ids: ids, window: 256)
        XCTAssertEqual(result.scored, 9690)
        XCTAssertEqual(result.windows, 38)
        let ppl = try XCTUnwrap(expected["ppl"]?.double)
        XCTAssertEqual(result.perplexity, ppl, accuracy: ppl * 1e-4)
    }
}

final class SessionInputTests: XCTestCase {
    func testBadInputsAreClearErrors() throws {
        let model = try Model(path: try BuiltArtifacts.miniLM())
        let session = model.makeSession()
        let ids = HostTensor(shape: [1, 3], ints: [101, 2023, 102])
        XCTAssertThrowsError(try session.run(inputs: ["input_ids": ids])) { error in
            XCTAssertEqual((error as! IngotError).description,
                           "input 'attention_mask': missing; the model takes input_ids, attention_mask, token_type_ids, position_ids")
        }
        let good: [String: HostTensor] = ["input_ids": ids, "attention_mask": HostTensor(shape: [1, 3], ints: [1, 1, 1]),
                                          "token_type_ids": HostTensor(shape: [1, 3], ints: [0, 0, 0]),
                                          "position_ids": HostTensor(shape: [1, 3], ints: [0, 1, 2])]
        var wrongSeq = good
        wrongSeq["attention_mask"] = HostTensor(shape: [1, 4], ints: [1, 1, 1, 1])
        XCTAssertThrowsError(try session.run(inputs: wrongSeq)) { error in
            XCTAssertEqual((error as! IngotError).description, "input 'attention_mask' dimension 1 (seq): value 4, expected 3 as in the other inputs")
        }
        var wrongType = good
        wrongType["position_ids"] = HostTensor(shape: [1, 3], floats: [0, 1, 2])
        XCTAssertThrowsError(try session.run(inputs: wrongType)) { error in
            XCTAssertEqual((error as! IngotError).description, "input 'position_ids': dtype f32, expected i32")
        }
        var badID = good
        badID["input_ids"] = HostTensor(shape: [1, 3], ints: [101, 99999, 102])
        XCTAssertThrowsError(try session.run(inputs: badID)) { error in
            XCTAssertEqual((error as! IngotError).description, "gather from 'embeddings.word_embeddings.weight': id 99999 at position 1 is outside 0..<30522")
        }
        var extra = good
        extra["pixel_values"] = HostTensor(shape: [1], floats: [0])
        XCTAssertThrowsError(try session.run(inputs: extra)) { error in
            XCTAssertEqual((error as! IngotError).kind, .shape)
        }
        XCTAssertEqual(try session.run(inputs: good)["embedding"]?.shape, [1, 384])
    }
}
