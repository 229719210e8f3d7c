// MiniLM from a pytorch_model.bin (written by the test writer from the safetensors, in torch's
// zip and legacy layouts; the real MiniLM .bin is ~90 MB): the artifact holds the same tensor
// bytes and gives identical embeddings to the safetensors build.
import Foundation
import XCTest
import IngotArtifact
import IngotCheckpoint
import IngotCompiler
import IngotCore
import IngotTestSupport
@testable import IngotRuntime

final class PyTorchMiniLMTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws { dir = try TempDirectory.make("pt-minilm") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func testMiniLMFromBinMatchesTheSafetensorsBuild() throws {
        let source = try requireModel(TestPaths.miniLMDir)
        let referencePath = try BuiltArtifacts.miniLM()
        let reference = try ArtifactReader(path: referencePath)
        let checkpoint = try SafetensorsCheckpoint(path: source.path)
        let tensors = try checkpoint.tensorNames.map { name in
            let info = checkpoint.tensor(named: name)!
            return TestTensor(name: name, dtype: info.dtype.description.uppercased(), shape: info.shape, bytes: try checkpoint.buffer(name).byteArray)
        }
        let rows = try readJSONL(try referenceFile("minilm/dev/tokens.jsonl"))
        let ids: [[Int32]] = rows.prefix(24).map { row in (row["input_ids"]?.array ?? []).map { Int32($0.int!) } }
        let expected = try Encoder(model: try Model(path: referencePath)).embed(ids: ids)

        for layout in [PyTorchWriter.Layout.zip, .legacy] {
            let folder = dir.appendingPathComponent("\(layout)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            for item in try FileManager.default.contentsOfDirectory(atPath: source.path) where item != "model.safetensors" {
                try FileManager.default.createSymbolicLink(at: folder.appendingPathComponent(item), withDestinationURL: source.appendingPathComponent(item))
            }
            try PyTorchWriter.write(tensors, to: folder.appendingPathComponent("pytorch_model.bin"), layout: layout)
            let out = dir.appendingPathComponent("\(layout).ingot").path
            _ = try ArtifactBuilder.build(source: folder.path, output: out)
            let built = try ArtifactReader(path: out, verify: .full)
            XCTAssertEqual(built.tensors.map(\.name), reference.tensors.map(\.name), "\(layout)")
            for t in reference.tensors {
                XCTAssertTrue(try built.tensor(t.name).byteArray == reference.tensor(t.name).byteArray, "\(layout) \(t.name)")
            }
            let embeddings = try Encoder(model: try Model(path: out)).embed(ids: ids)
            XCTAssertEqual(embeddings, expected, "\(layout): embeddings identical to the safetensors build")
            try FileManager.default.removeItem(at: folder.appendingPathComponent("pytorch_model.bin"))
        }
    }
}
