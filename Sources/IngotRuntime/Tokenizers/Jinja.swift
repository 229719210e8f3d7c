// Jinja: the subset of Jinja2 that chat templates use, parsed once and rendered with
// transformers' settings (trim_blocks and lstrip_blocks on). Statements: for (loop.index0,
// index, first, last, length, revindex; `for a, b in …`; inline `if`; else), if/elif/else,
// set (names and `ns.attr` on a namespace()). Expressions: literals, lists, dicts, names,
// attributes, subscripts and slices, calls, filters, `is` tests, not/and/or, comparisons, in,
// `~`, arithmetic, `x if c else y`. Whitespace control `{%- -%}`, `{{- -}}`, comments `{# #}`.
// Errors name the template line and column. Not included: macros, call blocks, include/
// extends, autoescape, string `%` formatting. Foundation-free (the lean runner links it).

import IngotCore

// MARK: Values

/// A dictionary that keeps its keys in insertion order (as Python's dict does).
public struct JinjaDict: Sendable {
    public private(set) var keys: [String] = []
    var values: [String: JinjaValue] = [:]

    public init(_ pairs: [(String, JinjaValue)] = []) {
        for (k, v) in pairs { self[k] = v }
    }

    public subscript(key: String) -> JinjaValue? {
        get { values[key] }
        set {
            if let newValue {
                if values.updateValue(newValue, forKey: key) == nil { keys.append(key) }
            } else if values.removeValue(forKey: key) != nil {
                keys.removeAll { $0 == key }
            }
        }
    }

    public var count: Int { keys.count }
}

/// namespace(): the one mutable object templates have (`set ns.x = …` inside loops).
public final class JinjaNamespace: @unchecked Sendable {
    var attributes = JinjaDict()
    init() {}
}

public indirect enum JinjaValue: Sendable {
    /// A name or attribute that does not exist; renders as "", is false, iterates as empty.
    case undefined(String)
    case none
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case list([JinjaValue])
    case dict(JinjaDict)
    case namespace(JinjaNamespace)
    /// A global function (`raise_exception`, `namespace`, `range`, …).
    case function(String)
    /// A method of a value (`s.startswith`), waiting for its call.
    case method(JinjaValue, String)

    /// JSON data (messages, tools) as template values; objects keep their key order.
    public init(json: JSONValue) {
        switch json {
        case .null: self = .none
        case .bool(let b): self = .bool(b)
        case .number(let d, let i): self = i.flatMap { Int(exactly: $0) }.map { .int($0) } ?? .double(d)
        case .string(let s): self = .string(s)
        case .array(let items): self = .list(items.map { JinjaValue(json: $0) })
        case .object(let fields): self = .dict(JinjaDict(fields.map { ($0.0, JinjaValue(json: $0.1)) }))
        }
    }

    var isTrue: Bool {
        switch self {
        case .undefined, .none: return false
        case .bool(let b): return b
        case .int(let i): return i != 0
        case .double(let d): return d != 0
        case .string(let s): return !s.isEmpty
        case .list(let l): return !l.isEmpty
        case .dict(let d): return d.count > 0
        case .namespace, .function, .method: return true
        }
    }

    var typeName: String {
        switch self {
        case .undefined: return "undefined"
        case .none: return "none"
        case .bool: return "boolean"
        case .int: return "integer"
        case .double: return "float"
        case .string: return "string"
        case .list: return "list"
        case .dict: return "dict"
        case .namespace: return "namespace"
        case .function, .method: return "function"
        }
    }

    /// Text as `{{ }}` prints it (Python's str()).
    var text: String {
        switch self {
        case .undefined: return ""
        case .string(let s): return s
        case .none, .bool, .int, .double, .list, .dict, .namespace, .function, .method: return repr
        }
    }

    /// Python's repr().
    var repr: String {
        switch self {
        case .undefined: return ""
        case .none: return "None"
        case .bool(let b): return b ? "True" : "False"
        case .int(let i): return String(i)
        case .double(let d): return JinjaValue.pythonFloat(d)
        case .string(let s):
            var out = "'"
            for c in s.unicodeScalars {
                switch c {
                case "'": out += "\\'"
                case "\\": out += "\\\\"
                case "\n": out += "\\n"
                case "\t": out += "\\t"
                case "\r": out += "\\r"
                default: out.unicodeScalars.append(c)
                }
            }
            return out + "'"
        case .list(let l): return "[" + l.map(\.repr).joined(separator: ", ") + "]"
        case .dict(let d): return "{" + d.keys.map { JinjaValue.string($0).repr + ": " + d.values[$0]!.repr }.joined(separator: ", ") + "}"
        case .namespace: return "<Namespace>"
        case .function(let name): return "<function \(name)>"
        case .method(_, let name): return "<method \(name)>"
        }
    }

    static func pythonFloat(_ d: Double) -> String {
        if d.isNaN { return "nan" }
        if d.isInfinite { return d > 0 ? "inf" : "-inf" }
        if d == d.rounded(), abs(d) < 1e16 { return String(Int(d)) + ".0" }
        return String(d)
    }

    /// JSON text (transformers' tojson: json.dumps with ensure_ascii off).
    func json(indent: Int?, level: Int = 0) -> String {
        func newline(_ l: Int) -> String { indent.map { "\n" + String(repeating: " ", count: $0 * l) } ?? "" }
        let comma = indent == nil ? ", " : ","
        switch self {
        case .undefined, .none, .function, .method: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .double(let d): return d.isFinite ? JinjaValue.pythonFloat(d) : (d.isNaN ? "NaN" : d > 0 ? "Infinity" : "-Infinity")
        case .string(let s): return JinjaValue.jsonString(s)
        case .list(let l):
            guard !l.isEmpty else { return "[]" }
            return "[" + l.map { newline(level + 1) + $0.json(indent: indent, level: level + 1) }.joined(separator: comma) + newline(level) + "]"
        case .dict(let d):
            guard d.count > 0 else { return "{}" }
            return "{" + d.keys.map {
                newline(level + 1) + JinjaValue.jsonString($0) + ": " + d.values[$0]!.json(indent: indent, level: level + 1)
            }.joined(separator: comma) + newline(level) + "}"
        case .namespace(let ns): return JinjaValue.dict(ns.attributes).json(indent: indent, level: level)
        }
    }

    static func jsonString(_ s: String) -> String {
        let hex = Array("0123456789abcdef")
        var out = "\""
        for c in s.unicodeScalars {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if c.value < 0x20 {
                    out += "\\u00" + String(hex[Int(c.value >> 4)]) + String(hex[Int(c.value & 15)])
                } else {
                    out.unicodeScalars.append(c)
                }
            }
        }
        return out + "\""
    }

    static func equal(_ a: JinjaValue, _ b: JinjaValue) -> Bool {
        switch (a, b) {
        case (.undefined, .undefined), (.none, .none): return true
        case (.bool(let x), .bool(let y)): return x == y
        case (.string(let x), .string(let y)): return x == y
        case (.list(let x), .list(let y)): return x.count == y.count && zip(x, y).allSatisfy { equal($0, $1) }
        case (.dict(let x), .dict(let y)):
            return x.count == y.count && x.keys.allSatisfy { k in y[k].map { equal(x[k]!, $0) } ?? false }
        case (.namespace(let x), .namespace(let y)): return x === y
        default:
            if let x = a.number, let y = b.number { return x == y }
            return false
        }
    }

    /// Numbers (booleans count, as in Python).
    var number: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .double(let d): return d
        case .bool(let b): return b ? 1 : 0
        case .undefined, .none, .string, .list, .dict, .namespace, .function, .method: return nil
        }
    }
}

// MARK: Syntax tree

