// Signed artifacts from the command line: `ingot keygen`, `build --sign`, `sign`, `verify`,
// and `ingot run` / `ingot-run` with `--trusted-key` and INGOT_TRUSTED_KEY, on the real MiniLM:
// exact lines, exit codes, byte-identical signing either way, the flag winning over the
// environment, and a tensor byte changed after signing named by section.
import Foundation
import XCTest
import IngotCore
import IngotTestSupport

final class SigningCLITests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws { dir = try TempDirectory.make("signing") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    /// The key id `keygen` printed: the first 16 hex digits of the .pub file's key.
    func keyID(_ publicKeyFile: String) throws -> String {
        let text = try String(contentsOfFile: publicKeyFile, encoding: .utf8)
        XCTAssertTrue(text.hasPrefix("ingot-ed25519-public-v1 "), text)
        return String(text.dropFirst("ingot-ed25519-public-v1 ".count).prefix(16))
    }

    func testKeygenWritesAPairAndNeverReplacesIt() throws {
        let r = try runIngot(["keygen", "--out", path("dev")])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, "wrote \(path("dev")).key (secret, mode 0600) and \(path("dev")).pub: key \(try keyID(path("dev.pub")))\n")
        let mode = try FileManager.default.attributesOfItem(atPath: path("dev.key"))[.posixPermissions] as? Int
        XCTAssertEqual(mode, 0o600)
        let secret = try Data(contentsOf: URL(fileURLWithPath: path("dev.key")))
        let again = try runIngot(["keygen", "--out", path("dev")])
        XCTAssertEqual(again.status, 74)
        XCTAssertEqual(again.stderr, "ingot: error: \(path("dev")).key: exists; a key file is never replaced (choose another name or remove it)\n")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path("dev.key"))), secret)
    }

    func testSignedMiniLMVerifiesRunsAndIsRefusedOtherwise() throws {
        let model = try requireModel(TestPaths.miniLMDir)
        XCTAssertEqual(try runIngot(["keygen", "--out", path("a"), "-q"]).status, 0)
        XCTAssertEqual(try runIngot(["keygen", "--out", path("b"), "-q"]).status, 0)
        let a = try keyID(path("a.pub")), b = try keyID(path("b.pub"))
        let signed = path("signed.ingot"), plain = path("plain.ingot"), later = path("later.ingot")

        let build = try runIngot(["build", model.path, "-o", signed, "--sign", path("a.key")])
        XCTAssertEqual(build.status, 0, build.stderr)
        XCTAssertTrue(build.stdout.contains("\nsigned with key \(a)\n"), build.stdout)
        XCTAssertEqual(try runIngot(["build", model.path, "-o", plain, "-q"]).status, 0)
        try FileManager.default.copyItem(atPath: plain, toPath: later)
        let sign = try runIngot(["sign", later, "--key", path("a.key")])
        XCTAssertEqual(sign.status, 0, sign.stderr)
        XCTAssertEqual(sign.stdout, "signed \(later): key \(a), 6 sections covered\n")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: later)), try Data(contentsOf: URL(fileURLWithPath: signed)),
                       "ingot sign on an unsigned build = ingot build --sign")

        let verify = try runIngot(["verify", signed, "--key", path("a.pub")])
        XCTAssertEqual(verify.status, 0, verify.stderr)
        XCTAssertEqual(verify.stdout, "\(signed): signed by key \(a), valid (TDAT, TIDX, GRPH, TOKN, PROV, META)\n")
        let wrong = try runIngot(["verify", signed, "--key", path("b.pub")])
        XCTAssertEqual(wrong.status, 65)
        XCTAssertEqual(wrong.stderr, "ingot: error: \(signed): section SIGN.public_key: signed by key \(a), expected the trusted key \(b)\n")
        let unsigned = try runIngot(["verify", plain, "--key", path("a.pub")])
        XCTAssertEqual(unsigned.status, 65)
        XCTAssertEqual(unsigned.stderr, "ingot: error: \(plain): section SIGN: missing: the artifact is unsigned, and the trusted key \(a) requires its signature\n")

        let text = ["--text", "How do I deploy a model?"]
        let reference = try runIngot(["run", plain] + text)
        XCTAssertEqual(reference.status, 0, reference.stderr)
        let trusted = try runIngot(["run", signed, "--trusted-key", path("a.pub")] + text)
        XCTAssertEqual(trusted.status, 0, trusted.stderr)
        XCTAssertEqual(trusted.stdout, reference.stdout)
        let refused = try runIngot(["run", plain, "--trusted-key", path("a.pub")] + text)
        XCTAssertEqual(refused.status, 65)
        XCTAssertEqual(refused.stdout, "")
        let byEnvironment = try runIngot(["run", signed] + text, environment: ["INGOT_TRUSTED_KEY": path("b.pub")])
        XCTAssertEqual(byEnvironment.status, 65)
        XCTAssertEqual(byEnvironment.stderr, "ingot: error: \(signed): section SIGN.public_key: signed by key \(a), expected the trusted key \(b)\n")

        // The lean runner: INGOT_TRUSTED_KEY refuses the unsigned artifact, --trusted-key wins over it.
        let trustA = ["INGOT_TRUSTED_KEY": path("a.pub")], trustB = ["INGOT_TRUSTED_KEY": path("b.pub")]
        let leanUnsigned = try runBuiltProduct("ingot-run", [plain] + text, environment: trustA)
        XCTAssertEqual(leanUnsigned.status, 65)
        XCTAssertEqual(leanUnsigned.stdout, "")
        XCTAssertEqual(leanUnsigned.stderr, "ingot-run: error: \(plain): section SIGN: missing: the artifact is unsigned, and the trusted key \(a) requires its signature\n")
        let leanSigned = try runBuiltProduct("ingot-run", [signed] + text, environment: trustA)
        XCTAssertEqual(leanSigned.status, 0, leanSigned.stderr)
        XCTAssertEqual(leanSigned.stdout, reference.stdout)
        XCTAssertEqual(try runBuiltProduct("ingot-run", [signed] + text, environment: trustB).status, 65)
        let flagWins = try runBuiltProduct("ingot-run", [signed, "--trusted-key", path("a.pub")] + text, environment: trustB)
        XCTAssertEqual(flagWins.status, 0, flagWins.stderr)
        let empty = try runBuiltProduct("ingot-run", [signed] + text, environment: ["INGOT_TRUSTED_KEY": ""])
        XCTAssertEqual(empty.status, 64)
        XCTAssertEqual(empty.stderr, "ingot-run: error: INGOT_TRUSTED_KEY: set but empty, expected the path of a public key file (ingot-ed25519-public-v1)\n")
    }

    /// One byte of a weight changed after signing, with the TDAT checksums, the digest and the
    /// header checksum recomputed: `inspect --verify` can only see the stale tensor checksum,
    /// `verify` names TDAT.
    func testTensorByteChangedAfterSigningIsNamed() throws {
        let model = try requireModel(TestPaths.miniLMDir)
        XCTAssertEqual(try runIngot(["keygen", "--out", path("a"), "-q"]).status, 0)
        let signed = path("signed.ingot")
        XCTAssertEqual(try runIngot(["build", model.path, "-o", signed, "--sign", path("a.key"), "-q"]).status, 0)
        var bytes = try ArtifactBytes(contentsOf: signed)
        let tdat = try XCTUnwrap(bytes.section("TDAT"))
        bytes.bytes[tdat.lowerBound + tdat.count / 2] ^= 0x01
        bytes.recomputeChecksums()
        try bytes.write(to: signed)
        let r = try runIngot(["verify", signed, "--key", path("a.pub")])
        XCTAssertEqual(r.status, 65)
        XCTAssertTrue(r.stderr.hasPrefix("ingot: error: \(signed): section TDAT: BLAKE2b-256 "), r.stderr)
        XCTAssertTrue(r.stderr.hasSuffix(" (changed after signing)\n"), r.stderr)
        XCTAssertEqual(try runBuiltProduct("ingot-run", [signed, "--trusted-key", path("a.pub"), "--text", "x"]).status, 65)
    }
}
