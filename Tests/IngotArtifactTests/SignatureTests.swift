// Artifact signatures (Formats/ingot-v1.md, "Signature", "Key files"): libsodium against the
// RFC 8032 and BLAKE2b answers, key files, sign/verify round trips, determinism, and forgeries
// with every XXH64 field recomputed (ArtifactBytes): stripped, re-signed by another key, edited
// after signing, a changed table entry or header, unsigned padding, an unknown version.
import Foundation
import XCTest
import IngotCore
import IngotTestSupport
@testable import IngotArtifact

func hexBytes(_ s: String) -> [UInt8] {
    let digits = Array(s.utf8)
    return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(decoding: digits[$0..<($0 + 2)], as: UTF8.self), radix: 16)! }
}

/// A fixed key: the seed is `byte` repeated.
func testKey(_ byte: UInt8) throws -> SigningKey { try SigningKey(seed: [UInt8](repeating: byte, count: 32)) }

/// The sample tensors with a raw PROV section (editable in place) and a compressed META.
@discardableResult
func writeSignedSample(_ path: String, key: SigningKey?, tensors: [SampleTensor] = sampleTensors()) throws -> ArtifactSummary {
    var options = ArtifactWriteOptions()
    options.signingKey = key
    let w = try ArtifactWriter(path: path, options: options)
    for t in tensors {
        try t.bytes.withUnsafeBytes { try w.addTensor(name: t.name, dtype: t.dtype, shape: t.shape, bytes: $0) }
    }
    try w.addSection(.graph, payload: Array("graph payload".utf8), required: true)
    try w.addSection(.provenance, payload: Array(#"{"toolchain": "ingot test", "sources": []}"#.utf8), required: false, compress: false)
    try w.addSection(.metadata, payload: Array(String(repeating: "{\"k\": 1}", count: 50).utf8), required: false)
    return try w.commit()
}

func fileBytes(_ path: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) }

/// The error `body` throws, as an IngotError (fails the test when it throws nothing or something else).
func ingotError(_ body: () throws -> Void, file: StaticString = #filePath, line: UInt = #line) -> IngotError? {
    do {
        try body()
        XCTFail("no error thrown", file: file, line: line)
    } catch let e as IngotError {
        return e
    } catch {
        XCTFail("not an IngotError: \(error)", file: file, line: line)
    }
    return nil
}

final class SigningPrimitiveTests: XCTestCase {
    /// RFC 8032 section 7.1, tests 1 and 2.
    func testEd25519MatchesRFC8032() throws {
        let vectors: [(seed: String, publicKey: String, message: String, signature: String)] = [
            ("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
             "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
             "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"),
            ("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
             "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
             "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"),
        ]
        for v in vectors {
            let key = try SigningKey(seed: hexBytes(v.seed))
            XCTAssertEqual(key.publicKey.bytes, hexBytes(v.publicKey))
            XCTAssertEqual(key.publicKey.keyID, String(v.publicKey.prefix(16)))
            let signature = key.sign(hexBytes(v.message))
            XCTAssertEqual(signature, hexBytes(v.signature))
            XCTAssertTrue(try key.publicKey.isValidSignature(signature, of: hexBytes(v.message)))
            XCTAssertFalse(try key.publicKey.isValidSignature(signature, of: hexBytes(v.message) + [0]))
        }
    }

    func testBlake2b256KnownAnswersAndPieces() throws {
        XCTAssertEqual(hexString(try Blake2b256.hash([UInt8]())), "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8")
        XCTAssertEqual(hexString(try Blake2b256.hash(Array("abc".utf8))), "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319")
        let data = (0..<1000).map { UInt8(truncatingIfNeeded: $0 * 7) }
        let h = try Blake2b256()
        data[0..<333].withUnsafeBytes { h.update($0) }
        data[333...].withUnsafeBytes { h.update($0) }
        XCTAssertEqual(h.finalize(), try Blake2b256.hash(data))
    }
}

final class SigningKeyFileTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws { dir = try TempDirectory.make("keys") }
    override func tearDownWithError() throws {
        unsetenv(ArtifactTrust.environmentVariable)
        try? FileManager.default.removeItem(at: dir)
    }

    func testKeyFilesRoundTripWithTheSecretAt0600() throws {
        let key = try testKey(0xA1)
        let base = dir.appendingPathComponent("dev").path
        let paths = try key.writeFiles(base: base)
        XCTAssertEqual(paths.secret, base + ".key")
        XCTAssertEqual(paths.public, base + ".pub")
        XCTAssertEqual(try String(contentsOfFile: paths.secret, encoding: .utf8),
                       "ingot-ed25519-secret-v1 " + String(repeating: "a1", count: 32) + "\n")
        XCTAssertEqual(try String(contentsOfFile: paths.public, encoding: .utf8),
                       "ingot-ed25519-public-v1 " + hexString(key.publicKey.bytes) + "\n")
        let mode = try FileManager.default.attributesOfItem(atPath: paths.secret)[.posixPermissions] as? Int
        XCTAssertEqual(mode, 0o600)
        XCTAssertEqual(try SigningKey.read(from: paths.secret).publicKey, key.publicKey)
        XCTAssertEqual(try SigningPublicKey.read(from: paths.public), key.publicKey)
    }

    func testAKeyFileIsNeverReplaced() throws {
        let base = dir.appendingPathComponent("dev").path
        try testKey(1).writeFiles(base: base)
        let before = try fileBytes(base + ".key")
        let e = ingotError { try testKey(2).writeFiles(base: base) }
        XCTAssertEqual(e?.kind, .output)
        XCTAssertEqual(e?.description, "\(base).key: exists; a key file is never replaced (choose another name or remove it)")
        XCTAssertEqual(try fileBytes(base + ".key"), before)

        // Only the .pub exists: nothing is written, not even the .key.
        let other = dir.appendingPathComponent("other").path
        try Data("x".utf8).write(to: URL(fileURLWithPath: other + ".pub"))
        XCTAssertEqual(ingotError { try testKey(3).writeFiles(base: other) }?.file, other + ".pub")
        XCTAssertFalse(FileManager.default.fileExists(atPath: other + ".key"))
    }

    func testMalformedKeyFilesAreNamed() throws {
        let key = try testKey(7)
        let hex = hexString(key.publicKey.bytes)
        func publicKey(_ text: String) -> IngotError? {
            let path = dir.appendingPathComponent("k.pub").path
            _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
            return ingotError { _ = try SigningPublicKey.read(from: path) }
        }
        let path = dir.appendingPathComponent("k.pub").path
        XCTAssertEqual(publicKey("ingot-ed25519-public-v1 " + hex.dropLast() + "\n")?.description,
                       "\(path): 63 characters after 'ingot-ed25519-public-v1 ', expected 64 hex digits and nothing else")
        XCTAssertEqual(publicKey("ingot-ed25519-public-v1 " + hex + "\n\n")?.description,
                       "\(path): 65 characters after 'ingot-ed25519-public-v1 ', expected 64 hex digits and nothing else")
        XCTAssertEqual(publicKey("ingot-ed25519-public-v1 zz" + hex.dropFirst(2))?.description,
                       "\(path): character 25 of the line is not a hex digit, expected one line 'ingot-ed25519-public-v1 <64 hex digits>'")
        XCTAssertEqual(publicKey(hex)?.description,
                       "\(path): does not start with 'ingot-ed25519-public-v1 ', expected one line 'ingot-ed25519-public-v1 <64 hex digits>'")
        let swapped = publicKey("ingot-ed25519-secret-v1 " + hex + "\n")
        XCTAssertEqual(swapped?.kind, .invalidArgument)
        XCTAssertEqual(swapped?.message, "holds a secret key (ingot-ed25519-secret-v1), expected the public key file (.pub)")
        // Upper-case hex and no final LF read the same key.
        _ = FileManager.default.createFile(atPath: path, contents: Data(("ingot-ed25519-public-v1 " + hex.uppercased()).utf8))
        XCTAssertEqual(try SigningPublicKey.read(from: path), key.publicKey)

        _ = FileManager.default.createFile(atPath: path, contents: Data(key.publicKey.fileText.utf8))
        XCTAssertEqual(ingotError { _ = try SigningKey.read(from: path) }?.message,
                       "holds a public key (ingot-ed25519-public-v1), expected the secret key file (.key)")
    }

    /// `--trusted-key` wins over INGOT_TRUSTED_KEY; set but empty is an error, not "no key".
    func testTrustPrecedence() throws {
        let a = try testKey(0xA), b = try testKey(0xB)
        let aPath = try a.writeFiles(base: dir.appendingPathComponent("a").path).public
        let bPath = try b.writeFiles(base: dir.appendingPathComponent("b").path).public
        unsetenv(ArtifactTrust.environmentVariable)
        XCTAssertNil(try ArtifactTrust.environment.trustedKey())
        XCTAssertNil(try ArtifactTrust.flag(nil).trustedKey())
        setenv(ArtifactTrust.environmentVariable, bPath, 1)
        XCTAssertEqual(try ArtifactTrust.flag(nil).trustedKey(), b.publicKey)
        XCTAssertEqual(try ArtifactTrust.flag(aPath).trustedKey(), a.publicKey)
        XCTAssertNil(try ArtifactTrust.unchecked.trustedKey())
        setenv(ArtifactTrust.environmentVariable, "", 1)
        let e = ingotError { _ = try ArtifactTrust.environment.trustedKey() }
        XCTAssertEqual(e?.kind, .invalidArgument)
        XCTAssertEqual(e?.description, "INGOT_TRUSTED_KEY: set but empty, expected the path of a public key file (ingot-ed25519-public-v1)")
    }
}