struct JinjaToken {
    enum Kind: Equatable { case name, string, int, double, op, end }
    var kind: Kind
    var text: String
    /// Scalar offset in the template.
    var offset: Int
}

indirect enum JinjaExpr {
    case literal(JinjaValue)
    case name(String, Int)
    case list([JinjaExpr])
    case dict([(JinjaExpr, JinjaExpr)])
    case attribute(JinjaExpr, String, Int)
    case item(JinjaExpr, JinjaExpr, Int)
    case slice(JinjaExpr, JinjaExpr?, JinjaExpr?, JinjaExpr?, Int)
    case call(JinjaExpr, [JinjaExpr], [(String, JinjaExpr)], Int)
    case filter(JinjaExpr, String, [JinjaExpr], [(String, JinjaExpr)], Int)
    case test(JinjaExpr, String, [JinjaExpr], negated: Bool, Int)
    case not(JinjaExpr)
    case negate(JinjaExpr, Int)
    case and(JinjaExpr, JinjaExpr)
    case or(JinjaExpr, JinjaExpr)
    case binary(String, JinjaExpr, JinjaExpr, Int)
    case conditional(JinjaExpr, condition: JinjaExpr, otherwise: JinjaExpr?)
}

indirect enum JinjaNode {
    case text(String)
    case output(JinjaExpr, Int)
    case forLoop(targets: [String], iterable: JinjaExpr, filter: JinjaExpr?, body: [JinjaNode], otherwise: [JinjaNode], Int)
    case ifChain([(JinjaExpr, [JinjaNode])], otherwise: [JinjaNode])
    case set(JinjaExpr?, name: String, value: JinjaExpr, Int)
}

// MARK: Template

public struct JinjaTemplate: @unchecked Sendable {
    let source: [Unicode.Scalar]
    let nodes: [JinjaNode]
    /// The location prefix of errors ("tokenizer.chat_template").
    let name: String

    /// Rendering stops with an error past this many characters of output or evaluation steps.
    public static let maxOutputScalars = 1 << 24
    public static let maxSteps = 200_000
    static let maxNesting = 256

    public init(_ source: String, name: String = "tokenizer.chat_template") throws {
        self.source = Array(source.unicodeScalars)
        self.name = name
        var parser = JinjaParser(source: self.source, name: name)
        nodes = try parser.parseTemplate()
    }

    /// The template's output for these variables (`messages`, `add_generation_prompt`, …).
    public func render(_ variables: [String: JinjaValue]) throws -> String {
        var r = JinjaRenderer(source: source, name: name, globals: variables)
        try r.run(nodes)
        return r.output
    }

    static func location(_ source: [Unicode.Scalar], _ offset: Int) -> (line: Int, column: Int) {
        var line = 1, column = 1
        for i in 0..<min(offset, source.count) {
            if source[i] == "\n" { line += 1; column = 1 } else { column += 1 }
        }
        return (line, column)
    }

    static func error(_ kind: IngotError.Kind, _ source: [Unicode.Scalar], _ name: String, _ offset: Int, _ message: String) -> IngotError {
        let (line, column) = location(source, offset)
        return IngotError(kind, location: "\(name) line \(line) column \(column)", message)
    }
}

// MARK: Parser

struct JinjaParser {
    let source: [Unicode.Scalar]
    let name: String

    enum Part {
        case text(String, Int)
        /// kind: "{{", "{%" ; tokens up to the closing delimiter.
        case tag(String, [JinjaToken], Int)
    }

    var parts: [Part] = []
    var position = 0
    var tokens: [JinjaToken] = []
    var tokenIndex = 0
    var depth = 0

    init(source: [Unicode.Scalar], name: String) {
        self.source = source
        self.name = name
    }

    func error(_ offset: Int, _ message: String) -> IngotError {
        JinjaTemplate.error(.format, source, name, offset, message)
    }

    // MARK: Splitting into text and tags, with whitespace control

    mutating func split() throws {
        var raw: [(part: Part, trimLeft: Bool, trimRight: Bool, block: Bool)] = []
        var i = 0
        var textStart = 0
        // One newline at the very end of the template is dropped (jinja2's keep_trailing_newline off).
        var n = source.count
        if n > 0, source[n - 1] == "\n" { n -= 1; if n > 0, source[n - 1] == "\r" { n -= 1 } }
        func text(_ a: Int, _ b: Int) -> String { String(String.UnicodeScalarView(source[a..<b])) }
        while i < n {
            guard source[i] == "{", i + 1 < n, source[i + 1] == "{" || source[i + 1] == "%" || source[i + 1] == "#" else { i += 1; continue }
            let opener = source[i + 1]
            if textStart < i { raw.append((.text(text(textStart, i), textStart), false, false, false)) }
            let tagStart = i
            var j = i + 2
            var trimLeft = false
            if j < n, source[j] == "-" { trimLeft = true; j += 1 } else if j < n, source[j] == "+" { j += 1 }
            if opener == "#" {
                var k = j
                while k + 1 < n, !(source[k] == "#" && source[k + 1] == "}") { k += 1 }
                guard k + 1 < n else { throw error(tagStart, "comment not closed, expected #}") }
                let trimRight = k > j && source[k - 1] == "-"
                raw.append((.tag("{#", [], tagStart), trimLeft, trimRight, true))
                i = k + 2
                textStart = i
                continue
            }
            let closer: Unicode.Scalar = opener == "{" ? "}" : "%"
            var lexer = JinjaLexer(source: source, position: j, name: name)
            let (toks, after, trimRight) = try lexer.tokens(closer: closer, tagStart: tagStart)
            raw.append((.tag(opener == "{" ? "{{" : "{%", toks, tagStart), trimLeft, trimRight, opener == "%"))
            i = after
            textStart = i
        }
        if textStart < n { raw.append((.text(text(textStart, n), textStart), false, false, false)) }

        // Apply `-` markers, trim_blocks (drop the newline after a block tag) and lstrip_blocks
        // (drop spaces and tabs before a block tag at the start of a line), each decided on the
        // template's own text: a text keeps scalars cut.start..<cut.end.
        let texts: [[Unicode.Scalar]?] = raw.map { if case .text(let s, _) = $0.part { return Array(s.unicodeScalars) } else { return nil } }
        var cuts: [(start: Int, end: Int)] = texts.map { (0, $0?.count ?? 0) }
        for (k, entry) in raw.enumerated() where texts[k] == nil {
            if k > 0, let before = texts[k - 1] {
                var m = before.count
                if entry.trimLeft {
                    while m > 0, before[m - 1].properties.isWhitespace { m -= 1 }
                    cuts[k - 1].end = min(cuts[k - 1].end, m)
                } else if entry.block {
                    while m > 0, before[m - 1] == " " || before[m - 1] == "\t" { m -= 1 }
                    if m == 0 ? k - 1 == 0 : before[m - 1] == "\n" { cuts[k - 1].end = min(cuts[k - 1].end, m) }
                }
            }
            if k + 1 < raw.count, let after = texts[k + 1] {
                var m = 0
                if entry.trimRight {
                    while m < after.count, after[m].properties.isWhitespace { m += 1 }
                } else if entry.block {
                    if after.first == "\n" { m = 1 } else if after.starts(with: ["\r", "\n"]) { m = 2 }
                }
                cuts[k + 1].start = max(cuts[k + 1].start, m)
            }
        }
        for (k, entry) in raw.enumerated() {
            switch entry.part {
            case .text(_, let offset):
                if let t = texts[k], cuts[k].start < cuts[k].end {
                    parts.append(.text(String(String.UnicodeScalarView(t[cuts[k].start..<cuts[k].end])), offset))
                }
            case .tag(let kind, let toks, let offset): if kind != "{#" { parts.append(.tag(kind, toks, offset)) }
            }
        }
    }

