// ConfigFile: typed, validated reads of a Hugging Face config.json (or any JSON object
// file). Required fields that are missing or of the wrong type are collected and reported
// together, naming the file, the field, the value seen and what was expected.

import IngotCore

struct ConfigFile {
    let path: String
    let root: [(String, JSONValue)]
    private(set) var problems: [String] = []

    init(path: String) throws {
        self.path = path
        let file = try MappedFile(path: path)
        let value = try JSONValue.parse(file.bytes, file: path)
        guard let object = value.object else {
            throw IngotError(.format, file: path, "the top level is not a JSON object")
        }
        root = object
    }

    static func exists(_ path: String) -> Bool {
        (try? MappedFile(path: path)) != nil
    }

    func raw(_ key: String) -> JSONValue? { root.first(where: { $0.0 == key })?.1 }

    mutating func int(_ key: String, range: ClosedRange<Int> = 1...(1 << 30)) -> Int {
        guard let v = raw(key) else { problems.append("\(key): missing, expected an integer in \(range)"); return range.lowerBound }
        guard let n = v.int, range.contains(n) else {
            problems.append("\(key): value \(v.serialized(pretty: false)), expected an integer in \(range)")
            return range.lowerBound
        }
        return n
    }

    mutating func double(_ key: String, default fallback: Double? = nil, range: ClosedRange<Double> = 0...Double.greatestFiniteMagnitude) -> Double {
        guard let v = raw(key) else {
            if let fallback { return fallback }
            problems.append("\(key): missing, expected a number in \(range)")
            return range.lowerBound
        }
        guard let d = v.double, range.contains(d) else {
            problems.append("\(key): value \(v.serialized(pretty: false)), expected a number in \(range)")
            return range.lowerBound
        }
        return d
    }

    mutating func string(_ key: String, default fallback: String? = nil, allowed: [String]? = nil) -> String {
        guard let v = raw(key) else {
            if let fallback { return fallback }
            problems.append("\(key): missing, expected a string")
            return ""
        }
        guard let s = v.string else { problems.append("\(key): value \(v.serialized(pretty: false)), expected a string"); return "" }
        if let allowed, !allowed.contains(s) {
            problems.append("\(key): value \"\(s)\", expected one of \(allowed.map { "\"\($0)\"" }.joined(separator: ", "))")
        }
        return s
    }

    func bool(_ key: String, default fallback: Bool) -> Bool { raw(key)?.bool ?? fallback }

    /// Throws one error listing every problem recorded so far.
    func finish() throws {
        guard problems.isEmpty else {
            throw IngotError(.format, file: path, problems.joined(separator: "; "))
        }
    }
}
