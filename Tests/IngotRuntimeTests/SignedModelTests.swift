// The Swift API's side of signatures: Model(path:trust:) refuses an unsigned or wrongly signed
// artifact when a key is trusted (given, or named by INGOT_TRUSTED_KEY), loads a signed one
// unchanged, and `.unchecked` ignores the environment.
import Foundation
import XCTest
import IngotArtifact
import IngotCore
import IngotRuntime
import IngotTestSupport

final class SignedModelTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws { dir = try TempDirectory.make("signed-model") }
    override func tearDownWithError() throws {
        unsetenv(ArtifactTrust.environmentVariable)
        try? FileManager.default.removeItem(at: dir)
    }

    func testModelLoadingHonoursTheTrustedKey() throws {
        let unsigned = try BuiltArtifacts.miniLM()
        let a = try SigningKey(seed: [UInt8](repeating: 0xA, count: 32))
        let b = try SigningKey(seed: [UInt8](repeating: 0xB, count: 32))
        let signed = dir.appendingPathComponent("signed.ingot").path
        try ArtifactSigner.sign(unsigned, key: a, output: signed)

        let model = try Model(path: signed, trust: .key(a.publicKey))
        XCTAssertEqual(model.verifiedSigner, a.publicKey)
        let reference = try Model(path: unsigned, trust: .unchecked)
        XCTAssertNil(reference.verifiedSigner)
        XCTAssertEqual(try Encoder(model: model).embed(["signed weights"]), try Encoder(model: reference).embed(["signed weights"]))

        XCTAssertThrowsError(try Model(path: unsigned, trust: .key(a.publicKey))) { error in
            XCTAssertEqual((error as? IngotError)?.kind, .signature)
            XCTAssertEqual((error as? IngotError)?.location, "section SIGN")
        }
        XCTAssertThrowsError(try Model(path: signed, trust: .key(b.publicKey))) { error in
            XCTAssertEqual((error as? IngotError)?.location, "section SIGN.public_key")
        }

        let publicFile = try a.writeFiles(base: dir.appendingPathComponent("a").path).public
        setenv(ArtifactTrust.environmentVariable, publicFile, 1)
        XCTAssertThrowsError(try Model(path: unsigned)) { error in
            XCTAssertEqual((error as? IngotError)?.kind, .signature)
        }
        XCTAssertEqual(try Model(path: signed).verifiedSigner, a.publicKey)
        XCTAssertNil(try Model(path: unsigned, trust: .unchecked).verifiedSigner, "an explicit .unchecked ignores the environment")
    }
}