    // MARK: Statements

    mutating func parseTemplate() throws -> [JinjaNode] {
        try split()
        position = 0
        let (nodes, end) = try parseBlock(until: [])
        if let end { throw error(end.offset, "unexpected {% \(end.text) %}, expected no open block here") }
        return nodes
    }

    /// Nodes up to one of the `until` statements (returned, not consumed beyond its name).
    mutating func parseBlock(until: Set<String>) throws -> ([JinjaNode], JinjaToken?) {
        depth += 1
        defer { depth -= 1 }
        guard depth <= JinjaTemplate.maxNesting else {
            throw error(partOffset, "blocks nested more than \(JinjaTemplate.maxNesting) deep")
        }
        var nodes: [JinjaNode] = []
        while position < parts.count {
            let part = parts[position]
            position += 1
            switch part {
            case .text(let s, _): nodes.append(.text(s))
            case .tag(let kind, let toks, let offset):
                tokens = toks
                tokenIndex = 0
                if kind == "{{" {
                    let e = try parseExpression()
                    try expectEnd("}}")
                    nodes.append(.output(e, offset))
                    continue
                }
                let keyword = try next()
                guard keyword.kind == .name else { throw error(keyword.offset, "expected a statement name, saw \(describe(keyword))") }
                if until.contains(keyword.text) { return (nodes, keyword) }
                switch keyword.text {
                case "for": nodes.append(try parseFor(keyword))
                case "if": nodes.append(try parseIf(keyword))
                case "set": nodes.append(try parseSet(keyword))
                case "endfor", "endif", "elif", "else":
                    throw error(keyword.offset, "unexpected {% \(keyword.text) %}" + (until.isEmpty ? "" : ", expected {% \(until.sorted().joined(separator: " %} or {% ")) %}"))
                default:
                    throw error(keyword.offset, "unsupported statement '\(keyword.text)', expected for, if, set or their end tags")
                }
            }
        }
        if let open = until.first(where: { $0.hasPrefix("end") }) ?? until.sorted().first {
            throw error(source.count, "end of template, expected {% \(open) %}")
        }
        return (nodes, nil)
    }

    var partOffset: Int {
        guard position > 0, position <= parts.count else { return source.count }
        switch parts[position - 1] {
        case .text(_, let o), .tag(_, _, let o): return o
        }
    }

    mutating func parseFor(_ keyword: JinjaToken) throws -> JinjaNode {
        var targets = [try expectName()]
        while peek.text == "," && peek.kind == .op { _ = try next(); targets.append(try expectName()) }
        try expectKeyword("in")
        let iterable = try parseOr(allowConditional: false)
        var filter: JinjaExpr?
        if peek.kind == .name && peek.text == "if" { _ = try next(); filter = try parseOr(allowConditional: false) }
        try expectEnd("%}")
        var (body, end) = try parseBlock(until: ["endfor", "else"])
        var otherwise: [JinjaNode] = []
        if end?.text == "else" {
            try expectEnd("%}")
            (otherwise, end) = try parseBlock(until: ["endfor"])
        }
        try expectEnd("%}")
        return .forLoop(targets: targets, iterable: iterable, filter: filter, body: body, otherwise: otherwise, keyword.offset)
    }

    mutating func parseIf(_ keyword: JinjaToken) throws -> JinjaNode {
        var branches: [(JinjaExpr, [JinjaNode])] = []
        var condition = try parseExpression()
        try expectEnd("%}")
        while true {
            let (body, end) = try parseBlock(until: ["elif", "else", "endif"])
            branches.append((condition, body))
            switch end?.text {
            case "elif":
                condition = try parseExpression()
                try expectEnd("%}")
            case "else":
                try expectEnd("%}")
                let (otherwise, _) = try parseBlock(until: ["endif"])
                try expectEnd("%}")
                return .ifChain(branches, otherwise: otherwise)
            default:
                try expectEnd("%}")
                return .ifChain(branches, otherwise: [])
            }
        }
    }

    mutating func parseSet(_ keyword: JinjaToken) throws -> JinjaNode {
        let first = try expectName()
        var object: JinjaExpr?
        var name = first
        if peek.kind == .op && peek.text == "." {
            _ = try next()
            object = .name(first, keyword.offset)
            name = try expectName()
        }
        let eq = try next()
        guard eq.kind == .op, eq.text == "=" else {
            throw error(eq.offset, "expected = after {% set \(name), saw \(describe(eq)) (block set is not supported)")
        }
        let value = try parseExpression()
        try expectEnd("%}")
        return .set(object, name: name, value: value, keyword.offset)
    }

    // MARK: Expressions

    var peek: JinjaToken { tokens[min(tokenIndex, tokens.count - 1)] }

    mutating func next() throws -> JinjaToken {
        let t = peek
        if tokenIndex < tokens.count - 1 { tokenIndex += 1 }
        return t
    }

    func describe(_ t: JinjaToken) -> String {
        switch t.kind {
        case .end: return "the end of the tag"
        case .string: return "a string"
        case .name, .int, .double, .op: return "'\(t.text)'"
        }
    }

    mutating func expectEnd(_ closer: String) throws {
        let t = try next()
        guard t.kind == .end else { throw error(t.offset, "expected \(closer), saw \(describe(t))") }
    }

    mutating func expectName() throws -> String {
        let t = try next()
        guard t.kind == .name else { throw error(t.offset, "expected a name, saw \(describe(t))") }
        return t.text
    }

    mutating func expectKeyword(_ word: String) throws {
        let t = try next()
        guard t.kind == .name, t.text == word else { throw error(t.offset, "expected '\(word)', saw \(describe(t))") }
    }

    mutating func expectOp(_ op: String) throws {
        let t = try next()
        guard t.kind == .op, t.text == op else { throw error(t.offset, "expected '\(op)', saw \(describe(t))") }
    }

    func isOp(_ op: String) -> Bool { peek.kind == .op && peek.text == op }
    func isWord(_ w: String) -> Bool { peek.kind == .name && peek.text == w }

    mutating func parseExpression() throws -> JinjaExpr {
        depth += 1
        defer { depth -= 1 }
        guard depth <= JinjaTemplate.maxNesting else { throw error(peek.offset, "expression nested more than \(JinjaTemplate.maxNesting) deep") }
        return try parseOr(allowConditional: true)
    }

    mutating func parseOr(allowConditional: Bool) throws -> JinjaExpr {
        var e = try parseAnd()
        while isWord("or") { _ = try next(); e = .or(e, try parseAnd()) }
        if allowConditional && isWord("if") {
            _ = try next()
            let condition = try parseOr(allowConditional: false)
            var otherwise: JinjaExpr?
            if isWord("else") { _ = try next(); otherwise = try parseOr(allowConditional: true) }
            e = .conditional(e, condition: condition, otherwise: otherwise)
        }
        return e
    }

    mutating func parseAnd() throws -> JinjaExpr {
        var e = try parseNot()
        while isWord("and") { _ = try next(); e = .and(e, try parseNot()) }
        return e
    }

    mutating func parseNot() throws -> JinjaExpr {
        if isWord("not") {
            _ = try next()
            depth += 1
            defer { depth -= 1 }
            guard depth <= JinjaTemplate.maxNesting else { throw error(peek.offset, "expression nested more than \(JinjaTemplate.maxNesting) deep") }
            return .not(try parseNot())
        }
        return try parseComparison()
    }

