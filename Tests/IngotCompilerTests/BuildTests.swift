// `ingot build` end to end on the real checkpoints: every weight in the artifact is
// bit-identical to the checkpoint's float32 values, builds are deterministic, and a failed
// build leaves nothing behind.
import Foundation
import XCTest
import IngotArtifact
import IngotCheckpoint
import IngotCore
import IngotIR
import IngotTestSupport
@testable import IngotCompiler


/// `ingot inspect` on a GGUF decoder: the family's facts from the table, the sizes from
/// metadata, and every field or tensor that keeps it from importing.
final class DecoderInspectTests: XCTestCase {
    func inspect(_ bytes: [UInt8]) throws -> [String: String] {
        let url = try TempDirectory.make("inspect-decoder").appendingPathComponent("m.gguf")
        try Data(bytes).write(to: url)
        return Dictionary(try Inspector.inspect(url.path).facts, uniquingKeysWith: { a, _ in a })
    }

    func testSupportedAndRefusedDecodersAreNamed() throws {
        let ok = try inspect(TinyCheckpoints.llamaGGUF(tokens: ["a", "b", "c", "d"], vocabSize: 4, architecture: "qwen2"))
        XCTAssertEqual(ok["decoder_support"], "supported")
        XCTAssertEqual(ok["decoder.qkv_bias"], "true")
        XCTAssertEqual(ok["decoder.rope_style"], "half")
        XCTAssertEqual(ok["decoder.head_dim"], "16")
        XCTAssertEqual(ok["decoder.tokenizer"], "byte-level BPE (supported)")
        let refused = try inspect(TinyCheckpoints.llamaGGUF(tokens: ["a", "b", "c", "d"], vocabSize: 4,
                                                             extraTensors: [("rope_freqs.weight", [8])]))
        XCTAssertEqual(refused["decoder_support"],
                       "not supported: tensor rope_freqs.weight: present, expected absent (LLaMA-3 rope frequency scaling is not supported)")
        let unknown = try inspect(TinyCheckpoints.llamaGGUF(tokens: ["a"], vocabSize: 4, architecture: "mamba"))
        XCTAssertEqual(unknown["decoder_support"], "not supported: general.architecture: value \"mamba\", expected one of \"llama\", \"qwen2\", \"gemma3\"")
    }
}

final class BuildTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws { dir = try TempDirectory.make("build") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func testMiniLMWeightsAreBitIdenticalAndBuildsDeterministic() throws {
        let source = try requireModel(TestPaths.miniLMDir)
        let a = dir.appendingPathComponent("a.ingot"), b = dir.appendingPathComponent("b.ingot")
        let summary = try ArtifactBuilder.build(source: source.path, output: a.path)
        XCTAssertEqual(summary.tensorCount, 101)
        _ = try ArtifactBuilder.build(source: source.path, output: b.path)
        XCTAssertEqual(try Data(contentsOf: a), try Data(contentsOf: b), "two builds are byte-identical")

        let checkpoint = try SafetensorsCheckpoint(path: source.path)
        let reader = try ArtifactReader(path: a.path, verify: .full)
        for t in reader.tensors {
            XCTAssertTrue(try reader.tensor(t.name).byteArray == checkpoint.buffer(t.name).byteArray, t.name)
        }
        let graph = try XCTUnwrap(try reader.payload(.graph)).withUnsafeBytes { try GraphCodec.decode($0) }
        XCTAssertNoThrow(try graph.verify())
        let prov = try JSONValue.parse(try XCTUnwrap(try reader.payload(.provenance)))
        XCTAssertEqual(prov["sources"]?[0]?["file"]?.string, "model.safetensors")
        XCTAssertEqual(prov["sources"]?[0]?["sha256"]?.string?.count, 64)
        XCTAssertEqual(prov["toolchain"]?.string, "ingot \(IngotVersion.string)")
    }

    func testSmolLM2BlockWeightsAreTheGGUFBytesByDefault() throws {
        let source = try requireModel(TestPaths.smolLM2GGUF)
        let out = dir.appendingPathComponent("n.ingot")
        _ = try ArtifactBuilder.build(source: source.path, output: out.path)
        let gguf = try GGUFFile(path: source.path)
        let reader = try ArtifactReader(path: out.path)
        XCTAssertEqual(reader.tensors.count, 272)
        for name in ["token_embd.weight", "blk.0.attn_q.weight", "blk.29.ffn_down.weight"] {
            let info = try XCTUnwrap(gguf.tensor(named: name))
            XCTAssertEqual(reader.tensors.first { $0.name == name }?.dtype, try XCTUnwrap(info.type.blockDType), name)
            XCTAssertTrue(try reader.tensor(name).byteArray == Array(gguf.rawBytes(info)), name)
        }
        let norm = try XCTUnwrap(gguf.tensor(named: "output_norm.weight"))
        XCTAssertTrue(try reader.tensor("output_norm.weight").byteArray == gguf.dequantize(norm).byteArray)
    }

    func testSmolLM2WeightsEqualTheDequantizedGGUF() throws {
        let source = try requireModel(TestPaths.smolLM2GGUF)
        let out = dir.appendingPathComponent("s.ingot")
        var options = BuildOptions()
        options.blockWeights = .float32
        _ = try ArtifactBuilder.build(source: source.path, output: out.path, options: options)
        let gguf = try GGUFFile(path: source.path)
        let reader = try ArtifactReader(path: out.path)
        XCTAssertEqual(reader.tensors.count, 272)
        for name in ["token_embd.weight", "blk.0.attn_q.weight", "blk.29.ffn_down.weight", "output_norm.weight"] {
            let expected = try gguf.dequantize(try XCTUnwrap(gguf.tensor(named: name)))
            XCTAssertTrue(try reader.tensor(name).byteArray == expected.byteArray, name)
        }
        let tokenizer = try XCTUnwrap(try reader.payload(.tokenizer)).withUnsafeBytes { try TokenizerSpec(decoding: $0, file: nil) }
        XCTAssertEqual(tokenizer.tokens.count, 49152)
        XCTAssertEqual(tokenizer.preTokenizer, "smollm")
    }