final class ArtifactSignatureTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws { dir = try TempDirectory.make("signed") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    func testSignedArtifactVerifiesAndReadsAsUnsigned() throws {
        let a = try testKey(0xA)
        let summary = try writeSignedSample(path("s.ingot"), key: a)
        XCTAssertEqual(summary.signerKeyID, a.publicKey.keyID)
        let r = try ArtifactReader(path: path("s.ingot"), verify: .full)
        XCTAssertEqual(r.formatVersion.major, 1)
        XCTAssertEqual(r.formatVersion.minor, 2)
        XCTAssertEqual(r.sections.map(\.kind.description), ["TDAT", "TIDX", "GRPH", "PROV", "META", "SIGN"])
        let sign = try XCTUnwrap(r.sections.last)
        XCTAssertFalse(sign.required, "optional: a reader without a key (or a 1.0 reader) skips it")
        XCTAssertEqual(sign.codec, .raw)
        XCTAssertEqual(sign.storedSize, 104 + 32 * 5)
        let info = try r.verifySignature(trustedKey: a.publicKey)
        XCTAssertEqual(info.publicKey, a.publicKey)
        XCTAssertEqual(info.coveredSections.map(\.description), ["TDAT", "TIDX", "GRPH", "PROV", "META"])
        XCTAssertEqual(try r.unverifiedSignature()?.publicKey, a.publicKey)
        for t in sampleTensors() { XCTAssertTrue(try r.tensor(t.name).byteArray == t.bytes, t.name) }
        try writeSignedSample(path("u.ingot"), key: nil)
        XCTAssertNil(try ArtifactReader(path: path("u.ingot")).unverifiedSignature())
    }

