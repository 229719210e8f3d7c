// Hostile inputs from issue 14 through the real executables: a retyped norm tensor, a
// vocabulary longer than its embedding table, and an artifact whose section table claims a
// 1 GiB section (checksums recomputed) each end as one error line with a documented exit code.
import Foundation
import IngotCore
import IngotTestSupport
import XCTest

final class HostileInputCLITests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws { dir = try TempDirectory.make("cli-hostile") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func write(_ bytes: [UInt8], _ name: String) throws -> String {
        let url = dir.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url.path
    }

    func testRetypedNormWeightIsRefusedAtBuild() throws {
        let gguf = try write(TinyCheckpoints.llamaGGUF(tokens: ["a", "b", "c", "d"], vocabSize: 4, normType: TinyCheckpoints.ggmlQ4_0), "q4norm.gguf")
        let out = dir.appendingPathComponent("o.ingot").path
        let r = try runIngot(["build", gguf, "-o", out])
        XCTAssertEqual(r.status, 69)
        XCTAssertEqual(r.stderr, "ingot: error: \(gguf): not a LLaMA checkpoint Ingot can import: quantized type where a norm weight or bias is expected (F32, F16, BF16 or F64): blk.0.attn_norm.weight: Q4_0\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
    }

    func testVocabularyLongerThanTheEmbeddingTableIsRefusedAtBuild() throws {
        let gguf = try write(TinyCheckpoints.llamaGGUF(tokens: ["a", "b", "c", "d", "e"], vocabSize: 4), "long.gguf")
        let out = dir.appendingPathComponent("o.ingot").path
        let r = try runIngot(["build", gguf, "-o", out])
        XCTAssertEqual(r.status, 65)
        XCTAssertEqual(r.stderr, "ingot: error: \(gguf): tokenizer.ggml.tokens: 5 tokens, expected at most the 4 rows of the embedding table token_embd.weight [4, 32] (a token id past the table has no embedding)\n")
        let bert = dir.appendingPathComponent("bert")
        try FileManager.default.createDirectory(at: bert, withIntermediateDirectories: true)
        try TinyCheckpoints.bert(in: bert, vocab: TinyCheckpoints.bertVocabulary(11))
        let b = try runIngot(["build", bert.path, "-o", out])
        XCTAssertEqual(b.status, 65)
        XCTAssertEqual(b.stderr, "ingot: error: \(bert.path)/vocab.txt: 11 tokens, expected at most the 10 rows of the embedding table embeddings.word_embeddings.weight [10, 8] (a token id past the table has no embedding)\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
    }

    /// Issue 14: TIDX's or GRPH's decoded_size set to 2³⁰ with the digest and header checksum
    /// recomputed allocated 1 GB before the error; now the section table itself is refused.
    func testSectionTableClaimingAGigabyteSectionExits65() throws {
        let bert = dir.appendingPathComponent("bert")
        try FileManager.default.createDirectory(at: bert, withIntermediateDirectories: true)
        try TinyCheckpoints.bert(in: bert, vocab: TinyCheckpoints.bertVocabulary(10))
        let artifact = dir.appendingPathComponent("tiny.ingot").path
        let build = try runIngot(["build", bert.path, "-o", artifact, "-q"])
        XCTAssertEqual(build.status, 0, build.stderr)
        let original = [UInt8](try Data(contentsOf: URL(fileURLWithPath: artifact)))
        func u64(_ bytes: [UInt8], _ at: Int) -> UInt64 { bytes[at..<at + 8].withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) } }
        func put(_ v: UInt64, _ at: Int, _ bytes: inout [UInt8]) { withUnsafeBytes(of: v.littleEndian) { for i in 0..<8 { bytes[at + i] = $0[i] } } }
        let table = Int(u64(original, 24))
        for kind in ["TIDX", "GRPH"] {
            var bytes = original
            let entry = try XCTUnwrap(stride(from: table, to: bytes.count, by: 56).first { bytes[$0..<$0 + 4].elementsEqual(kind.utf8) })
            put(1 << 30, entry + 32, &bytes)
            put(bytes.withUnsafeBytes { XXH64.hash(UnsafeRawBufferPointer(rebasing: $0[64...])) }, 40, &bytes)
            put(bytes.withUnsafeBytes { XXH64.hash(UnsafeRawBufferPointer(rebasing: $0[0..<56])) }, 56, &bytes)
            let hostile = try write(bytes, "\(kind).ingot")
            let message = "\(hostile): section \(kind).decoded_size: value 1073741824, expected at most 67108864 (the largest section other than TDAT)\n"
            for args in [["inspect", hostile], ["inspect", hostile, "--verify"], ["run", hostile, "--text", "hi"]] {
                let r = try runIngot(args)
                XCTAssertEqual(r.status, 65, args.joined(separator: " "))
                XCTAssertEqual(r.stderr, "ingot: error: " + message, args.joined(separator: " "))
            }
            let lean = try runBuiltProduct("ingot-run", [hostile, "--text", "hi"])
            XCTAssertEqual(lean.status, 65)
            XCTAssertEqual(lean.stderr, "ingot-run: error: " + message)
        }
    }

