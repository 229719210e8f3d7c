// Report: a version-1 optimization report (Formats/report-v1.schema.json) read from JSON
// and checked — schema tag, required fields and their types — with errors that name the
// file, the JSON path and what was expected. Field access is by dotted path so printers,
// diffs and CI gates all read the same document. It computes nothing new.

import IngotCore

public struct Report: Sendable {
    public static let schema = "ingot-report/1"
    public let json: JSONValue
    public let file: String

    public init(json: JSONValue, file: String) throws {
        self.json = json
        self.file = file
        guard json.object != nil else { throw IngotError(.format, file: file, location: "$", "expected a JSON object") }
        guard let tag = json["schema"]?.string else {
            throw IngotError(.format, file: file, location: "schema", "missing; expected \"\(Report.schema)\"")
        }
        guard tag == Report.schema else {
            throw IngotError(.format, file: file, location: "schema", "value \"\(tag)\", expected \"\(Report.schema)\"")
        }
        for (path, kind) in Report.required {
            guard let v = value(at: path) else { throw IngotError(.format, file: file, location: path, "missing; expected \(kind)") }
            let ok: Bool
            switch kind {
            case "a string": ok = v.string != nil
            case "a number": ok = v.double != nil
            case "a list": ok = v.array != nil
            default: ok = v.object != nil
            }
            guard ok else { throw IngotError(.format, file: file, location: path, "has the wrong type; expected \(kind)") }
        }
        try Report.checkMagnitudes(json, path: "$", file: file)
    }

    /// The largest magnitude a report number may have: 2⁵³, below which every whole number is
    /// exact in a Double and fits an Int, so printers and diffs can count with it.
    public static let maxMagnitude = 9_007_199_254_740_992.0

    /// Every number in the document within ±maxMagnitude; the first one outside is named by its path.
    static func checkMagnitudes(_ v: JSONValue, path: String, file: String) throws {
        if let d = v.double {
            guard d.isFinite, abs(d) <= maxMagnitude else {
                throw IngotError(.format, file: file, location: path, "value \(d), expected a number within ±\(Int(maxMagnitude))")
            }
        } else if let list = v.array {
            for (i, item) in list.enumerated() { try checkMagnitudes(item, path: "\(path)[\(i)]", file: file) }
        } else if let object = v.object {
            for (key, item) in object { try checkMagnitudes(item, path: path == "$" ? key : "\(path).\(key)", file: file) }
        }
    }

    public static func parse(_ bytes: [UInt8], file: String) throws -> Report {
        try Report(json: try JSONValue.parse(bytes, file: file), file: file)
    }

    static let required: [(String, String)] = [
        ("title", "a string"), ("model", "an object"), ("model.architecture", "a string"), ("model.parameters", "a number"),
        ("model.source_bytes", "a number"), ("artifact", "an object"), ("artifact.bytes", "a number"), ("passes", "a list"),
    ]

    /// The value at a dotted path with optional indices: `latency.rows[0].p50_ratio`.
    public func value(at path: String) -> JSONValue? { Report.lookup(json, path) }

    public func number(_ path: String) -> Double? { value(at: path)?.double }
    public func string(_ path: String) -> String? { value(at: path)?.string }
    public var title: String { string("title") ?? file }

    static func lookup(_ root: JSONValue, _ path: String) -> JSONValue? {
        var current: JSONValue? = root
        for part in path.split(separator: ".", omittingEmptySubsequences: false) {
            var name = Substring(part)
            var indices: [Int] = []
            while name.hasSuffix("]"), let open = name.lastIndex(of: "[") {
                guard let i = Int(name[name.index(after: open)..<name.index(before: name.endIndex)]) else { return nil }
                indices.insert(i, at: 0)
                name = name[..<open]
            }
            if !name.isEmpty { current = current?[String(name)] }
            for i in indices { current = current?[i] }
            if current == nil { return nil }
        }
        return current
    }

    /// Latency rows: (label, unit, baseline p50 s, optimized p50 s, baseline samples, optimized samples).
    public var latencyRows: [LatencyRow] {
        (value(at: "latency.rows")?.array ?? []).compactMap { row in
            guard let label = row["label"]?.string else { return nil }
            return LatencyRow(label: label, unit: row["unit"]?.string ?? "ms",
                              baseline: (row["baseline"]?["samples"]?.array ?? []).compactMap(\.double),
                              optimized: (row["optimized"]?["samples"]?.array ?? []).compactMap(\.double),
                              baselineP50: row["baseline"]?["p50"]?.double ?? 0, optimizedP50: row["optimized"]?["p50"]?.double ?? 0,
                              baselineThroughput: row["baseline"]?["throughput"]?.double ?? 0,
                              optimizedThroughput: row["optimized"]?["throughput"]?.double ?? 0)
        }
    }

    public var layers: [JSONValue] { value(at: "layers")?.array ?? [] }
}

public struct LatencyRow: Sendable {
    public var label: String
    public var unit: String
    public var baseline: [Double]
    public var optimized: [Double]
    public var baselineP50: Double
    public var optimizedP50: Double
    public var baselineThroughput: Double
    public var optimizedThroughput: Double
}
