// PassOption: the declaration of one option a pass accepts (name, kind, default, help) and
// the check of a value written in `--passes` text or a recipe against its kind. The
// messages name the pass, the option, the value seen and what was expected:
//
//   pass 'quantize' option 'smooth': value '1.5', expected a number in 0.0...1.0
//
// It does not hold the values of an invocation (PassOptions) nor parse pipelines.

import IngotCore

/// One option a pass accepts, with its type, default and allowed values.
public struct PassOption: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case choice([String])
        /// A number in a closed range.
        case number(ClosedRange<Double>)
        /// `auto` (the pass decides) or a number in a closed range.
        case numberOrAuto(ClosedRange<Double>)
        case integer(ClosedRange<Int>)
        case flag
        /// Comma-separated non-negative integers ("0,2,4").
        case integerList
        /// Free text such as a file path (no ':' or ','; those separate options and passes).
        case text

        var isFlag: Bool {
            if case .flag = self { return true }
            return false
        }

        /// What a value of this kind looks like, for messages.
        var expected: String {
            switch self {
            case .choice(let allowed): return "one of \(allowed.joined(separator: ", "))"
            case .number(let range): return "a number in \(range.lowerBound)...\(range.upperBound)"
            case .numberOrAuto(let range): return "auto or a number in \(range.lowerBound)...\(range.upperBound)"
            case .integer(let range): return "an integer in \(range.lowerBound)...\(range.upperBound)"
            case .flag: return "true or false"
            case .integerList: return "a list of non-negative integers like 0,2,4"
            case .text: return "text"
            }
        }
    }

    public let name: String
    public let kind: Kind
    public let defaultValue: String
    public let help: String

    public init(_ name: String, _ kind: Kind, default defaultValue: String, _ help: String) {
        self.name = name
        self.kind = kind
        self.defaultValue = defaultValue
        self.help = help
    }

    /// `text` read by the kind; nil when it is not a value of the kind.
    func parsed(_ text: String) -> PassOptionValue? {
        switch kind {
        case .choice(let allowed):
            return allowed.contains(text) ? .text(text) : nil
        case .number(let range):
            guard let v = Double(text), v.isFinite, range.contains(v) else { return nil }
            return .number(v)
        case .numberOrAuto(let range):
            if text == "auto" { return .numberOrAuto(nil) }
            guard let v = Double(text), v.isFinite, range.contains(v) else { return nil }
            return .numberOrAuto(v)
        case .integer(let range):
            guard let v = Int(text), range.contains(v) else { return nil }
            return .integer(v)
        case .flag:
            switch text {
            case "true", "yes", "1", "": return .flag(true)
            case "false", "no", "0": return .flag(false)
            default: return nil
            }
        case .integerList:
            if text.isEmpty { return .integers([]) }
            let parts = text.split(separator: ",", omittingEmptySubsequences: false)
            let values = parts.compactMap { Int($0) }.filter { $0 >= 0 }
            guard values.count == parts.count else { return nil }
            return .integers(values)
        case .text:
            return .text(text)
        }
    }

    /// Checks given `text` against the kind; returns it normalised (flags as true/false) or
    /// throws a message naming the pass, the option, the value and what was expected. An
    /// empty list is a default (none), not a value one writes.
    func validate(_ text: String, pass: String) throws -> String {
        guard let value = parsed(text), value != .integers([]) else { throw malformed(text, pass: pass) }
        if case .flag(let on) = value { return on ? "true" : "false" }
        return text
    }

    func malformed(_ text: String, pass: String) -> IngotError {
        IngotError(.invalidArgument, location: "pass '\(pass)' option '\(name)'", "value '\(text)', expected \(kind.expected)")
    }
}

/// A value read by its option's kind.
enum PassOptionValue: Equatable {
    case text(String)
    case number(Double)
    /// nil: `auto`.
    case numberOrAuto(Double?)
    case integer(Int)
    case flag(Bool)
    case integers([Int])
}
