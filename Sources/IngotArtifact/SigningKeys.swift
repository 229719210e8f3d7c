// Signing keys: Ed25519 key pairs (libsodium), their one-line text files (Formats/ingot-v1.md,
// "Key files") and the BLAKE2b-256 hash that artifact signatures cover. Foundation-free (the
// lean runner verifies signatures). It does not know the artifact layout: ArtifactSignature
// decides what is signed and verified.

import CSodium
import IngotCore

#if canImport(Glibc)
import Glibc
#endif

enum Sodium {
    /// sodium_init, once per process (libsodium makes it thread-safe and idempotent).
    private static let initialized: Bool = sodium_init() >= 0

    static func ready() throws {
        guard initialized else { throw IngotError(.internal, location: "libsodium", "sodium_init failed") }
    }
}

/// BLAKE2b with a 32-byte output and no key (libsodium crypto_generichash), fed in pieces.
final class Blake2b256 {
    static let byteCount = 32
    /// crypto_generichash_state, which libsodium wants 64-byte aligned.
    private let state: UnsafeMutableRawPointer

    init() throws {
        try Sodium.ready()
        state = UnsafeMutableRawPointer.allocate(byteCount: crypto_generichash_statebytes(), alignment: 64)
        _ = ingot_generichash_init(state, Blake2b256.byteCount)
    }

    deinit { state.deallocate() }

    func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        _ = ingot_generichash_update(state, base.assumingMemoryBound(to: UInt8.self), UInt64(bytes.count))
    }

    func finalize() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Blake2b256.byteCount)
        _ = ingot_generichash_final(state, &out, Blake2b256.byteCount)
        return out
    }

    static func hash(_ bytes: UnsafeRawBufferPointer) throws -> [UInt8] {
        let h = try Blake2b256()
        h.update(bytes)
        return h.finalize()
    }

    static func hash(_ bytes: [UInt8]) throws -> [UInt8] {
        try bytes.withUnsafeBytes { try hash($0) }
    }
}

/// An Ed25519 public key: what a verifier trusts.
public struct SigningPublicKey: Hashable, Sendable, CustomStringConvertible {
    public static let byteCount = 32
    public static let fileTag = "ingot-ed25519-public-v1"
    public let bytes: [UInt8]

    public init(bytes: [UInt8]) throws {
        guard bytes.count == SigningPublicKey.byteCount else {
            throw IngotError(.invalidArgument, location: "public key", "\(bytes.count) bytes, expected \(SigningPublicKey.byteCount)")
        }
        self.bytes = bytes
    }

    /// The first 8 bytes as 16 hex digits (the start of the hex in the `.pub` file).
    public var keyID: String { hexString(bytes.prefix(8)) }
    public var description: String { "key \(keyID)" }
    /// The `.pub` file's text.
    public var fileText: String { SigningPublicKey.fileTag + " " + hexString(bytes) + "\n" }

    /// True when `signature` is this key's Ed25519 signature of `message`.
    public func isValidSignature(_ signature: [UInt8], of message: [UInt8]) throws -> Bool {
        try Sodium.ready()
        guard signature.count == SigningKey.signatureByteCount else { return false }
        return crypto_sign_verify_detached(signature, message, UInt64(message.count), bytes) == 0
    }

    /// Reads a public key file (`ingot-ed25519-public-v1 <hex>`).
    public static func read(from path: String) throws -> SigningPublicKey {
        try SigningPublicKey(bytes: KeyFileText.read(path, tag: fileTag, otherTag: SigningKey.fileTag))
    }
}

/// An Ed25519 secret key (libsodium's 64-byte form: seed ‖ public key), wiped when released.
public final class SigningKey: @unchecked Sendable {
    public static let seedByteCount = 32
    public static let signatureByteCount = 64
    public static let fileTag = "ingot-ed25519-secret-v1"
    private static let secretByteCount = 64
    private let secret: UnsafeMutablePointer<UInt8>
    public let publicKey: SigningPublicKey

    /// The key pair of a 32-byte seed (RFC 8032's private key).
    public init(seed: [UInt8]) throws {
        try Sodium.ready()
        guard seed.count == SigningKey.seedByteCount else {
            throw IngotError(.invalidArgument, location: "secret key", "seed of \(seed.count) bytes, expected \(SigningKey.seedByteCount)")
        }
        secret = .allocate(capacity: SigningKey.secretByteCount)
        var publicBytes = [UInt8](repeating: 0, count: SigningPublicKey.byteCount)
        guard crypto_sign_seed_keypair(&publicBytes, secret, seed) == 0 else {
            secret.deallocate()
            throw IngotError(.internal, location: "libsodium", "crypto_sign_seed_keypair failed")
        }
        publicKey = try SigningPublicKey(bytes: publicBytes)
    }

    deinit {
        sodium_memzero(secret, SigningKey.secretByteCount)
        secret.deallocate()
    }

