// Pipeline.recipe: the recipe grammar, a JSON value (YAML recipes are converted to it by
// the caller): `{"passes": ["fuse", {"quantize": {"type": "int8", "max_drop": 0.002}}]}`.
// An entry is a pass name or a one-key map from the name to its positional value or to a
// map of options; option values are strings, numbers, booleans or lists of integers, and
// underscores in option names read as dashes. Errors name the recipe file.
//
// It does not read files or YAML, and leaves option values to the passes' declarations
// (Pass.validated) and the order to PipelineOrder.swift.

import IngotCore

extension Pipeline {
    /// A recipe: `{"passes": ["fuse", {"quantize": {"type": "int8", "max_drop": 0.002}}]}`
    /// (YAML recipes are converted to this JSON form by the caller). Underscores in option
    /// names read as dashes.
    public static func recipe(_ json: JSONValue, file: String, registry: PassRegistry = .standard) throws -> Pipeline {
        guard let list = json["passes"]?.array else {
            throw IngotError(.invalidArgument, file: file, location: "passes", "missing or not a list")
        }
        var steps: [PassInvocation] = []
        for (i, entry) in list.enumerated() {
            let field = "passes[\(i)]"
            let name: String
            var options: [String: String] = [:]
            if let s = entry.string {
                name = s
            } else if let obj = entry.object, obj.count == 1 {
                name = obj[0].0
                if let v = scalarText(obj[0].1) {
                    options["__positional"] = v
                } else if let fields = obj[0].1.object {
                    for (k, v) in fields {
                        guard let text = scalarText(v) else {
                            throw IngotError(.invalidArgument, file: file, location: "\(field).\(name).\(k)", "expected a string, number, boolean or list of integers")
                        }
                        options[k.replacingUnderscores()] = text
                    }
                } else {
                    throw IngotError(.invalidArgument, file: file, location: "\(field).\(name)", "expected a value or a map of options")
                }
            } else {
                throw IngotError(.invalidArgument, file: file, location: field, "expected a pass name or a one-key map {name: options}")
            }
            guard let pass = registry.pass(named: name) else {
                throw IngotError(.invalidArgument, file: file, location: field, "unknown pass '\(name)'; passes: \(registry.names.joined(separator: ", "))")
            }
            if let v = options.removeValue(forKey: "__positional") {
                guard let key = pass.positional else {
                    throw IngotError(.invalidArgument, file: file, location: field, "pass '\(name)' takes no value, got '\(v)'")
                }
                options[key] = v
            }
            do {
                steps.append(try PassInvocation(pass: pass, options: try pass.validated(options)))
            } catch var e as IngotError {
                e.file = file
                throw e
            }
        }
        do {
            let pipeline = try Pipeline(steps: steps).addingImpliedSteps()
            try pipeline.checkOrder()
            return pipeline
        } catch var e as IngotError {
            e.file = file
            throw e
        }
    }

    static func scalarText(_ v: JSONValue) -> String? {
        if let s = v.string { return s }
        if let b = v.bool { return b ? "true" : "false" }
        if let i = v.int { return String(i) }
        if let d = v.double { return String(d) }
        if let a = v.array {
            let ints = a.compactMap(\.int)
            return ints.count == a.count ? ints.map(String.init).joined(separator: ",") : nil
        }
        return nil
    }
}

extension String {
    func replacingUnderscores() -> String { String(map { $0 == "_" ? "-" : $0 }) }
}
