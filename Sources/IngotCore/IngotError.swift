// IngotError: the one error type every layer throws. An error names the file, the field
// or tensor, the value seen and what was expected, so a user can act on it without a debugger.
// Each kind maps to the exit code both command-line front ends (`ingot`, `ingot-run`) use;
// printing errors is left to them. Foundation-free: the lean runner links it.

public struct IngotError: Error, Sendable, CustomStringConvertible, Equatable {
    /// Error families; each maps to one CLI exit code (see README "Exit codes").
    public enum Kind: String, Sendable, CaseIterable {
        /// An input cannot be opened or read.
        case io
        /// An output cannot be created or written.
        case output
        /// An input file is malformed (truncated, lying header, bad value).
        case format
        /// A well-formed input uses something Ingot does not support (dtype, architecture).
        case unsupported
        /// A flag, option or API argument is invalid.
        case invalidArgument
        /// An IR graph failed verification.
        case verification
        /// Stored bytes do not match their checksum.
        case checksum
        /// A trusted key is configured and the artifact is unsigned, signed by another key, or
        /// changed after signing (Formats/ingot-v1.md, "Signature").
        case signature
        /// Inputs given to a model do not match its declared names, shapes or dtypes.
        case shape
        /// A broken internal invariant: a bug in Ingot.
        case `internal`

        /// The process exit code for an error of this kind (sysexits.h; README "Exit codes").
        public var exitCode: Int32 {
            switch self {
            case .invalidArgument: return 64
            case .format, .checksum, .signature, .verification, .shape: return 65
            case .io: return 66
            case .unsupported: return 69
            case .internal: return 70
            case .output: return 74
            }
        }
    }

    public var kind: Kind
    /// The file involved, when there is one.
    public var file: String?
    /// Where in the file or graph: a field path ("header.tensor_count"), a tensor name.
    public var location: String?
    /// What is wrong, with the value seen and the value expected.
    public var message: String

    public init(_ kind: Kind, file: String? = nil, location: String? = nil, _ message: String) {
        self.kind = kind
        self.file = file
        self.location = location
        self.message = message
    }

    /// A field holding a value outside its allowed range.
    public static func badField(_ kind: Kind = .format, file: String?, _ field: String,
                                seen: String, expected: String) -> IngotError {
        IngotError(kind, file: file, location: field, "value \(seen), expected \(expected)")
    }

    /// "file: location: message"
    public var description: String {
        var parts: [String] = []
        if let file { parts.append(file) }
        if let location { parts.append(location) }
        parts.append(message)
        return parts.joined(separator: ": ")
    }

    /// The same error with the file filled in when it was not known where it was thrown.
    public func inFile(_ path: String) -> IngotError {
        var e = self
        if e.file == nil { e.file = path }
        return e
    }
}