    mutating func parseComparison() throws -> JinjaExpr {
        var e = try parseConcat()
        while true {
            let t = peek
            if t.kind == .op, ["==", "!=", "<", ">", "<=", ">="].contains(t.text) {
                _ = try next()
                e = .binary(t.text, e, try parseConcat(), t.offset)
            } else if isWord("in") {
                _ = try next()
                e = .binary("in", e, try parseConcat(), t.offset)
            } else if isWord("not"), tokenIndex + 1 < tokens.count, tokens[tokenIndex + 1].kind == .name, tokens[tokenIndex + 1].text == "in" {
                _ = try next(); _ = try next()
                e = .not(.binary("in", e, try parseConcat(), t.offset))
            } else if isWord("is") {
                _ = try next()
                var negated = false
                if isWord("not") { _ = try next(); negated = true }
                let testToken = try next()
                guard testToken.kind == .name else { throw error(testToken.offset, "expected a test name after 'is', saw \(describe(testToken))") }
                var args: [JinjaExpr] = []
                if isOp("(") {
                    (args, _) = try parseArguments()
                } else if [.string, .int, .double].contains(peek.kind) {
                    args = [try parsePrimary()]
                }
                e = .test(e, testToken.text, args, negated: negated, testToken.offset)
            } else {
                return e
            }
        }
    }

    mutating func parseConcat() throws -> JinjaExpr {
        var e = try parseAdditive()
        while isOp("~") { let t = try next(); e = .binary("~", e, try parseAdditive(), t.offset) }
        return e
    }

    mutating func parseAdditive() throws -> JinjaExpr {
        var e = try parseMultiplicative()
        while isOp("+") || isOp("-") { let t = try next(); e = .binary(t.text, e, try parseMultiplicative(), t.offset) }
        return e
    }

    mutating func parseMultiplicative() throws -> JinjaExpr {
        var e = try parseUnary()
        while isOp("*") || isOp("/") || isOp("//") || isOp("%") { let t = try next(); e = .binary(t.text, e, try parseUnary(), t.offset) }
        return e
    }

    mutating func parseUnary() throws -> JinjaExpr {
        if isOp("-") {
            let t = try next()
            depth += 1
            defer { depth -= 1 }
            guard depth <= JinjaTemplate.maxNesting else { throw error(t.offset, "expression nested more than \(JinjaTemplate.maxNesting) deep") }
            return .negate(try parseUnary(), t.offset)
        }
        if isOp("+") { _ = try next(); return try parseUnary() }
        return try parseFiltered()
    }

    mutating func parseFiltered() throws -> JinjaExpr {
        var e = try parsePostfix(try parsePrimary())
        while isOp("|") {
            _ = try next()
            let t = try next()
            guard t.kind == .name else { throw error(t.offset, "expected a filter name after '|', saw \(describe(t))") }
            var args: [JinjaExpr] = [], kwargs: [(String, JinjaExpr)] = []
            if isOp("(") { (args, kwargs) = try parseArguments() }
            e = try parsePostfix(.filter(e, t.text, args, kwargs, t.offset))
        }
        return e
    }

    mutating func parsePostfix(_ base: JinjaExpr) throws -> JinjaExpr {
        var e = base
        while true {
            if isOp(".") {
                _ = try next()
                let t = try next()
                guard t.kind == .name || t.kind == .int else { throw error(t.offset, "expected an attribute name after '.', saw \(describe(t))") }
                e = t.kind == .int ? .item(e, .literal(.int(Int(t.text) ?? 0)), t.offset) : .attribute(e, t.text, t.offset)
            } else if isOp("[") {
                let open = try next()
                var parts: [JinjaExpr?] = [nil]
                var colons = 0
                while !isOp("]") {
                    if isOp(":") {
                        _ = try next()
                        colons += 1
                        guard colons <= 2 else { throw error(open.offset, "expected at most two ':' in a slice") }
                        parts.append(nil)
                    } else {
                        guard parts[parts.count - 1] == nil else { throw error(peek.offset, "expected ']' or ':', saw \(describe(peek))") }
                        parts[parts.count - 1] = try parseExpression()
                    }
                }
                try expectOp("]")
                if colons == 0 {
                    guard let index = parts[0] else { throw error(open.offset, "expected an index inside []") }
                    e = .item(e, index, open.offset)
                } else {
                    e = .slice(e, parts[0], parts[1], parts.count > 2 ? parts[2] : nil, open.offset)
                }
            } else if isOp("(") {
                let offset = peek.offset
                let (args, kwargs) = try parseArguments()
                e = .call(e, args, kwargs, offset)
            } else {
                return e
            }
        }
    }

    mutating func parseArguments() throws -> ([JinjaExpr], [(String, JinjaExpr)]) {
        try expectOp("(")
        var args: [JinjaExpr] = [], kwargs: [(String, JinjaExpr)] = []
        while !isOp(")") {
            if peek.kind == .name, tokenIndex + 1 < tokens.count, tokens[tokenIndex + 1].kind == .op, tokens[tokenIndex + 1].text == "=" {
                let key = try next().text
                _ = try next()
                kwargs.append((key, try parseExpression()))
            } else {
                guard kwargs.isEmpty else { throw error(peek.offset, "expected a keyword argument (positional after keyword)") }
                args.append(try parseExpression())
            }
            if isOp(",") { _ = try next() } else if !isOp(")") { throw error(peek.offset, "expected ',' or ')', saw \(describe(peek))") }
        }
        try expectOp(")")
        return (args, kwargs)
    }

    mutating func parsePrimary() throws -> JinjaExpr {
        let t = try next()
        switch t.kind {
        case .string:
            var s = t.text
            while peek.kind == .string { s += try next().text }
            return .literal(.string(s))
        case .int: return .literal(.int(Int(t.text) ?? 0))
        case .double: return .literal(.double(Double(t.text) ?? 0))
        case .name:
            switch t.text {
            case "true", "True": return .literal(.bool(true))
            case "false", "False": return .literal(.bool(false))
            case "none", "None": return .literal(.none)
            default: return .name(t.text, t.offset)
            }
        case .op:
            switch t.text {
            case "(":
                let e = try parseExpression()
                if isOp(",") {
                    var items = [e]
                    while isOp(",") { _ = try next(); if isOp(")") { break }; items.append(try parseExpression()) }
                    try expectOp(")")
                    return .list(items)
                }
                try expectOp(")")
                return e
            case "[":
                var items: [JinjaExpr] = []
                while !isOp("]") {
                    items.append(try parseExpression())
                    if isOp(",") { _ = try next() } else if !isOp("]") { throw error(peek.offset, "expected ',' or ']', saw \(describe(peek))") }
                }
                try expectOp("]")
                return .list(items)
            case "{":
                var pairs: [(JinjaExpr, JinjaExpr)] = []
                while !isOp("}") {
                    let key = try parseExpression()
                    try expectOp(":")
                    pairs.append((key, try parseExpression()))
                    if isOp(",") { _ = try next() } else if !isOp("}") { throw error(peek.offset, "expected ',' or '}', saw \(describe(peek))") }
                }
                try expectOp("}")
                return .dict(pairs)
            default:
                throw error(t.offset, "expected a value, saw \(describe(t))")
            }
        case .end:
            throw error(t.offset, "expected a value, saw the end of the tag")
        }
    }
}

// MARK: Lexer

struct JinjaLexer {
    let source: [Unicode.Scalar]
    var position: Int
    let name: String

    static let operators = ["//", "==", "!=", "<=", ">=", "(", ")", "[", "]", "{", "}", ".", ",", ":", "|", "~", "+", "-",
                            "*", "/", "%", "<", ">", "="]

    func error(_ offset: Int, _ message: String) -> IngotError {
        JinjaTemplate.error(.format, source, name, offset, message)
    }

