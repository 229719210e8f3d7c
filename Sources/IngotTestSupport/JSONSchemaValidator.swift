// A JSON Schema validator for the subset of draft 2020-12 that Formats/report-v1.schema.json
// uses: type, required, properties, additionalProperties (boolean or schema), items, const,
// enum, minimum, maximum, $ref to "#/…" inside the same document, and the annotations
// $schema, $id, title, description, $defs. A schema using any other keyword is itself an
// error (a keyword it ignored would pass anything). It does not fetch remote references.

import Foundation
import IngotCore
import XCTest

public struct JSONSchemaViolation: Equatable, CustomStringConvertible, Sendable {
    /// Where in the instance: `$`, `$.passes[0].stats.nodes`, …
    public var path: String
    public var message: String
    public var description: String { "\(path): \(message)" }
}

public struct JSONSchemaValidator {
    public let root: JSONValue

    static let implemented: Set<String> = ["type", "required", "properties", "additionalProperties", "items", "const", "enum",
                                           "minimum", "maximum", "$ref"]
    static let annotations: Set<String> = ["$schema", "$id", "title", "description", "$defs"]

    public init(schema: JSONValue) { root = schema }

    public init(schemaFile: URL) throws {
        root = try JSONValue.parse(try String(contentsOf: schemaFile, encoding: .utf8))
    }

    /// The report schema of this checkout.
    public static func reportV1() throws -> JSONSchemaValidator {
        try JSONSchemaValidator(schemaFile: TestPaths.packageRoot.appendingPathComponent("Formats/report-v1.schema.json"))
    }

    /// Every violation of `instance`, in document order; empty when it is valid.
    public func violations(of instance: JSONValue) -> [JSONSchemaViolation] {
        var out: [JSONSchemaViolation] = []
        check(instance, against: root, path: "$", schemaPath: "#", into: &out)
        return out
    }

    func check(_ value: JSONValue, against schema: JSONValue, path: String, schemaPath: String, into out: inout [JSONSchemaViolation]) {
        switch schema {
        case .bool(let allowed):
            if !allowed { out.append(JSONSchemaViolation(path: path, message: "not allowed here (schema \(schemaPath) is false)")) }
            return
        case .object:
            break
        case .null, .number, .string, .array:
            out.append(JSONSchemaViolation(path: path, message: "schema \(schemaPath) is not an object or a boolean"))
            return
        }
        let fields = schema.object ?? []
        for (keyword, _) in fields where !Self.implemented.contains(keyword) && !Self.annotations.contains(keyword) {
            out.append(JSONSchemaViolation(path: path, message: "schema \(schemaPath) uses keyword '\(keyword)', which this validator does not implement"))
        }
        if let ref = schema["$ref"] {
            if let target = ref.string.flatMap(resolve) {
                check(value, against: target, path: path, schemaPath: ref.string ?? "", into: &out)
            } else {
                out.append(JSONSchemaViolation(path: path, message: "schema \(schemaPath): $ref \(ref.serialized()) does not resolve in this document"))
            }
        }
        if let type = schema["type"] {
            let names = type.array?.compactMap(\.string) ?? type.string.map { [$0] } ?? []
            if !names.contains(where: { Self.has(value, type: $0) }) {
                out.append(JSONSchemaViolation(path: path, message: "\(Self.typeName(value)) \(Self.short(value)), expected \(names.joined(separator: " or "))"))
                return
            }
        }
        if let constant = schema["const"], !Self.equal(value, constant) {
            out.append(JSONSchemaViolation(path: path, message: "value \(Self.short(value)), expected \(constant.serialized())"))
        }
        if let choices = schema["enum"]?.array, !choices.contains(where: { Self.equal(value, $0) }) {
            out.append(JSONSchemaViolation(path: path, message: "value \(Self.short(value)), expected one of \(choices.map { $0.serialized() }.joined(separator: ", "))"))
        }
        if case .number(let x, _) = value {
            if let low = schema["minimum"]?.double, x < low {
                out.append(JSONSchemaViolation(path: path, message: "value \(Self.short(value)) is below the minimum \(schema["minimum"]!.serialized())"))
            }
            if let high = schema["maximum"]?.double, x > high {
                out.append(JSONSchemaViolation(path: path, message: "value \(Self.short(value)) is above the maximum \(schema["maximum"]!.serialized())"))
            }
        }
        if case .object(let members) = value {
            for name in schema["required"]?.array?.compactMap(\.string) ?? [] where !members.contains(where: { $0.0 == name }) {
                out.append(JSONSchemaViolation(path: path, message: "required field '\(name)' is missing"))
            }
            let properties = schema["properties"]?.object ?? []
            for (name, member) in members {
                let memberPath = path + "." + name
                if let sub = properties.first(where: { $0.0 == name })?.1 {
                    check(member, against: sub, path: memberPath, schemaPath: schemaPath + "/properties/" + name, into: &out)
                } else if let extra = schema["additionalProperties"] {
                    if extra == .bool(false) {
                        out.append(JSONSchemaViolation(path: memberPath, message: "field '\(name)' is not allowed here"))
                    } else {
                        check(member, against: extra, path: memberPath, schemaPath: schemaPath + "/additionalProperties", into: &out)
                    }
                }
            }
        }
        if case .array(let elements) = value, let items = schema["items"] {
            for (i, element) in elements.enumerated() {
                check(element, against: items, path: "\(path)[\(i)]", schemaPath: schemaPath + "/items", into: &out)
            }
        }
    }