    /// A new key from the operating system's random source.
    public static func generate() throws -> SigningKey {
        try Sodium.ready()
        var seed = [UInt8](repeating: 0, count: seedByteCount)
        randombytes_buf(&seed, seedByteCount)
        defer { seed.withUnsafeMutableBytes { sodium_memzero($0.baseAddress, $0.count) } }
        return try SigningKey(seed: seed)
    }

    /// The deterministic Ed25519 signature of `message` (64 bytes).
    public func sign(_ message: [UInt8]) -> [UInt8] {
        var signature = [UInt8](repeating: 0, count: SigningKey.signatureByteCount)
        _ = crypto_sign_detached(&signature, nil, message, UInt64(message.count), secret)
        return signature
    }

    /// The `.key` file's text: the seed in hex.
    var fileText: String { SigningKey.fileTag + " " + hexString(UnsafeBufferPointer(start: secret, count: SigningKey.seedByteCount)) + "\n" }

    /// Reads a secret key file (`ingot-ed25519-secret-v1 <hex>`).
    public static func read(from path: String) throws -> SigningKey {
        try SigningKey(seed: KeyFileText.read(path, tag: fileTag, otherTag: SigningPublicKey.fileTag))
    }

    /// Writes `<base>.key` (mode 0600) and `<base>.pub`; refuses when either exists, and
    /// leaves neither behind when it fails. Returns the two paths.
    @discardableResult
    public func writeFiles(base: String) throws -> (secret: String, public: String) {
        let secretPath = base + ".key", publicPath = base + ".pub"
        for path in [secretPath, publicPath] where access(path, F_OK) == 0 {
            throw IngotError(.output, file: path, "exists; a key file is never replaced (choose another name or remove it)")
        }
        try KeyFileText.create(secretPath, fileText, mode: 0o600)
        do {
            try KeyFileText.create(publicPath, publicKey.fileText, mode: 0o644)
        } catch {
            unlink(secretPath)
            throw error
        }
        return (secretPath, publicPath)
    }
}

/// The one-line key file format: `<tag> <64 hex digits>`, LF-terminated (optional on reading).
enum KeyFileText {
    static let hexDigits = 64

    static func read(_ path: String, tag: String, otherTag: String) throws -> [UInt8] {
        let file = try MappedFile(path: path)
        let expected = "one line '\(tag) <\(hexDigits) hex digits>'"
        guard file.count <= 4096 else {
            throw IngotError(.format, file: path, "\(file.count) bytes, expected \(expected)")
        }
        var text = Array(file.bytes)
        if text.last == 0x0A { text.removeLast() }
        let prefix = Array((tag + " ").utf8)
        guard text.starts(with: prefix) else {
            if text.starts(with: Array((otherTag + " ").utf8)) {
                let (holds, wanted) = tag == SigningKey.fileTag ? ("a public key", "the secret key file (.key)") : ("a secret key", "the public key file (.pub)")
                throw IngotError(.invalidArgument, file: path, "holds \(holds) (\(otherTag)), expected \(wanted)")
            }
            // The content is not echoed: it may be a secret.
            throw IngotError(.format, file: path, "does not start with '\(tag) ', expected \(expected)")
        }
        let hex = text[prefix.count...]
        guard hex.count == hexDigits else {
            throw IngotError(.format, file: path, "\(hex.count) characters after '\(tag) ', expected \(hexDigits) hex digits and nothing else")
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(hexDigits / 2)
        var high: UInt8 = 0
        for (i, c) in hex.enumerated() {
            guard let v = hexValue(c) else {
                throw IngotError(.format, file: path, "character \(prefix.count + i + 1) of the line is not a hex digit, expected \(expected)")
            }
            if i % 2 == 0 { high = v } else { bytes.append(high << 4 | v) }
        }
        return bytes
    }

    /// Creates `path` exclusively with `mode` and writes `text`, durably.
    static func create(_ path: String, _ text: String, mode: mode_t) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw IngotError(.output, file: path, "cannot create: \(systemErrorMessage(errno))") }
        var ok = fchmod(fd, mode) == 0
        let bytes = Array(text.utf8)
        var done = 0
        while ok && done < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + done, bytes.count - done) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { ok = false } else { done += n }
        }
        if ok { ok = fsync(fd) == 0 }
        let error = errno
        close(fd)
        guard ok else {
            unlink(path)
            throw IngotError(.output, file: path, "cannot write: \(systemErrorMessage(error))")
        }
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: return c - 0x30
        case 0x61...0x66: return c - 0x61 + 10
        case 0x41...0x46: return c - 0x41 + 10
        default: return nil
        }
    }
}

/// Lowercase hex of bytes.
func hexString<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
    let digits = Array("0123456789abcdef".utf8)
    var out: [UInt8] = []
    for b in bytes {
        out.append(digits[Int(b >> 4)])
        out.append(digits[Int(b & 15)])
    }
    return String(decoding: out, as: UTF8.self)
}