    /// Tokens up to `-?{closer}}`; returns them (ending with an .end token), the position after
    /// the tag, and whether it ended with `-`.
    mutating func tokens(closer: Unicode.Scalar, tagStart: Int) throws -> ([JinjaToken], Int, Bool) {
        var out: [JinjaToken] = []
        let n = source.count
        var brackets = 0
        while true {
            while position < n, source[position].properties.isWhitespace { position += 1 }
            guard position < n else {
                throw error(tagStart, "tag not closed, expected \(closer == "}" ? "}}" : "%}")")
            }
            let c = source[position]
            let start = position
            // End of tag: `-}}`, `}}` (outside brackets), `-%}`, `%}`.
            if c == "-" || c == "+", position + 2 < n, source[position + 1] == closer, source[position + 2] == "}", brackets == 0 || closer == "%" {
                out.append(JinjaToken(kind: .end, text: "", offset: start))
                return (out, position + 3, c == "-")
            }
            if c == closer, position + 1 < n, source[position + 1] == "}", brackets == 0 || closer == "%" {
                out.append(JinjaToken(kind: .end, text: "", offset: start))
                return (out, position + 2, false)
            }
            if c == "'" || c == "\"" {
                out.append(JinjaToken(kind: .string, text: try string(quote: c), offset: start))
                continue
            }
            if c.properties.numericType != nil, c.isASCII {
                while position < n, source[position].isASCII, source[position].properties.numericType != nil || source[position] == "_" { position += 1 }
                var isDouble = false
                if position + 1 < n, source[position] == ".", source[position + 1].isASCII, source[position + 1].properties.numericType != nil {
                    isDouble = true
                    position += 1
                    while position < n, source[position].isASCII, source[position].properties.numericType != nil { position += 1 }
                }
                let text = String(String.UnicodeScalarView(source[start..<position].filter { $0 != "_" }))
                out.append(JinjaToken(kind: isDouble ? .double : .int, text: text, offset: start))
                continue
            }
            if c == "_" || c.properties.isAlphabetic {
                while position < n, source[position] == "_" || source[position].properties.isAlphabetic
                        || (source[position].isASCII && source[position].properties.numericType != nil) { position += 1 }
                out.append(JinjaToken(kind: .name, text: String(String.UnicodeScalarView(source[start..<position])), offset: start))
                continue
            }
            var matched: String?
            for op in JinjaLexer.operators {
                let scalars = Array(op.unicodeScalars)
                if position + scalars.count <= n, Array(source[position..<(position + scalars.count)]) == scalars { matched = op; break }
            }
            guard let op = matched else { throw error(start, "unexpected character '\(String(c))' in a tag") }
            if op == "(" || op == "[" || op == "{" { brackets += 1 }
            if op == ")" || op == "]" || op == "}" { brackets = max(brackets - 1, 0) }
            position += op.unicodeScalars.count
            out.append(JinjaToken(kind: .op, text: op, offset: start))
        }
    }

    mutating func string(quote: Unicode.Scalar) throws -> String {
        let start = position
        position += 1
        var out = String.UnicodeScalarView()
        while position < source.count {
            let c = source[position]
            position += 1
            if c == quote { return String(out) }
            if c == "\\", position < source.count {
                let e = source[position]
                position += 1
                switch e {
                case "n": out.append("\n")
                case "t": out.append("\t")
                case "r": out.append("\r")
                case "\\": out.append("\\")
                case "'": out.append("'")
                case "\"": out.append("\"")
                case "0": out.append("\0")
                default: out.append("\\"); out.append(e)
                }
            } else {
                out.append(c)
            }
        }
        throw error(start, "string not closed, expected \(quote == "'" ? "'" : "\"")")
    }
}

// MARK: Renderer

struct JinjaRenderer {
    let source: [Unicode.Scalar]
    let name: String
    var scopes: [[String: JinjaValue]]
    var output = ""
    var outputScalars = 0
    var steps = 0

    init(source: [Unicode.Scalar], name: String, globals: [String: JinjaValue]) {
        self.source = source
        self.name = name
        scopes = [globals]
    }

    func error(_ offset: Int, _ message: String) -> IngotError {
        JinjaTemplate.error(.format, source, name, offset, message)
    }

    mutating func emit(_ s: String) throws {
        outputScalars += s.unicodeScalars.count
        guard outputScalars <= JinjaTemplate.maxOutputScalars else {
            throw IngotError(.format, location: name, "output longer than \(JinjaTemplate.maxOutputScalars) characters")
        }
        output += s
    }

    mutating func step(_ offset: Int) throws {
        steps += 1
        guard steps <= JinjaTemplate.maxSteps else { throw error(offset, "more than \(JinjaTemplate.maxSteps) evaluation steps") }
    }

    func lookup(_ name: String) -> JinjaValue {
        for scope in scopes.reversed() { if let v = scope[name] { return v } }
        switch name {
        case "raise_exception", "namespace", "range", "dict": return .function(name)
        default: return .undefined(name)
        }
    }

    mutating func run(_ nodes: [JinjaNode]) throws {
        for node in nodes {
            switch node {
            case .text(let s): try emit(s)
            case .output(let e, _): try emit(try eval(e).text)
            case .ifChain(let branches, let otherwise):
                var taken: [JinjaNode]?
                for (condition, body) in branches {
                    if try eval(condition).isTrue { taken = body; break }
                }
                try run(taken ?? otherwise)
            case .set(let object, let name, let valueExpr, let offset):
                let value = try eval(valueExpr)
                if let object {
                    guard case .namespace(let ns) = try eval(object) else {
                        throw error(offset, "expected a namespace() to set '.\(name)' on")
                    }
                    ns.attributes[name] = value
                } else {
                    scopes[scopes.count - 1][name] = value
                }
            case .forLoop(let targets, let iterableExpr, let filter, let body, let otherwise, let offset):
                var items = try iterate(try eval(iterableExpr), offset)
                if let filter {
                    var kept: [JinjaValue] = []
                    for item in items {
                        scopes.append(try bind(targets, item, offset))
                        defer { scopes.removeLast() }
                        if try eval(filter).isTrue { kept.append(item) }
                    }
                    items = kept
                }
                if items.isEmpty { try run(otherwise); continue }
                for (i, item) in items.enumerated() {
                    try step(offset)
                    var scope = try bind(targets, item, offset)
                    scope["loop"] = .dict(JinjaDict([
                        ("index0", .int(i)), ("index", .int(i + 1)), ("first", .bool(i == 0)), ("last", .bool(i == items.count - 1)),
                        ("length", .int(items.count)), ("revindex", .int(items.count - i)), ("revindex0", .int(items.count - i - 1)),
                        ("previtem", i > 0 ? items[i - 1] : .undefined("previtem")),
                        ("nextitem", i + 1 < items.count ? items[i + 1] : .undefined("nextitem")),
                    ]))
                    scopes.append(scope)
                    defer { scopes.removeLast() }
                    try run(body)
                }
            }
        }
    }

    func bind(_ targets: [String], _ item: JinjaValue, _ offset: Int) throws -> [String: JinjaValue] {
        if targets.count == 1 { return [targets[0]: item] }
        guard case .list(let parts) = item, parts.count == targets.count else {
            throw error(offset, "cannot unpack \(item.typeName) into \(targets.count) names (\(targets.joined(separator: ", ")))")
        }
        var scope: [String: JinjaValue] = [:]
        for (t, v) in zip(targets, parts) { scope[t] = v }
        return scope
    }

    func iterate(_ v: JinjaValue, _ offset: Int) throws -> [JinjaValue] {
        switch v {
        case .undefined, .none: return []
        case .list(let l): return l
        case .dict(let d): return d.keys.map { .string($0) }
        case .string(let s): return s.map { .string(String($0)) }
        case .bool, .int, .double, .namespace, .function, .method:
            throw error(offset, "cannot iterate over a \(v.typeName), expected a list, dict or string")
        }
    }

