// `ingot keygen`, `ingot sign`, `ingot verify`: Ed25519 keys and artifact signatures
// (Formats/ingot-v1.md, "Signature", "Key files"), and the `--trusted-key` option of the
// commands that load a model. The work is IngotArtifact's; these only parse and print.

import ArgumentParser
import IngotArtifact
import IngotCore

/// `--trusted-key`, for commands that load a model.
struct TrustOptions: ParsableArguments {
    @Option(name: .customLong("trusted-key"),
            help: ArgumentHelp("Refuse the artifact unless this public key signed it (default: the file INGOT_TRUSTED_KEY names, when set).",
                               valueName: "file"))
    var trustedKey: String?

    /// The flag when given, else the environment.
    func trust() throws -> ArtifactTrust { try ArtifactTrust.flag(trustedKey) }
}

struct KeygenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Create an Ed25519 signing key pair: NAME.key (secret, mode 0600) and NAME.pub.",
        discussion: "Never replaces an existing file.")

    @Option(help: ArgumentHelp("The key pair's path without extension.", valueName: "name"))
    var out: String

    @OptionGroup var global: GlobalOptions

    func run() throws {
        let (secret, pub, id) = try reportingErrors { () throws -> (String, String, String) in
            let key = try SigningKey.generate()
            let paths = try key.writeFiles(base: out)
            return (paths.secret, paths.public, key.publicKey.keyID)
        }
        if !global.quiet { print("wrote \(secret) (secret, mode 0600) and \(pub): key \(id)") }
    }
}

struct SignCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sign",
        abstract: "Sign an artifact in place (replacing any signature it has).",
        discussion: "The artifact is checked in full first; a corrupt one is refused. The file is replaced whole (temporary file, fsync, rename).")

    @Argument(help: "The .ingot artifact.")
    var artifact: String

    @Option(help: ArgumentHelp("The secret key file (from ingot keygen).", valueName: "file"))
    var key: String

    @OptionGroup var global: GlobalOptions

    func run() throws {
        ArtifactWriter.removeTemporaryFilesOnInterrupt()
        let info = try reportingErrors { () throws -> ArtifactSignatureInfo in
            let signingKey = try SigningKey.read(from: key)
            return try ArtifactSigner.sign(artifact, key: signingKey)
        }
        if !global.quiet {
            print("signed \(artifact): key \(info.publicKey?.keyID ?? "?"), \(info.coveredSections.count) sections covered")
        }
    }
}

struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check an artifact's signature against a trusted public key, and every checksum.",
        discussion: "Exit 0 when the key signed the artifact as it is; 65 when it is unsigned, signed by another key or changed after signing; 69 for a signature version this ingot cannot check.")

    @Argument(help: "The .ingot artifact.")
    var artifact: String

    @Option(help: ArgumentHelp("The trusted public key file (.pub).", valueName: "file"))
    var key: String

    @OptionGroup var global: GlobalOptions

    func run() throws {
        let info = try reportingErrors { () throws -> ArtifactSignatureInfo in
            let trusted = try SigningPublicKey.read(from: key)
            let reader = try ArtifactReader(path: artifact)
            let info = try reader.verifySignature(trustedKey: trusted)
            try reader.verifyAll()
            return info
        }
        if !global.quiet {
            let kinds = info.coveredSections.map(\.description).joined(separator: ", ")
            print("\(artifact): signed by key \(info.publicKey?.keyID ?? "?"), valid (\(kinds))")
        }
    }
}