    /// Issue 16: a pickle naming a forbidden global is refused (exit 65) naming it, whether the
    /// .bin is named directly or is a folder's pytorch_model.bin; nothing is built.
    func testPickleWithForbiddenGlobalExits65NamingIt() throws {
        let hostile = PyTorchFixtures.root.appendingPathComponent("hostile/os-system.bin").path
        let inspect = try runIngot(["inspect", hostile])
        XCTAssertEqual(inspect.status, 65)
        XCTAssertTrue(inspect.stderr.hasPrefix("ingot: error: \(hostile): os-system/data.pkl: opcode GLOBAL at offset "), inspect.stderr)
        XCTAssertTrue(inspect.stderr.contains("global posix.system is not allowed"), inspect.stderr)
        let bert = dir.appendingPathComponent("bert")
        try FileManager.default.createDirectory(at: bert, withIntermediateDirectories: true)
        try TinyCheckpoints.bert(in: bert, vocab: TinyCheckpoints.bertVocabulary(10))
        try FileManager.default.removeItem(at: bert.appendingPathComponent("model.safetensors"))
        try FileManager.default.copyItem(at: URL(fileURLWithPath: PyTorchFixtures.root.appendingPathComponent("hostile/os-system-legacy.bin").path),
                                         to: bert.appendingPathComponent("pytorch_model.bin"))
        let out = dir.appendingPathComponent("o.ingot").path
        let build = try runIngot(["build", bert.path, "-o", out])
        XCTAssertEqual(build.status, 65)
        XCTAssertTrue(build.stderr.contains("\(bert.path)/pytorch_model.bin: legacy pickle 4 (state dict): opcode GLOBAL at offset "), build.stderr)
        XCTAssertTrue(build.stderr.contains("global posix.system is not allowed"), build.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
    }

    /// A BERT folder holding only pytorch_model.bin builds (it failed with exit 66 before).
    func testBertFolderWithOnlyPytorchModelBinBuilds() throws {
        let bert = dir.appendingPathComponent("bert")
        try FileManager.default.createDirectory(at: bert, withIntermediateDirectories: true)
        try TinyCheckpoints.bert(in: bert, vocab: TinyCheckpoints.bertVocabulary(10))
        try FileManager.default.removeItem(at: bert.appendingPathComponent("model.safetensors"))
        try PyTorchWriter.write(TinyCheckpoints.bertTensors(), to: bert.appendingPathComponent("pytorch_model.bin"), layout: .zip)
        let out = dir.appendingPathComponent("o.ingot").path
        let build = try runIngot(["build", bert.path, "-o", out, "-q"])
        XCTAssertEqual(build.status, 0, build.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: out))
        let inspect = try runIngot(["inspect", bert.appendingPathComponent("pytorch_model.bin").path])
        XCTAssertEqual(inspect.status, 0, inspect.stderr)
        XCTAssertTrue(inspect.stdout.contains(": pytorch-zip, "), inspect.stdout)
        XCTAssertTrue(inspect.stdout.contains("parameters: 840 in 21 tensors"), inspect.stdout)
    }
}
