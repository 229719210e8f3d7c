// RecipeFile: reads a pass recipe from YAML (.yaml/.yml) or JSON into the pass manager's
// JSON form, so a pipeline kept in a repository and one given with --passes are the same.
// The file's size, nesting and anchors are checked (RecipeLimits) before Yams sees it.
//
//   passes:
//     - fuse
//     - quantize: {type: int8, mode: dynamic, max_drop: 0.002}

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
            let node: Any?
            do {
                node = try Yams.load(yaml: text)
            } catch {
                throw IngotError(.invalidArgument, file: path, "not valid YAML: \(error)")
            }
            json = try convert(node, path: path, at: "")
        }
        return try Pipeline.recipe(json, file: path)
    }

    static func convert(_ node: Any?, path: String, at field: String) throws -> JSONValue {
        switch node {
        case nil: return .null
        case let s as String: return .string(s)
        case let b as Bool: return .bool(b)
        case let i as Int: return .number(Double(i))
        case let d as Double: return .number(d)
        case let a as [Any]: return .array(try a.enumerated().map { try convert($0.element, path: path, at: "\(field)[\($0.offset)]") })
        case let m as [String: Any]:
            return .object(try m.keys.sorted().map { ($0, try convert(m[$0], path: path, at: field.isEmpty ? $0 : "\(field).\($0)")) })
        default:
            throw IngotError(.invalidArgument, file: path, location: field.isEmpty ? "recipe" : field, "unsupported YAML value \(String(describing: node))")
        }
    }
}
