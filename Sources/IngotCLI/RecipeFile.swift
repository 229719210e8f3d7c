// RecipeFile: reads a pass recipe from YAML (.yaml/.yml) or JSON into the pass manager's
// JSON form, so a pipeline kept in a repository and one given with --passes are the same.
// The file's size, nesting and anchors are checked (RecipeLimits) before Yams sees it.
//
//   passes:
//     - fuse
//     - quantize: {type: int8, mode: dynamic, max_drop: 0.002}

import Foundation
import IngotCore
import IngotPasses
import Yams

enum RecipeFile {
    static func load(_ path: String) throws -> Pipeline {
        let file = try MappedFile(path: path)
        try RecipeLimits.checkSize(file.count, path: path)
        guard let text = String(validating: file.bytes.bindMemory(to: UInt8.self), as: UTF8.self) else {
            throw IngotError(.invalidArgument, file: path, "not valid UTF-8")
        }
        let json: JSONValue
        if path.hasSuffix(".json") {
            json = try JSONValue.parse(text, file: path)
        } else {
            try RecipeLimits.check(file.bytes, path: path)
            let root: Node?
            do {
                root = try Yams.compose(yaml: text)
            } catch {
                throw IngotError(.invalidArgument, file: path, "not valid YAML: \(error)")
            }
            json = try root.map { try convert($0, path: path, at: "") } ?? .null
        }
        return try Pipeline.recipe(json, file: path)
    }

    /// A composed YAML node as JSON. Mapping keys must be plain scalars, each once: Yams'
    /// own construction traps on a mapping used as a key (`? {a: b}: c`), so mappings are
    /// walked here and only scalars go through Yams' constructor.
    static func convert(_ node: Node, path: String, at field: String) throws -> JSONValue {
        let location = field.isEmpty ? "recipe" : field
        switch node {
        case .scalar:
            return try convert(scalar: node.any, path: path, at: location)
        case .sequence(let items):
            return .array(try items.enumerated().map { try convert($0.element, path: path, at: "\(field)[\($0.offset)]") })
        case .mapping(let pairs):
            var out: [(String, JSONValue)] = []
            var seen: Set<String> = []
            for (key, value) in pairs {
                guard case .scalar(let k) = key else {
                    throw IngotError(.invalidArgument, file: path, location: location,
                                     "a mapping key is a \(Self.isMapping(key) ? "mapping" : "sequence"), expected a plain name")
                }
                guard seen.insert(k.string).inserted else {
                    throw IngotError(.invalidArgument, file: path, location: location, "key \"\(k.string)\" appears twice")
                }
                out.append((k.string, try convert(value, path: path, at: field.isEmpty ? k.string : "\(field).\(k.string)")))
            }
            return .object(out.sorted { $0.0 < $1.0 })
        }
    }

    static func isMapping(_ node: Node) -> Bool {
        if case .mapping = node { return true }
        return false
    }

    static func convert(scalar: Any, path: String, at location: String) throws -> JSONValue {
        switch scalar {
        case let s as String: return .string(s)
        case let b as Bool: return .bool(b)
        case let i as Int: return .number(Double(i))
        case let d as Double: return .number(d)
        default:
            if scalar is NSNull { return .null }
            throw IngotError(.invalidArgument, file: path, location: location, "unsupported YAML value \(String(describing: scalar))")
        }
    }
}