    func testFailedBuildLeavesNoFileAndKeepsThePreviousArtifact() throws {
        let out = dir.appendingPathComponent("m.ingot")
        try Data("previous artifact".utf8).write(to: out)
        let broken = dir.appendingPathComponent("broken")
        try FileManager.default.createDirectory(at: broken, withIntermediateDirectories: true)
        try #"{"model_type": "bert", "hidden_size": 8, "num_attention_heads": 2, "num_hidden_layers": 1, "intermediate_size": 16, "vocab_size": 10, "max_position_embeddings": 16, "type_vocab_size": 2}"#
            .write(to: broken.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        try SafetensorsWriter.write([.f32("embeddings.word_embeddings.weight", [10, 8])], to: broken.appendingPathComponent("model.safetensors"))
        XCTAssertThrowsError(try ArtifactBuilder.build(source: broken.path, output: out.path))
        XCTAssertEqual(try String(contentsOf: out, encoding: .utf8), "previous artifact")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted(), ["broken", "m.ingot"])
    }

    func testTokenizerSpecCodecRejectsEveryTruncation() throws {
        let spec = TokenizerSpec(kind: .byteLevelBPE, tokens: ["a", "b", "ab", "<|x|>"], merges: ["a b"], tokenTypes: [1, 1, 1, 3],
                                 preTokenizer: "smollm", lowercase: false, stripAccents: false, splitCJK: false,
                                 continuingSubwordPrefix: "", maxInputCharsPerWord: 0, maxLength: 8192,
                                 specialTokens: ["eos": 3], addBOS: false, addEOS: false, chatTemplate: "<|im_start|>")
        let bytes = spec.encoded()
        XCTAssertEqual(try bytes.withUnsafeBytes { try TokenizerSpec(decoding: $0, file: nil) }, spec)
        for n in 0..<bytes.count {
            XCTAssertThrowsError(try Array(bytes[0..<n]).withUnsafeBytes { try TokenizerSpec(decoding: $0, file: "t") }, "prefix \(n)")
        }
    }
}

/// Issue 14: `inspect` exited 1 on a graph that fails verification (run said 65), and
/// `inspect --verify` accepted a graph constant missing from the tensor index or declared with
/// another dtype or shape than the index gives (run refused it).
final class InspectArtifactTests: XCTestCase {
    func write(_ graph: Graph, tensors: [(String, DType, [Int])]) throws -> String {
        let path = try TempDirectory.make("inspect").appendingPathComponent("g.ingot").path
        let w = try ArtifactWriter(path: path)
        for (name, dtype, shape) in tensors {
            let bytes = [UInt8](repeating: 0, count: shape.reduce(1, *) * dtype.byteSize)
            try bytes.withUnsafeBytes { try w.addTensor(name: name, dtype: dtype, shape: shape, bytes: $0) }
        }
        try w.addSection(.graph, payload: GraphCodec.encode(graph), required: true)
        try w.commit()
        return path
    }

    /// y = x + @w, with @w declared f32[2].
    func graph(declaringOutput output: TensorType? = nil) throws -> Graph {
        var g = Graph(name: "tiny")
        let x = g.addInput("x", TensorType(.f32, Shape([.fixed(2)])))
        let w = g.addConstant("w", TensorType(.f32, Shape([.fixed(2)])), source: nil)
        if let output {
            let y = g.addValue("y", output)
            g.nodes.append(Node(op: .binary(.add), inputs: [x, w], outputs: [y]))
            g.markOutput(y)
        } else {
            g.markOutput(try g.add(.binary(.add), [x, w], name: "y"))
        }
        return g
    }

    func testAGraphThatFailsVerificationIsAVerificationError() throws {
        let path = try write(try graph(declaringOutput: TensorType(.f32, Shape([.fixed(3)]))), tensors: [("w", .f32, [2])])
        XCTAssertThrowsError(try Inspector.inspect(path)) { error in
            let e = error as! IngotError
            XCTAssertEqual(e.kind, .verification)
            XCTAssertEqual(e.kind.exitCode, 65)
            XCTAssertEqual(e.file, path)
            XCTAssertEqual(e.location, "graph 'tiny'")
            XCTAssertEqual(e.message, "node 0 (add) output %y is declared f32[3], inferred f32[2]")
        }
    }

    func testConstantsMustMatchTheTensorIndex() throws {
        XCTAssertNoThrow(try Inspector.inspect(try write(try graph(), tensors: [("w", .f32, [2])]), verify: true))
        for (tensors, message) in [([("v", DType.f32, [2])], "not in the tensor index"),
                                   ([("w", DType.i32, [2])], "the tensor index has i32[2], the graph declares f32[2]"),
                                   ([("w", DType.f32, [1, 2])], "the tensor index has f32[1, 2], the graph declares f32[2]")] {
            let path = try write(try graph(), tensors: tensors)
            XCTAssertThrowsError(try Inspector.inspect(path, verify: true), message) { error in
                let e = error as! IngotError
                XCTAssertEqual(e.kind, .format)
                XCTAssertEqual(e.location, "graph constant 'w'")
                XCTAssertEqual(e.message, message)
            }
        }
    }
}