    /// "#/$defs/stats" → that subschema of the root document.
    func resolve(_ reference: String) -> JSONValue? {
        guard reference.hasPrefix("#") else { return nil }
        var node = root
        for token in reference.dropFirst().split(separator: "/", omittingEmptySubsequences: true) {
            let key = token.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
            guard let next = node[key] else { return nil }
            node = next
        }
        return node
    }

    static func has(_ value: JSONValue, type: String) -> Bool {
        switch value {
        case .null: return type == "null"
        case .bool: return type == "boolean"
        case .number(let d, let integer): return type == "number" || (type == "integer" && (integer != nil || (d.isFinite && d == d.rounded())))
        case .string: return type == "string"
        case .array: return type == "array"
        case .object: return type == "object"
        }
    }

    static func typeName(_ value: JSONValue) -> String {
        switch value {
        case .null: return "null"
        case .bool: return "boolean"
        case .number(let d, let integer): return integer != nil || d == d.rounded() ? "integer" : "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }

    /// JSON Schema equality: numbers by value (1 equals 1.0), objects regardless of member order.
    static func equal(_ a: JSONValue, _ b: JSONValue) -> Bool {
        switch (a, b) {
        case (.number(let x, _), .number(let y, _)): return x == y
        case (.array(let x), .array(let y)): return x.count == y.count && zip(x, y).allSatisfy { equal($0, $1) }
        case (.object(let x), .object(let y)):
            return x.count == y.count && x.allSatisfy { member in y.contains { $0.0 == member.0 && equal($0.1, member.1) } }
        case (.null, _), (.bool, _), (.number, _), (.string, _), (.array, _), (.object, _): return a == b
        }
    }

    static func short(_ value: JSONValue) -> String {
        let text = value.serialized()
        return text.count > 60 ? String(text.prefix(57)) + "…" : text
    }
}

/// Fails the test with each violation (by JSON path) when the report at `path` does not
/// match Formats/report-v1.schema.json.
public func assertMatchesReportSchema(_ path: String, file: StaticString = #filePath, line: UInt = #line) throws {
    let report = try JSONValue.parse(try String(contentsOfFile: path, encoding: .utf8))
    for violation in try JSONSchemaValidator.reportV1().violations(of: report) {
        XCTFail("\(path): \(violation)", file: file, line: line)
    }
}
