// Pipeline.parse: the `--passes` text grammar. Commas separate passes, `=` gives the
// positional option, `:` separates `key=value` options, bare values fill the later
// positional options in order, a bare flag name sets the flag, and a comma followed by a
// digit continues the previous value (`distill=student:layers=0,2,4`).
//
// It does not read recipes (PipelineRecipe.swift) and leaves option values to the passes'
// declarations (Pass.validated) and the order to PipelineOrder.swift.

import IngotCore

extension Pipeline {
    /// `fuse,quantize=int8:mode=dynamic` — commas separate passes, `=` gives the positional
    /// option, `:` separates `key=value` options; a comma followed by a digit continues the
    /// previous value (`distill=student:layers=0,2,4`).
    public static func parse(_ spec: String, registry: PassRegistry = .standard) throws -> Pipeline {
        var items: [String] = []
        for piece in spec.split(separator: ",", omittingEmptySubsequences: false).map(String.init) {
            if let first = piece.first, first.isNumber, let last = items.popLast() {
                items.append(last + "," + piece)
            } else {
                items.append(piece)
            }
        }
        var steps: [PassInvocation] = []
        for item in items {
            guard !item.isEmpty else {
                throw IngotError(.invalidArgument, location: "--passes", "empty pass name in '\(spec)'")
            }
            let parts = item.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            let (name, positionalValue) = splitKeyValue(parts[0])
            guard let pass = registry.pass(named: name) else {
                throw IngotError(.invalidArgument, location: "--passes", "unknown pass '\(name)'; passes: \(registry.names.joined(separator: ", "))")
            }
            var options: [String: String] = [:]
            if let v = positionalValue {
                guard let key = pass.positional else {
                    throw IngotError(.invalidArgument, location: "pass '\(name)'", "takes no value after '=', got '\(v)'")
                }
                options[key] = v
            }
            // Bare values after the first (`prune=wanda:0.5`) fill the later positional options in order.
            var nextPositional = 1
            for part in parts.dropFirst() {
                var (key, value) = splitKeyValue(part)
                if value == nil, !pass.options.contains(where: { $0.name == key && $0.kind.isFlag }) {
                    guard nextPositional < pass.positionals.count else {
                        throw IngotError(.invalidArgument, location: "pass '\(name)'", "unexpected value '\(key)'; write option=value")
                    }
                    (key, value) = (pass.positionals[nextPositional], key)
                    nextPositional += 1
                }
                guard options[key] == nil else {
                    throw IngotError(.invalidArgument, location: "pass '\(name)'", "option '\(key)' given twice")
                }
                options[key] = value ?? ""
            }
            steps.append(try PassInvocation(pass: pass, options: try pass.validated(options)))
        }
        let pipeline = try Pipeline(steps: steps).addingImpliedSteps()
        try pipeline.checkOrder()
        return pipeline
    }

    static func splitKeyValue(_ s: String) -> (String, String?) {
        guard let eq = s.firstIndex(of: "=") else { return (s, nil) }
        return (String(s[..<eq]), String(s[s.index(after: eq)...]))
    }
}
