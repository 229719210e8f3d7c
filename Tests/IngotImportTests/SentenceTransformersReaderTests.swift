// The sentence-transformers pipeline reader: the real files of all-MiniLM-L6-v2 and
// embeddinggemma-300m (Fixtures/sentence-transformers) read as their models define them, and
// every module type, pooling mode, setting and activation it does not compute refused with
// the value seen and the supported list; a checkpoint tensor no import uses (a classifier
// head) is refused by name. What the imported pipeline computes is tested in
// IngotRuntimeTests/SentenceTransformersPipelineTests.
import Foundation
import XCTest
import IngotCore
import IngotIR
import IngotTestSupport
@testable import IngotImport

final class SentenceTransformersReaderTests: XCTestCase {
    var fixtures: URL { TestPaths.fixtures.appendingPathComponent("sentence-transformers") }

    func testEmbeddingGemmaFilesReadAsTheyAreWritten() throws {
        let dir = fixtures.appendingPathComponent("embeddinggemma-300m")
        XCTAssertEqual(try SentenceTransformersPipeline.readPooling(path: dir.path + "/1_Pooling/config.json", hidden: 768), .mean)
        let first = try SentenceTransformersPipeline.readDenseConfig(path: dir.path + "/2_Dense/config.json", width: 768)
        XCTAssertEqual(first.inFeatures, 768)
        XCTAssertEqual(first.outFeatures, 3072)
        XCTAssertFalse(first.bias)
        XCTAssertEqual(first.activation, .identity)
        let second = try SentenceTransformersPipeline.readDenseConfig(path: dir.path + "/3_Dense/config.json", width: 3072)
        XCTAssertEqual(second.outFeatures, 768)
        XCTAssertEqual(second.activation, .identity)
        XCTAssertThrowsError(try SentenceTransformersPipeline.readDenseConfig(path: dir.path + "/3_Dense/config.json", width: 768)) { error in
            XCTAssertEqual((error as! IngotError).description,
                           dir.path + "/3_Dense/config.json: in_features: value 3072, expected 768, the width of the module before it")
        }
    }

    func testMiniLMFilesReadAsMeanPooling() throws {
        let dir = fixtures.appendingPathComponent("all-MiniLM-L6-v2")
        XCTAssertEqual(try SentenceTransformersPipeline.readPooling(path: dir.path + "/1_Pooling/config.json", hidden: 384), .mean)
        XCTAssertThrowsError(try SentenceTransformersPipeline.readPooling(path: dir.path + "/1_Pooling/config.json", hidden: 768)) { error in
            XCTAssertEqual((error as! IngotError).description,
                           dir.path + "/1_Pooling/config.json: word_embedding_dimension: value 384, expected the encoder's hidden_size 768")
        }
    }

    // MARK: Refusals on a tiny BERT folder

