// `ingot build` from a PyTorch .bin: the tiny BERT real torch saved (zip and legacy layouts,
// one weight stored transposed) builds the same weights as a safetensors file of the same
// tensors, and a folder with only pytorch_model.bin is accepted.
import Foundation
import XCTest
import IngotArtifact
import IngotCore
import IngotTestSupport
@testable import IngotCompiler

final class PyTorchBuildTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws { dir = try TempDirectory.make("pt-build") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    static let tinyBertConfig = """
        {"model_type": "bert", "hidden_size": 8, "num_attention_heads": 2, "num_hidden_layers": 1,
         "intermediate_size": 16, "vocab_size": 24, "max_position_embeddings": 16, "type_vocab_size": 2}
        """

    func folder(_ name: String) throws -> URL {
        let url = dir.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        try Self.tinyBertConfig.write(to: url.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        return url
    }

    func testTinyBertFromTorchBinBuildsTheSafetensorsWeights() throws {
        let st = try folder("safetensors")
        try SafetensorsWriter.write(try PyTorchFixtures.expectedTensors("tiny-bert"), to: st.appendingPathComponent("model.safetensors"))
        let stArtifact = dir.appendingPathComponent("st.ingot").path
        _ = try ArtifactBuilder.build(source: st.path, output: stArtifact)
        let expected = try ArtifactReader(path: stArtifact, verify: .full)
        XCTAssertEqual(expected.tensors.count, 21)
        for layout in ["zip", "legacy"] {
            let bin = try folder(layout)
            try FileManager.default.copyItem(at: PyTorchFixtures.root.appendingPathComponent("tiny-bert/\(layout)/pytorch_model.bin"),
                                             to: bin.appendingPathComponent("pytorch_model.bin"))
            let out = dir.appendingPathComponent("\(layout).ingot").path
            _ = try ArtifactBuilder.build(source: bin.path, output: out)
            let reader = try ArtifactReader(path: out, verify: .full)
            XCTAssertEqual(reader.tensors.map(\.name), expected.tensors.map(\.name), layout)
            for t in expected.tensors {
                XCTAssertEqual(try reader.tensor(t.name).byteArray, try expected.tensor(t.name).byteArray, "\(layout) \(t.name)")
            }
            let prov = try JSONValue.parse(try XCTUnwrap(try reader.payload(.provenance)))
            XCTAssertEqual(prov["sources"]?[0]?["file"]?.string, "pytorch_model.bin")
            // The .bin named directly builds too.
            _ = try ArtifactBuilder.build(source: bin.appendingPathComponent("pytorch_model.bin").path, output: out)
        }
    }

    /// With both files present the safetensors is read and the .bin never opened (here a
    /// hostile pickle that would be refused).
    func testSafetensorsIsPreferredOverABinBesideIt() throws {
        let both = try folder("both")
        try SafetensorsWriter.write(try PyTorchFixtures.expectedTensors("tiny-bert"), to: both.appendingPathComponent("model.safetensors"))
        try FileManager.default.copyItem(at: PyTorchFixtures.root.appendingPathComponent("hostile/os-system.bin"),
                                         to: both.appendingPathComponent("pytorch_model.bin"))
        let out = dir.appendingPathComponent("both.ingot").path
        _ = try ArtifactBuilder.build(source: both.path, output: out)
        let prov = try JSONValue.parse(try XCTUnwrap(try ArtifactReader(path: out).payload(.provenance)))
        XCTAssertEqual(prov["sources"]?[0]?["file"]?.string, "model.safetensors")
    }

    func testFolderWithNeitherSafetensorsNorBinNamesBoth() throws {
        let empty = try folder("empty")
        XCTAssertThrowsError(try ArtifactBuilder.build(source: empty.path, output: dir.appendingPathComponent("x.ingot").path)) { error in
            XCTAssertEqual((error as? IngotError)?.kind, .io)
            XCTAssertTrue("\(error)".contains("no model.safetensors, model.safetensors.index.json or pytorch_model.bin here"), "\(error)")
        }
    }

    func testInspectReadsABin() throws {
        let i = try Inspector.inspect(PyTorchFixtures.root.appendingPathComponent("tiny-bert/legacy/pytorch_model.bin").path)
        XCTAssertEqual(i.format, "pytorch-legacy")
        XCTAssertEqual(i.architecture, "bert")
        XCTAssertEqual(i.tensors.count, 22)
        XCTAssertEqual(i.tensors.first { $0.name == "encoder.layer.0.intermediate.dense.weight" }?.note, "strided [1, 16]")
    }
}