    mutating func eval(_ e: JinjaExpr) throws -> JinjaValue {
        try step(0)
        switch e {
        case .literal(let v): return v
        case .name(let n, _): return lookup(n)
        case .list(let items): return .list(try items.map { try eval($0) })
        case .dict(let pairs):
            var d = JinjaDict()
            for (k, v) in pairs {
                guard case .string(let key) = try eval(k) else { throw error(0, "dict keys must be strings") }
                d[key] = try eval(v)
            }
            return .dict(d)
        case .attribute(let base, let attr, let offset):
            return try attribute(try eval(base), attr, offset)
        case .item(let base, let indexExpr, let offset):
            let b = try eval(base)
            let index = try eval(indexExpr)
            if case .string(let key) = index, case .dict = b { return try attribute(b, key, offset) }
            if case .string(let key) = index, case .namespace = b { return try attribute(b, key, offset) }
            return try item(b, index, offset)
        case .slice(let base, let a, let b, let c, let offset):
            return try slice(try eval(base), try a.map { try eval($0) }, try b.map { try eval($0) }, try c.map { try eval($0) }, offset)
        case .call(let callee, let argExprs, let kwargExprs, let offset):
            let f = try eval(callee)
            let args = try argExprs.map { try eval($0) }
            var kwargs: [(String, JinjaValue)] = []
            for (k, v) in kwargExprs { kwargs.append((k, try eval(v))) }
            return try call(f, args, kwargs, offset)
        case .filter(let base, let filterName, let argExprs, let kwargExprs, let offset):
            let v = try eval(base)
            let args = try argExprs.map { try eval($0) }
            var kwargs: [(String, JinjaValue)] = []
            for (k, v) in kwargExprs { kwargs.append((k, try eval(v))) }
            return try filter(filterName, v, args, kwargs, offset)
        case .test(let base, let testName, let argExprs, let negated, let offset):
            let v = try eval(base)
            let args = try argExprs.map { try eval($0) }
            let result = try test(testName, v, args, offset)
            return .bool(negated ? !result : result)
        case .not(let inner): return .bool(!(try eval(inner).isTrue))
        case .negate(let inner, let offset):
            switch try eval(inner) {
            case .int(let i): return .int(0 &- i)
            case .double(let d): return .double(-d)
            case let other: throw error(offset, "cannot negate a \(other.typeName), expected a number")
            }
        case .and(let a, let b):
            let left = try eval(a)
            return left.isTrue ? try eval(b) : left
        case .or(let a, let b):
            let left = try eval(a)
            return left.isTrue ? left : try eval(b)
        case .conditional(let value, let condition, let otherwise):
            if try eval(condition).isTrue { return try eval(value) }
            return try otherwise.map { try eval($0) } ?? .undefined("else")
        case .binary(let op, let a, let b, let offset):
            return try binary(op, try eval(a), try eval(b), offset)
        }
    }

    func undefinedError(_ v: JinjaValue, _ offset: Int, _ doing: String) -> IngotError {
        if case .undefined(let n) = v { return error(offset, "'\(n)' is undefined, \(doing)") }
        return error(offset, "\(doing) on a \(v.typeName)")
    }

    func attribute(_ base: JinjaValue, _ attr: String, _ offset: Int) throws -> JinjaValue {
        switch base {
        case .dict(let d):
            if let v = d[attr] { return v }
            if ["items", "keys", "values", "get"].contains(attr) { return .method(base, attr) }
            return .undefined(attr)
        case .namespace(let ns): return ns.attributes[attr] ?? .undefined(attr)
        case .string:
            let methods = ["startswith", "endswith", "strip", "lstrip", "rstrip", "split", "replace", "upper", "lower",
                           "title", "capitalize", "join", "find", "count"]
            return methods.contains(attr) ? .method(base, attr) : .undefined(attr)
        case .undefined: throw undefinedError(base, offset, "cannot read its attribute '\(attr)'")
        case .none, .bool, .int, .double, .list, .function, .method: return .undefined(attr)
        }
    }

    func item(_ base: JinjaValue, _ index: JinjaValue, _ offset: Int) throws -> JinjaValue {
        switch (base, index) {
        case (.list(let l), .int(let i)):
            let k = i < 0 ? l.count + i : i
            return k >= 0 && k < l.count ? l[k] : .undefined("[\(i)]")
        case (.string(let s), .int(let i)):
            let chars = Array(s)
            let k = i < 0 ? chars.count + i : i
            return k >= 0 && k < chars.count ? .string(String(chars[k])) : .undefined("[\(i)]")
        case (.undefined, _): throw undefinedError(base, offset, "cannot index it")
        default: return .undefined("[\(index.repr)]")
        }
    }

    func slice(_ base: JinjaValue, _ a: JinjaValue?, _ b: JinjaValue?, _ c: JinjaValue?, _ offset: Int) throws -> JinjaValue {
        func int(_ v: JinjaValue?) throws -> Int? {
            switch v {
            case nil, .some(.none): return nil
            case .some(.int(let i)): return i
            case .some(let other): throw error(offset, "slice bounds must be integers, saw a \(other.typeName)")
            }
        }
        let stepValue = try int(c) ?? 1
        guard stepValue != 0 else { throw error(offset, "slice step cannot be zero") }
        func indices(_ n: Int) throws -> [Int] {
            func clamp(_ v: Int?, _ fallback: Int) -> Int {
                guard var v else { return fallback }
                if v < 0 { v += n }
                return stepValue > 0 ? min(max(v, 0), n) : min(max(v, -1), n - 1)
            }
            let start = clamp(try int(a), stepValue > 0 ? 0 : n - 1)
            let stop = clamp(try int(b), stepValue > 0 ? n : -1)
            return Array(stride(from: start, to: stop, by: stepValue))
        }
        switch base {
        case .list(let l): return .list(try indices(l.count).map { l[$0] })
        case .string(let s):
            let chars = Array(s)
            return .string(String(try indices(chars.count).map { chars[$0] }))
        case .undefined: throw undefinedError(base, offset, "cannot slice it")
        default: throw error(offset, "cannot slice a \(base.typeName), expected a list or string")
        }
    }