    func testSigningIsDeterministicWhicheverWayItIsDone() throws {
        let a = try testKey(0xA), b = try testKey(0xB)
        try writeSignedSample(path("one.ingot"), key: a)
        try writeSignedSample(path("two.ingot"), key: a)
        let signed = try fileBytes(path("one.ingot"))
        XCTAssertEqual(try fileBytes(path("two.ingot")), signed, "same key, same artifact: same bytes")

        try writeSignedSample(path("u.ingot"), key: nil)
        try ArtifactSigner.sign(path("u.ingot"), key: a, output: path("later.ingot"))
        XCTAssertEqual(try fileBytes(path("later.ingot")), signed, "signing an unsigned build = signing while building")

        try ArtifactSigner.sign(path("one.ingot"), key: a)
        XCTAssertEqual(try fileBytes(path("one.ingot")), signed, "re-signing with the same key changes nothing")
        try ArtifactSigner.sign(path("one.ingot"), key: b)
        XCTAssertNotEqual(try fileBytes(path("one.ingot")), signed)
        try ArtifactSigner.sign(path("one.ingot"), key: a)
        XCTAssertEqual(try fileBytes(path("one.ingot")), signed, "the old signature is dropped, not kept")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted(),
                       ["later.ingot", "one.ingot", "two.ingot", "u.ingot"], "no temporary file left")
    }

    func testUnsignedAndStrippedArtifactsAreRefusedOnlyWhenAKeyIsTrusted() throws {
        let a = try testKey(0xA)
        try writeSignedSample(path("u.ingot"), key: nil)
        try writeSignedSample(path("s.ingot"), key: a)
        var stripped = try ArtifactBytes(contentsOf: path("s.ingot"))
        stripped.removeLastSection()
        try stripped.write(to: path("stripped.ingot"))
        XCTAssertEqual(stripped.bytes, try fileBytes(path("u.ingot")), "stripping SIGN gives back the unsigned file")
        for name in ["u.ingot", "stripped.ingot"] {
            let r = try ArtifactReader(path: path(name), verify: .full)
            let e = ingotError { try r.verifySignature(trustedKey: a.publicKey) }
            XCTAssertEqual(e?.kind, .signature)
            XCTAssertEqual(e?.description, "\(path(name)): section SIGN: missing: the artifact is unsigned, and the trusted key \(a.publicKey.keyID) requires its signature")
        }
    }

    func testAnotherKeyIsRefusedNamingBoth() throws {
        let a = try testKey(0xA), b = try testKey(0xB)
        try writeSignedSample(path("s.ingot"), key: b)
        let e = ingotError { try ArtifactReader(path: path("s.ingot")).verifySignature(trustedKey: a.publicKey) }
        XCTAssertEqual(e?.kind, .signature)
        XCTAssertEqual(e?.location, "section SIGN.public_key")
        XCTAssertEqual(e?.message, "signed by key \(b.publicKey.keyID), expected the trusted key \(a.publicKey.keyID)")
    }

    /// A tensor byte changed, written again so every XXH64 and the digest agree, and signed by
    /// the forger's own key.
    func testEditedTensorResignedWithAnotherKeyIsRefused() throws {
        let a = try testKey(0xA), forger = try testKey(0xF)
        try writeSignedSample(path("s.ingot"), key: a)
        var tensors = sampleTensors()
        tensors[0].bytes[100] ^= 1
        try writeSignedSample(path("forged.ingot"), key: forger, tensors: tensors)
        let r = try ArtifactReader(path: path("forged.ingot"), verify: .full)
        XCTAssertNoThrow(try r.verifySignature(trustedKey: forger.publicKey), "consistent in itself")
        let e = ingotError { try r.verifySignature(trustedKey: a.publicKey) }
        XCTAssertEqual(e?.location, "section SIGN.public_key")
        XCTAssertEqual(e?.message, "signed by key \(forger.publicKey.keyID), expected the trusted key \(a.publicKey.keyID)")
    }

    func testEditAfterSigningIsRefusedNamingTheSection() throws {
        let a = try testKey(0xA)
        try writeSignedSample(path("s.ingot"), key: a)
        let original = try ArtifactBytes(contentsOf: path("s.ingot"))

        // PROV (raw) edited in place: "ingot test" → "ingot Test", checksums recomputed.
        var prov = original
        let range = try XCTUnwrap(prov.section("PROV"))
        let at = try XCTUnwrap(range.first { prov.bytes[$0] == UInt8(ascii: "t") && prov.bytes[$0 - 1] == UInt8(ascii: " ") })
        prov.bytes[at] = UInt8(ascii: "T")
        prov.recomputeChecksums()
        try prov.write(to: path("prov.ingot"))
        let r = try ArtifactReader(path: path("prov.ingot"), verify: .full)
        let e = ingotError { try r.verifySignature(trustedKey: a.publicKey) }
        XCTAssertEqual(e?.kind, .signature)
        XCTAssertEqual(e?.location, "section PROV")
        XCTAssertTrue(e?.message.hasPrefix("BLAKE2b-256 ") == true && e?.message.hasSuffix(" (changed after signing)") == true, e?.message ?? "")

        // A tensor byte edited, the artifact written again (every XXH64 right, the tensor's in
        // TIDX too), and the original SIGN section put back after it.
        var tensors = sampleTensors()
        tensors[0].bytes[100] ^= 1
        try writeSignedSample(path("edited.ingot"), key: nil, tensors: tensors)
        var forged = try ArtifactBytes(contentsOf: path("edited.ingot"))
        let sign = try XCTUnwrap(original.section("SIGN"))
        forged.appendSection("SIGN", payload: Array(original.bytes[sign]))
        try forged.write(to: path("forged.ingot"))
        let f = try ArtifactReader(path: path("forged.ingot"), verify: .full)
        let tdat = ingotError { try f.verifySignature(trustedKey: a.publicKey) }
        XCTAssertEqual(tdat?.kind, .signature)
        XCTAssertEqual(tdat?.location, "section TDAT")
    }

    func testChangedTableEntryOrHeaderBreaksTheSignature() throws {
        let a = try testKey(0xA)
        try writeSignedSample(path("s.ingot"), key: a)
        let original = try ArtifactBytes(contentsOf: path("s.ingot"))
        var required = original
        let meta = try XCTUnwrap(required.entryIndex("META"))
        required.setU32(1, at: required.entryOffset(meta) + 4)
        var older = original
        older.bytes[10] = 0
        for (name, var edited) in [("required", required), ("minor", older)] {
            edited.recomputeChecksums()
            try edited.write(to: path(name + ".ingot"))
            let r = try ArtifactReader(path: path(name + ".ingot"), verify: .full)
            let e = ingotError { try r.verifySignature(trustedKey: a.publicKey) }
            XCTAssertEqual(e?.kind, .signature, name)
            XCTAssertEqual(e?.location, "section SIGN.signature", name)
            XCTAssertEqual(e?.message, "does not verify with key \(a.publicKey.keyID): the header or the section table changed after signing", name)
        }
    }

    func testNonZeroPaddingIsRefused() throws {
        let a = try testKey(0xA)
        try writeSignedSample(path("s.ingot"), key: a)
        var edited = try ArtifactBytes(contentsOf: path("s.ingot"))
        let tidx = try XCTUnwrap(edited.section("TIDX")), graph = try XCTUnwrap(edited.section("GRPH"))
        XCTAssertLessThan(tidx.upperBound, graph.lowerBound, "a gap to put a byte in")
        edited.bytes[tidx.upperBound] = 0x42
        edited.recomputeChecksums()
        try edited.write(to: path("padded.ingot"))
        let e = ingotError { try ArtifactReader(path: path("padded.ingot"), verify: .full).verifySignature(trustedKey: a.publicKey) }
        XCTAssertEqual(e?.kind, .signature)
        XCTAssertEqual(e?.location, "padding \(tidx.upperBound)..<\(graph.lowerBound)")
        XCTAssertEqual(e?.message, "byte \(tidx.upperBound) is 66, expected 0 (bytes outside every section are not signed)")
    }

    func testUnknownSignatureVersionIsUnsupportedWithAKeyAndSkippedWithout() throws {
        let a = try testKey(0xA)
        try writeSignedSample(path("s.ingot"), key: a)
        var edited = try ArtifactBytes(contentsOf: path("s.ingot"))
        edited.bytes[try XCTUnwrap(edited.section("SIGN")).lowerBound] = 2
        edited.recomputeChecksums()
        try edited.write(to: path("v2.ingot"))
        let r = try ArtifactReader(path: path("v2.ingot"), verify: .full)
        let claimed = try XCTUnwrap(try r.unverifiedSignature())
        XCTAssertEqual(claimed.version, 2)
        XCTAssertNil(claimed.publicKey)
        let e = ingotError { try r.verifySignature(trustedKey: a.publicKey) }
        XCTAssertEqual(e?.kind, .unsupported)
        XCTAssertEqual(e?.location, "section SIGN.version")
        XCTAssertEqual(e?.message, "value 2, expected 1; this reader cannot check that signature (upgrade ingot)")
    }

    func testSigningRefusesACorruptArtifactAndLeavesItAsItWas() throws {
        try writeSignedSample(path("u.ingot"), key: nil)
        var bytes = try fileBytes(path("u.ingot"))
        bytes[64 + 100] ^= 1
        try Data(bytes).write(to: URL(fileURLWithPath: path("u.ingot")))
        let e = ingotError { try ArtifactSigner.sign(path("u.ingot"), key: try testKey(0xA)) }
        XCTAssertEqual(e?.kind, .checksum)
        XCTAssertEqual(try fileBytes(path("u.ingot")), bytes)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["u.ingot"])
    }

    func testTheWriterAloneWritesSIGN() throws {
        let w = try ArtifactWriter(path: path("x.ingot"))
        let e = ingotError { try w.addSection(.signature, payload: [1, 2, 3], required: false) }
        XCTAssertEqual(e?.kind, .invalidArgument)
        XCTAssertEqual(e?.location, "section SIGN")
        w.abort()
    }
}
