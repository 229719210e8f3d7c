// PassOptions: the option values of one pass invocation, read by type. Every reader checks
// that the pass declared the option, that a value is set (defaults fill options not given),
// that the value is one of the option's kind, and that the kind is the one read; any
// failure is an IngotError(.invalidArgument) naming the pass and the option, never a
// silent 0, false or empty list:
//
//   try options.double("smooth")      // .number          → 0.5
//   try options.int("group")          // .integer, or a choice of integers → 32
//   try options.numberOrAuto("min-sparsity")            → nil for auto
//   try options.flag("sensitivity"), try options.integers("layers"), try options["mode"]
//
// It does not declare options (each pass does, with PassOption) nor parse pipeline text.

import IngotCore

/// Options of one pass invocation, validated against the pass's declaration.
public struct PassOptions: Sendable, Equatable {
    /// The pass these options belong to, for messages.
    public let pass: String
    /// The options the pass declares; only these can be read.
    public let declarations: [PassOption]
    /// Option name → text as given (flags as true/false) or the default: the provenance record.
    public private(set) var values: [String: String]

    init(pass: String, declarations: [PassOption], values: [String: String]) {
        self.pass = pass
        self.declarations = declarations
        self.values = values
    }

    /// The same options with some values replaced (not validated until read).
    func replacing(_ changes: [String: String]) -> PassOptions {
        PassOptions(pass: pass, declarations: declarations, values: values.merging(changes) { $1 })
    }

    /// The option's text, of any kind: a choice, a file path, `auto`.
    public subscript(_ name: String) -> String {
        get throws { try read(name, as: "text") { _, _ in values[name] } }
    }

    /// A `.number` option.
    public func double(_ name: String) throws -> Double {
        try read(name, as: "a number") { value, _ in
            if case .number(let v) = value { v } else { nil }
        }
    }

    /// A `.numberOrAuto` option: nil for `auto`.
    public func numberOrAuto(_ name: String) throws -> Double? {
        try read(name, as: "auto or a number") { value, _ in
            if case .numberOrAuto(let v) = value { .some(v) } else { nil }
        }
    }

    /// An `.integer` option, or a `.choice` whose every choice is an integer.
    public func int(_ name: String) throws -> Int {
        try read(name, as: "an integer") { value, kind in
            switch value {
            case .integer(let v):
                return v
            case .text(let text):
                guard case .choice(let allowed) = kind, allowed.allSatisfy({ Int($0) != nil }) else { return nil }
                return Int(text)
            case .number, .numberOrAuto, .flag, .integers:
                return nil
            }
        }
    }

    /// A `.flag` option.
    public func flag(_ name: String) throws -> Bool {
        try read(name, as: "a flag") { value, _ in
            if case .flag(let on) = value { on } else { nil }
        }
    }

    /// An `.integerList` option; its empty default reads as no integers.
    public func integers(_ name: String) throws -> [Int] {
        try read(name, as: "a list of integers") { value, _ in
            if case .integers(let list) = value { list } else { nil }
        }
    }

    /// Looks `name` up in the declarations and its text in `values`, parses the text by the
    /// option's kind and converts it with `convert`; nil from `convert` means the option's
    /// kind is not the one read (`reading`).
    private func read<T>(_ name: String, as reading: String, _ convert: (PassOptionValue, PassOption.Kind) -> T?) throws -> T {
        let location = "pass '\(pass)' option '\(name)'"
        guard let option = declarations.first(where: { $0.name == name }) else {
            let declared = declarations.map(\.name)
            throw IngotError(.invalidArgument, location: location,
                             "read but not declared" + (declared.isEmpty ? "; the pass declares no options" : "; options: \(declared.joined(separator: ", "))"))
        }
        guard let text = values[name] else {
            throw IngotError(.invalidArgument, location: location, "not set and no default, expected \(option.kind.expected)")
        }
        guard let value = option.parsed(text) else { throw option.malformed(text, pass: pass) }
        guard let result = convert(value, option.kind) else {
            throw IngotError(.invalidArgument, location: location, "read as \(reading), declared as \(option.kind.expected)")
        }
        return result
    }
}