    func binary(_ op: String, _ a: JinjaValue, _ b: JinjaValue, _ offset: Int) throws -> JinjaValue {
        switch op {
        case "==": return .bool(JinjaValue.equal(a, b))
        case "!=": return .bool(!JinjaValue.equal(a, b))
        case "~": return .string(a.text + b.text)
        case "in":
            switch b {
            case .string(let s):
                guard case .string(let needle) = a else { throw error(offset, "'in <string>' needs a string on the left, saw a \(a.typeName)") }
                return .bool(needle.isEmpty || s.contains(needle))
            case .list(let l): return .bool(l.contains { JinjaValue.equal($0, a) })
            case .dict(let d):
                if case .string(let k) = a { return .bool(d[k] != nil) }
                return .bool(false)
            case .undefined: throw undefinedError(b, offset, "cannot test membership in it")
            default: throw error(offset, "cannot test membership in a \(b.typeName)")
            }
        case "<", ">", "<=", ">=":
            let order: Int
            if case .string(let x) = a, case .string(let y) = b {
                order = x < y ? -1 : x == y ? 0 : 1
            } else if let x = a.number, let y = b.number {
                order = x < y ? -1 : x == y ? 0 : 1
            } else {
                throw error(offset, "cannot compare a \(a.typeName) with a \(b.typeName) using \(op)")
            }
            switch op {
            case "<": return .bool(order < 0)
            case ">": return .bool(order > 0)
            case "<=": return .bool(order <= 0)
            default: return .bool(order >= 0)
            }
        case "+":
            switch (a, b) {
            case (.string(let x), .string(let y)): return .string(x + y)
            case (.list(let x), .list(let y)): return .list(x + y)
            case (.int(let x), .int(let y)):
                let (r, overflow) = x.addingReportingOverflow(y)
                return overflow ? .double(Double(x) + Double(y)) : .int(r)
            default: break
            }
        case "-":
            if case .int(let x) = a, case .int(let y) = b {
                let (r, overflow) = x.subtractingReportingOverflow(y)
                return overflow ? .double(Double(x) - Double(y)) : .int(r)
            }
        case "*":
            switch (a, b) {
            case (.int(let x), .int(let y)):
                let (r, overflow) = x.multipliedReportingOverflow(by: y)
                return overflow ? .double(Double(x) * Double(y)) : .int(r)
            case (.string(let s), .int(let n)), (.int(let n), .string(let s)):
                guard n <= 0 || s.unicodeScalars.count <= JinjaTemplate.maxOutputScalars / n else {
                    throw error(offset, "string repetition longer than \(JinjaTemplate.maxOutputScalars) characters")
                }
                return .string(n > 0 ? String(repeating: s, count: n) : "")
            default: break
            }
        case "//", "%":
            if case .int(let x) = a, case .int(let y) = b {
                guard y != 0 else { throw error(offset, "division by zero") }
                guard !(x == .min && y == -1) else { return .double(-Double(x)) }
                let q = x / y, r = x % y
                let floorQ = (r != 0 && (r < 0) != (y < 0)) ? q - 1 : q
                return .int(op == "//" ? floorQ : x - floorQ * y)
            }
        default: break
        }
        if let x = a.number, let y = b.number {
            switch op {
            case "+": return .double(x + y)
            case "-": return .double(x - y)
            case "*": return .double(x * y)
            case "/":
                guard y != 0 else { throw error(offset, "division by zero") }
                return .double(x / y)
            case "//":
                guard y != 0 else { throw error(offset, "division by zero") }
                return .double((x / y).rounded(.down))
            case "%":
                guard y != 0 else { throw error(offset, "division by zero") }
                return .double(x - y * (x / y).rounded(.down))
            default: break
            }
        }
        if case .undefined = a { throw undefinedError(a, offset, "cannot apply '\(op)'") }
        if case .undefined = b { throw undefinedError(b, offset, "cannot apply '\(op)'") }
        throw error(offset, "cannot apply '\(op)' to \(a.typeName) and \(b.typeName)")
    }

    func stringArgument(_ args: [JinjaValue], _ i: Int, _ what: String, _ offset: Int) throws -> String? {
        guard i < args.count else { return nil }
        switch args[i] {
        case .string(let s): return s
        case .none: return nil
        default: throw error(offset, "\(what): argument \(i + 1) must be a string, saw a \(args[i].typeName)")
        }
    }

    func call(_ f: JinjaValue, _ args: [JinjaValue], _ kwargs: [(String, JinjaValue)], _ offset: Int) throws -> JinjaValue {
        switch f {
        case .function("raise_exception"):
            throw JinjaTemplate.error(.invalidArgument, source, name, offset, "the template raised: \(args.first?.text ?? "")")
        case .function("namespace"), .function("dict"):
            var d = JinjaDict()
            if case .dict(let initial)? = args.first { d = initial }
            for (k, v) in kwargs { d[k] = v }
            if case .function("dict") = f { return .dict(d) }
            let ns = JinjaNamespace()
            ns.attributes = d
            return .namespace(ns)
        case .function("range"):
            var bounds: [Int] = []
            for a in args {
                guard case .int(let i) = a else { throw error(offset, "range() takes integers, saw a \(a.typeName)") }
                bounds.append(i)
            }
            let (start, stop, step): (Int, Int, Int)
            switch bounds.count {
            case 1: (start, stop, step) = (0, bounds[0], 1)
            case 2: (start, stop, step) = (bounds[0], bounds[1], 1)
            case 3: (start, stop, step) = (bounds[0], bounds[1], bounds[2])
            default: throw error(offset, "range() takes 1 to 3 integers, saw \(bounds.count)")
            }
            guard step != 0 else { throw error(offset, "range() step cannot be zero") }
            let count = step > 0 ? max(0, (stop - start + step - 1) / step) : max(0, (start - stop - step - 1) / -step)
            guard count <= 1 << 20 else { throw error(offset, "range() of \(count) items, expected at most \(1 << 20)") }
            return .list((0..<count).map { .int(start + $0 * step) })
        case .method(let base, let method): return try callMethod(base, method, args, kwargs, offset)
        case .undefined(let n): throw error(offset, "'\(n)' is undefined, cannot call it")
        default: throw error(offset, "cannot call a \(f.typeName)")
        }
    }

    func callMethod(_ base: JinjaValue, _ method: String, _ args: [JinjaValue], _ kwargs: [(String, JinjaValue)], _ offset: Int) throws -> JinjaValue {
        let what = "\(method)()"
        switch base {
        case .dict(let d):
            switch method {
            case "items": return .list(d.keys.map { .list([.string($0), d[$0]!]) })
            case "keys": return .list(d.keys.map { .string($0) })
            case "values": return .list(d.keys.map { d[$0]! })
            default:
                guard let key = try stringArgument(args, 0, what, offset) else { return args.count > 1 ? args[1] : .none }
                return d[key] ?? (args.count > 1 ? args[1] : .none)
            }
        case .string(let s):
            switch method {
            case "startswith", "endswith":
                var options: [String] = []
                if case .list(let l)? = args.first { options = l.map(\.text) } else if let p = try stringArgument(args, 0, what, offset) { options = [p] }
                return .bool(options.contains { method == "startswith" ? s.hasPrefix($0) : s.hasSuffix($0) })
            case "strip", "lstrip", "rstrip":
                let chars = try stringArgument(args, 0, what, offset).map { Set($0.unicodeScalars) }
                return .string(JinjaRenderer.strip(s, chars, left: method != "rstrip", right: method != "lstrip"))
            case "split":
                let limit: Int
                if args.count > 1, case .int(let m) = args[1] { limit = m } else { limit = -1 }
                return .list(JinjaRenderer.split(s, try stringArgument(args, 0, what, offset), limit: limit).map { .string($0) })
            case "replace":
                guard let old = try stringArgument(args, 0, what, offset), let new = try stringArgument(args, 1, what, offset) else {
                    throw error(offset, "replace() takes two strings")
                }
                return .string(JinjaRenderer.replace(s, old, new))
            case "upper": return .string(s.uppercased())
            case "lower": return .string(s.lowercased())
            case "title": return .string(JinjaRenderer.title(s))
            case "capitalize": return .string(s.prefix(1).uppercased() + s.dropFirst().lowercased())
            case "join":
                guard case .list(let l)? = args.first else { throw error(offset, "join() takes a list") }
                return .string(l.map(\.text).joined(separator: s))
            case "find":
                guard let needle = try stringArgument(args, 0, what, offset) else { throw error(offset, "find() takes a string") }
                let hay = Array(s.unicodeScalars), n = Array(needle.unicodeScalars)
                guard n.count <= hay.count else { return .int(-1) }
                for i in 0...(hay.count - n.count) where Array(hay[i..<(i + n.count)]) == n { return .int(i) }
                return .int(-1)
            default:
                guard let needle = try stringArgument(args, 0, what, offset), !needle.isEmpty else { throw error(offset, "count() takes a non-empty string") }
                return .int(JinjaRenderer.split(s, needle, limit: -1).count - 1)
            }
        default:
            throw error(offset, "cannot call \(method)() on a \(base.typeName)")
        }
    }

    static func strip(_ s: String, _ chars: Set<Unicode.Scalar>?, left: Bool, right: Bool) -> String {
        var scalars = Array(s.unicodeScalars)[...]
        func strippable(_ c: Unicode.Scalar) -> Bool { chars.map { $0.contains(c) } ?? c.properties.isWhitespace }
        if left { while let f = scalars.first, strippable(f) { scalars.removeFirst() } }
        if right { while let l = scalars.last, strippable(l) { scalars.removeLast() } }
        return String(String.UnicodeScalarView(scalars))
    }