    func tinyFolder(modules: [String], pooling: String = #""pooling_mode_mean_tokens": true"#) throws -> URL {
        let dir = try TempDirectory.make("st-reader")
        try TinyCheckpoints.bert(in: dir, vocab: TinyCheckpoints.bertVocabulary(10))
        let all = [#"{"path": "", "type": "sentence_transformers.models.Transformer"}"#,
                   #"{"path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}"#] + modules
        try ("[" + all.joined(separator: ", ") + "]").write(to: dir.appendingPathComponent("modules.json"), atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("1_Pooling"), withIntermediateDirectories: true)
        try #"{"word_embedding_dimension": 8, \#(pooling)}"#
            .write(to: dir.appendingPathComponent("1_Pooling/config.json"), atomically: true, encoding: .utf8)
        return dir
    }

    func assertRefused(_ dir: URL, exitCode: Int32 = 69, _ expected: String, line: UInt = #line) {
        XCTAssertThrowsError(try ModelImporter.importModel(at: dir.path), line: line) { error in
            let e = error as! IngotError
            XCTAssertEqual(e.kind.exitCode, exitCode, line: line)
            XCTAssertEqual(e.description, expected, line: line)
        }
    }

    func testUnknownModuleTypeIsRefusedWithTheSupportedList() throws {
        let dir = try tinyFolder(modules: [#"{"path": "2_LayerNorm", "type": "sentence_transformers.models.LayerNorm"}"#])
        assertRefused(dir, dir.path + "/modules.json: [2].type: value \"sentence_transformers.models.LayerNorm\", expected one of \"sentence_transformers.models.Transformer\", \"sentence_transformers.models.Pooling\", \"sentence_transformers.models.Dense\", \"sentence_transformers.models.Normalize\"")
    }

    func testPoolingModesIngotDoesNotComputeAreRefused() throws {
        let supported = "pooling_mode_mean_tokens, pooling_mode_cls_token, pooling_mode_max_tokens, pooling_mode_lasttoken"
        for mode in ["pooling_mode_weightedmean_tokens", "pooling_mode_mean_sqrt_len_tokens"] {
            let dir = try tinyFolder(modules: [], pooling: "\"\(mode)\": true")
            assertRefused(dir, dir.path + "/1_Pooling/config.json: pooling modes set to true: \(mode); Ingot computes exactly one of \(supported)")
        }
        let both = try tinyFolder(modules: [], pooling: #""pooling_mode_cls_token": true, "pooling_mode_mean_tokens": true"#)
        assertRefused(both, both.path + "/1_Pooling/config.json: pooling modes set to true: pooling_mode_cls_token, pooling_mode_mean_tokens; Ingot computes exactly one of \(supported)")
        let none = try tinyFolder(modules: [], pooling: #""pooling_mode_mean_tokens": false"#)
        assertRefused(none, none.path + "/1_Pooling/config.json: pooling modes set to true: none; Ingot computes exactly one of \(supported)")
    }

    func testIncludePromptFalseAndUnknownSettingsAreRefused() throws {
        let prompt = try tinyFolder(modules: [], pooling: #""pooling_mode_mean_tokens": true, "include_prompt": false"#)
        assertRefused(prompt, prompt.path + "/1_Pooling/config.json: include_prompt: value false, expected true (Ingot pools over the prompt's tokens too)")
        let unknown = try tinyFolder(modules: [], pooling: #""pooling_mode_mean_tokens": true, "pooling_mode_attention": true"#)
        XCTAssertThrowsError(try ModelImporter.importModel(at: unknown.path)) { error in
            let e = error as! IngotError
            XCTAssertEqual(e.kind.exitCode, 69)
            XCTAssertTrue(e.description.hasPrefix(unknown.path + "/1_Pooling/config.json: pooling_mode_attention: setting pooling_mode_attention not understood; expected only word_embedding_dimension, "), e.description)
        }
    }

    func testUnknownDenseActivationIsRefused() throws {
        let dir = try tinyFolder(modules: [#"{"path": "2_Dense", "type": "sentence_transformers.models.Dense"}"#])
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("2_Dense"), withIntermediateDirectories: true)
        try #"{"in_features": 8, "out_features": 4, "bias": true, "activation_function": "torch.nn.modules.activation.ReLU"}"#
            .write(to: dir.appendingPathComponent("2_Dense/config.json"), atomically: true, encoding: .utf8)
        assertRefused(dir, dir.path + "/2_Dense/config.json: activation_function: value \"torch.nn.modules.activation.ReLU\", expected one of \"torch.nn.modules.linear.Identity\", \"torch.nn.modules.activation.Tanh\"")
    }

    func testDenseWeightsOfTheWrongShapeOrWithExtraTensorsAreRefused() throws {
        let dir = try tinyFolder(modules: [#"{"path": "2_Dense", "type": "sentence_transformers.models.Dense"}"#])
        let dense = dir.appendingPathComponent("2_Dense")
        try FileManager.default.createDirectory(at: dense, withIntermediateDirectories: true)
        try #"{"in_features": 8, "out_features": 4, "bias": false, "activation_function": "torch.nn.modules.linear.Identity"}"#
            .write(to: dense.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        try SafetensorsWriter.write([.f32("linear.weight", [4, 8]), .f32("linear.bias", [4])], to: dense.appendingPathComponent("model.safetensors"))
        assertRefused(dir, dense.path + "/model.safetensors: 1 tensor a sentence-transformers Dense import does not use: 2_Dense.linear.bias; Ingot imports no classifier or other head besides the sentence-transformers pipeline")
        try SafetensorsWriter.write([.f32("linear.weight", [4, 7])], to: dense.appendingPathComponent("model.safetensors"))
        assertRefused(dir, dense.path + "/model.safetensors: not a sentence-transformers Dense checkpoint Ingot can import: wrong shape: 2_Dense.linear.weight: shape [4, 7], expected [4, 8]")
    }

    func testDenseBeforePoolingIsRefused() throws {
        let dir = try TempDirectory.make("st-order")
        try TinyCheckpoints.bert(in: dir, vocab: TinyCheckpoints.bertVocabulary(10))
        try #"[{"path": "", "type": "sentence_transformers.models.Transformer"}, {"path": "1_Normalize", "type": "sentence_transformers.models.Normalize"}]"#
            .write(to: dir.appendingPathComponent("modules.json"), atomically: true, encoding: .utf8)
        assertRefused(dir, dir.path + "/modules.json: [1].type: value \"sentence_transformers.models.Normalize\" at position 1, expected a Normalize module after the Pooling module")
    }

    /// Issue 16: a cross-encoder's classifier head was dropped silently.
    func testClassifierTensorsAreRefusedByName() throws {
        let dir = try TempDirectory.make("cross-encoder")
        try TinyCheckpoints.bert(in: dir, vocab: TinyCheckpoints.bertVocabulary(10))
        let tensors = TinyCheckpoints.bertTensors().map { t in TestTensor(name: "bert." + t.name, dtype: t.dtype, shape: t.shape, bytes: t.bytes) }
            + [.f32("bert.pooler.dense.weight", [8, 8]), .f32("bert.pooler.dense.bias", [8]),
               .f32("classifier.weight", [1, 8]), .f32("classifier.bias", [1])]
        try SafetensorsWriter.write(tensors, to: dir.appendingPathComponent("model.safetensors"))
        assertRefused(dir, dir.path + "/model.safetensors: 2 tensors a BERT import does not use: classifier.bias, classifier.weight; Ingot imports no classifier or other head besides the sentence-transformers pipeline")
        // The pooler alone is the known unused part of a BERT checkpoint.
        try SafetensorsWriter.write(Array(tensors.dropLast(2)), to: dir.appendingPathComponent("model.safetensors"))
        XCTAssertNoThrow(try ModelImporter.importModel(at: dir.path))
    }

    func testPipelineIsRecordedInTheHyperParameters() throws {
        let dir = try tinyFolder(modules: [#"{"path": "2_Dense", "type": "sentence_transformers.models.Dense"}"#],
                                 pooling: #""pooling_mode_lasttoken": true"#)
        let dense = dir.appendingPathComponent("2_Dense")
        try FileManager.default.createDirectory(at: dense, withIntermediateDirectories: true)
        try #"{"in_features": 8, "out_features": 4, "bias": true}"#.write(to: dense.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        try SafetensorsWriter.write([.f32("linear.weight", [4, 8]), .f32("linear.bias", [4])], to: dense.appendingPathComponent("model.safetensors"))
        let model = try ModelImporter.importModel(at: dir.path)
        let facts = Dictionary(uniqueKeysWithValues: model.hyperParameters)
        XCTAssertEqual(facts["pooling"], "last_token")
        XCTAssertEqual(facts["dense"], "8→4+bias tanh", "a Dense config without activation_function has Tanh, as sentence-transformers defaults")
        XCTAssertEqual(facts["normalize"], "false")
        XCTAssertEqual(model.graph.type(of: model.graph.outputs[1]).description, "f32[batch, 4]")
        XCTAssertTrue(model.sourceFiles.contains(dense.path + "/model.safetensors"))
    }
}