    /// Python's str.split: on `separator`, or on whitespace runs (dropping empty pieces) when nil.
    static func split(_ s: String, _ separator: String?, limit: Int) -> [String] {
        let scalars = Array(s.unicodeScalars)
        var out: [String] = []
        func piece(_ a: Int, _ b: Int) -> String { String(String.UnicodeScalarView(scalars[a..<b])) }
        guard let separator, !separator.isEmpty else {
            var i = 0
            while i < scalars.count {
                while i < scalars.count, scalars[i].properties.isWhitespace { i += 1 }
                guard i < scalars.count else { break }
                if limit >= 0 && out.count == limit {
                    var end = scalars.count
                    while end > i, scalars[end - 1].properties.isWhitespace { end -= 1 }
                    out.append(piece(i, end))
                    break
                }
                var j = i
                while j < scalars.count, !scalars[j].properties.isWhitespace { j += 1 }
                out.append(piece(i, j))
                i = j
            }
            return out
        }
        let sep = Array(separator.unicodeScalars)
        var start = 0, i = 0
        while i + sep.count <= scalars.count {
            if (limit < 0 || out.count < limit) && Array(scalars[i..<(i + sep.count)]) == sep {
                out.append(piece(start, i))
                i += sep.count
                start = i
            } else {
                i += 1
            }
        }
        out.append(piece(start, scalars.count))
        return out
    }

    static func replace(_ s: String, _ old: String, _ new: String) -> String {
        guard !old.isEmpty else { return s }
        return split(s, old, limit: -1).joined(separator: new)
    }

    static func title(_ s: String) -> String {
        var out = ""
        var previousCased = false
        for c in s {
            out += previousCased ? c.lowercased() : c.uppercased()
            previousCased = c.isLetter
        }
        return out
    }

    func filter(_ filterName: String, _ v: JinjaValue, _ args: [JinjaValue], _ kwargs: [(String, JinjaValue)], _ offset: Int) throws -> JinjaValue {
        func needString() throws -> String {
            switch v {
            case .string(let s): return s
            case .undefined: throw undefinedError(v, offset, "filter '\(filterName)' needs a string")
            default: return v.text
            }
        }
        switch filterName {
        case "trim": return .string(JinjaRenderer.strip(try needString(), nil, left: true, right: true))
        case "upper": return .string(try needString().uppercased())
        case "lower": return .string(try needString().lowercased())
        case "title": return .string(JinjaRenderer.title(try needString()))
        case "capitalize": let s = try needString(); return .string(s.prefix(1).uppercased() + s.dropFirst().lowercased())
        case "string": return .string(v.text)
        case "safe", "e", "escape": return v
        case "length", "count":
            switch v {
            case .string(let s): return .int(s.count)
            case .list(let l): return .int(l.count)
            case .dict(let d): return .int(d.count)
            case .undefined: return .int(0)
            default: throw error(offset, "filter '\(filterName)' needs a string, list or dict, saw a \(v.typeName)")
            }
        case "tojson":
            var indent: Int?
            for (k, a) in kwargs where k == "indent" { if case .int(let i) = a { indent = i } }
            if case .int(let i)? = args.first { indent = i }
            return .string(v.json(indent: indent))
        case "first", "last":
            let items = try iterate(v, offset)
            return (filterName == "first" ? items.first : items.last) ?? .undefined(filterName)
        case "reverse":
            if case .string(let s) = v { return .string(String(s.reversed())) }
            return .list(try iterate(v, offset).reversed())
        case "list": return .list(try iterate(v, offset))
        case "join":
            let sep = try stringArgument(args, 0, "join", offset) ?? ""
            return .string(try iterate(v, offset).map(\.text).joined(separator: sep))
        case "default", "d":
            let fallback = args.first ?? .string("")
            let boolean = args.count > 1 && args[1].isTrue
            if case .undefined = v { return fallback }
            return boolean && !v.isTrue ? fallback : v
        case "int":
            switch v {
            case .int: return v
            case .double(let d): return .int(d.isFinite && abs(d) < 9e18 ? Int(d) : 0)
            case .string(let s): return .int(Int(JinjaRenderer.strip(s, nil, left: true, right: true)) ?? 0)
            case .bool(let b): return .int(b ? 1 : 0)
            default: return .int(0)
            }
        case "items":
            guard case .dict(let d) = v else { throw error(offset, "filter 'items' needs a dict, saw a \(v.typeName)") }
            return .list(d.keys.map { .list([.string($0), d[$0]!]) })
        case "replace":
            guard let old = try stringArgument(args, 0, "replace", offset), let new = try stringArgument(args, 1, "replace", offset) else {
                throw error(offset, "filter 'replace' takes two strings")
            }
            return .string(JinjaRenderer.replace(try needString(), old, new))
        case "selectattr", "rejectattr":
            guard let attr = try stringArgument(args, 0, filterName, offset) else { throw error(offset, "filter '\(filterName)' takes an attribute name") }
            var kept: [JinjaValue] = []
            for item in try iterate(v, offset) {
                let value = try attribute(item, attr, offset)
                let passes: Bool
                if args.count > 1, let testName = try stringArgument(args, 1, filterName, offset) {
                    passes = try test(testName, value, Array(args.dropFirst(2)), offset)
                } else {
                    passes = value.isTrue
                }
                if passes == (filterName == "selectattr") { kept.append(item) }
            }
            return .list(kept)
        case "map":
            guard let attrValue = kwargs.first(where: { $0.0 == "attribute" })?.1, case .string(let attr) = attrValue else {
                throw error(offset, "filter 'map' is supported with attribute='…' only")
            }
            return .list(try iterate(v, offset).map { try attribute($0, attr, offset) })
        default:
            throw error(offset, "unknown filter '\(filterName)'")
        }
    }

    func test(_ testName: String, _ v: JinjaValue, _ args: [JinjaValue], _ offset: Int) throws -> Bool {
        switch testName {
        case "defined": if case .undefined = v { return false }; return true
        case "undefined": if case .undefined = v { return true }; return false
        case "none": if case .none = v { return true }; return false
        case "string": if case .string = v { return true }; return false
        case "number": if case .int = v { return true }; if case .double = v { return true }; return false
        case "integer": if case .int = v { return true }; return false
        case "float": if case .double = v { return true }; return false
        case "boolean": if case .bool = v { return true }; return false
        case "true": if case .bool(true) = v { return true }; return false
        case "false": if case .bool(false) = v { return true }; return false
        case "mapping": if case .dict = v { return true }; return false
        case "sequence", "iterable":
            switch v {
            case .list, .string, .dict: return true
            default: return false
            }
        case "callable": if case .function = v { return true }; if case .method = v { return true }; return false
        case "even", "odd":
            guard case .int(let i) = v else { throw error(offset, "test '\(testName)' needs an integer, saw a \(v.typeName)") }
            return (i % 2 == 0) == (testName == "even")
        case "equalto", "eq", "==", "sameas":
            guard let other = args.first else { throw error(offset, "test '\(testName)' needs a value to compare with") }
            return JinjaValue.equal(v, other)
        case "ne", "!=":
            guard let other = args.first else { throw error(offset, "test '\(testName)' needs a value to compare with") }
            return !JinjaValue.equal(v, other)
        case "lower": if case .string(let s) = v { return s == s.lowercased() }; return false
        case "upper": if case .string(let s) = v { return s == s.uppercased() }; return false
        default: throw error(offset, "unknown test '\(testName)'")
        }
    }
}
