// Parser: reads the textual IR that Printer writes back into a Graph, so pass tests can be
// written as text in → pass → text out. Constants parse with no data source. Errors name
// the line, the column and the token seen. It does not verify the graph (call verify()).
//
//   graph tiny(%x: f32[batch, 8]) -> (%y) {
//     @w: f32[4, 8]
//     %y: f32[batch, 4] = matmul(%x, @w) {transpose_b = true}
//     return %y
//   }

import IngotCore

public enum GraphParser {
    public static func parse(_ text: String, file: String? = nil) throws -> Graph {
        var p = Cursor(Array(text.unicodeScalars), file: file)
        return try p.graph()
    }
}

private struct Cursor {
    let s: [Unicode.Scalar]
    let file: String?
    var i = 0
    var names: [String: ValueID] = [:]

    init(_ s: [Unicode.Scalar], file: String?) {
        self.s = s
        self.file = file
    }

    // MARK: Errors and positions

    /// Where the next token starts: `i` past spaces and tabs.
    var tokenStart: Int {
        var j = i
        while j < s.count, s[j] == " " || s[j] == "\t" { j += 1 }
        return j
    }

    func position() -> String {
        var line = 1, col = 1
        for c in s[0..<min(tokenStart, s.count)] {
            if c == "\n" { line += 1; col = 1 } else { col += 1 }
        }
        return "line \(line), column \(col)"
    }

    func fail(_ expected: String) -> IngotError {
        var seen = ""
        var j = tokenStart
        while j < s.count, seen.unicodeScalars.count < 16, s[j] != "\n" { seen.unicodeScalars.append(s[j]); j += 1 }
        let shown = tokenStart >= s.count ? "end of input" : (seen.isEmpty ? "end of line" : "'\(seen)'")
        return IngotError(.format, file: file, location: position(), "expected \(expected), found \(shown)")
    }

    // MARK: Tokens

    mutating func skipSpace(newlines: Bool = true) {
        while i < s.count {
            let c = s[i]
            if c == " " || c == "\t" || c == "\r" || (newlines && c == "\n") { i += 1 }
            else if c == "/", i + 1 < s.count, s[i + 1] == "/" {
                while i < s.count, s[i] != "\n" { i += 1 }
            } else { break }
        }
    }

    mutating func accept(_ literal: String) -> Bool {
        skipSpace()
        let l = Array(literal.unicodeScalars)
        guard i + l.count <= s.count, Array(s[i..<i + l.count]) == l else { return false }
        i += l.count
        return true
    }

    mutating func expect(_ literal: String) throws {
        guard accept(literal) else { throw fail("'\(literal)'") }
    }

    static func isNameScalar(_ c: Unicode.Scalar) -> Bool {
        c.isASCII && (("a"..."z").contains(c) || ("A"..."Z").contains(c) || ("0"..."9").contains(c) || c == "_" || c == "." || c == "-")
    }

    /// A bare or quoted name.
    mutating func name() throws -> String {
        skipSpace()
        if i < s.count, s[i] == "\"" {
            i += 1
            var out = ""
            while i < s.count, s[i] != "\"" {
                if s[i] == "\\", i + 1 < s.count {
                    i += 1
                    out.unicodeScalars.append(s[i] == "n" ? "\n" : s[i])
                } else {
                    out.unicodeScalars.append(s[i])
                }
                i += 1
            }
            guard i < s.count else { throw fail("a closing '\"'") }
            i += 1
            return out
        }
        let start = i
        while i < s.count, Cursor.isNameScalar(s[i]) { i += 1 }
        guard i > start else { throw fail("a name") }
        return String(String.UnicodeScalarView(s[start..<i]))
    }

    /// Raw text of an attribute value: a bracketed list or a run up to ',' or '}'.
    mutating func attributeValue() throws -> String {
        skipSpace()
        let start = i
        if i < s.count, s[i] == "[" {
            while i < s.count, s[i] != "]", s[i] != "\n" { i += 1 }
            guard i < s.count, s[i] == "]" else { throw fail("']'") }
            i += 1
        } else {
            while i < s.count, s[i] != ",", s[i] != "}", s[i] != "\n" { i += 1 }
        }
        let text = String(String.UnicodeScalarView(s[start..<i])).trimmingSpaces()
        guard !text.isEmpty else { throw fail("an attribute value") }
        return text
    }

    // MARK: Grammar

    mutating func type() throws -> TensorType {
        let at = i
        let dtypeName = try name()
        guard let dtype = DType.allCases.first(where: { $0.description == dtypeName }) else {
            i = at
            throw fail("a dtype (\(DType.allCases.map(\.description).joined(separator: ", ")))")
        }
        return TensorType(dtype, try shape())
    }

    mutating func shape() throws -> Shape {
        try expect("[")
        var dims: [Dim] = []
        if accept("]") { return Shape(dims) }
        repeat {
            let at = i
            let token = try name()
            if let n = Int(token) {
                guard n >= 0 else { i = at; throw fail("a non-negative size") }
                dims.append(.fixed(n))
            } else if let first = token.unicodeScalars.first, !("0"..."9").contains(first) {
                dims.append(.symbol(token))
            } else {
                i = at
                throw fail("a size or a symbol")
            }
        } while accept(",")
        try expect("]")
        return Shape(dims)
    }

    /// `%name` or `@name` referring to a defined value.
    mutating func reference() throws -> ValueID {
        skipSpace()
        guard i < s.count, s[i] == "%" || s[i] == "@" else { throw fail("a value reference (%name or @name)") }
        i += 1
        let at = i
        let n = try name()
        guard let id = names[n] else { i = at; throw fail("a defined value, '\(n)' is not defined") }
        return id
    }

    mutating func define(_ graph: inout Graph, sigil: Unicode.Scalar) throws -> (String, TensorType) {
        skipSpace()
        guard i < s.count, s[i] == sigil else { throw fail("'\(sigil)'") }
        i += 1
        let at = i
        let n = try name()
        guard names[n] == nil else { i = at; throw fail("a new name, '\(n)' is already defined") }
        try expect(":")
        return (n, try type())
    }

    mutating func graph() throws -> Graph {
        try expect("graph")
        var g = Graph(name: try name())
        try expect("(")
        if !accept(")") {
            repeat {
                let (n, t) = try define(&g, sigil: "%")
                names[n] = g.addInput(n, t)
            } while accept(",")
            try expect(")")
        }
        try expect("->")
        try expect("(")
        var outputNames: [(String, String)] = []
        if !accept(")") {
            repeat {
                skipSpace()
                guard i < s.count, s[i] == "%" || s[i] == "@" else { throw fail("an output reference") }
                i += 1
                let where_ = position()
                outputNames.append((try name(), where_))
            } while accept(",")
            try expect(")")
        }
        try expect("{")
        while true {
            skipSpace()
            guard i < s.count else { throw fail("'return'") }
            if s[i] == "@" {
                let (n, t) = try define(&g, sigil: "@")
                names[n] = g.addConstant(n, t, source: nil)
            } else if s[i] == "%" {
                try node(&g)
            } else if accept("return") {
                var returned: [ValueID] = []
                repeat { returned.append(try reference()) } while accept(",")
                let declared = outputNames.map(\.0)
                let got = returned.map { g[$0].name }
                guard declared == got else {
                    throw IngotError(.format, file: file, location: position(),
                                     "return lists \(got), the header declares \(declared)")
                }
                g.outputs = returned
                try expect("}")
                skipSpace()
                guard i == s.count else { throw fail("end of input") }
                return g
            } else {
                throw fail("a constant (@), a node (%) or 'return'")
            }
        }
    }

    mutating func node(_ g: inout Graph) throws {
        var outs: [(String, TensorType)] = []
        repeat { outs.append(try define(&g, sigil: "%")) } while accept(",")
        try expect("=")
        let opAt = i
        let opName = try name()
        try expect("(")
        var inputs: [ValueID] = []
        if !accept(")") {
            repeat { inputs.append(try reference()) } while accept(",")
            try expect(")")
        }
        var attributes: [(String, String)] = []
        skipSpace(newlines: false)
        if i < s.count, s[i] == "{" {
            i += 1
            repeat {
                let key = try name()
                try expect("=")
                attributes.append((key, try attributeValue()))
            } while accept(",")
            try expect("}")
        }
        let op: Op
        do {
            op = try OpSyntax.op(named: opName, attributes: attributes)
        } catch let e as AttributeProblem {
            i = opAt
            throw IngotError(.format, file: file, location: position(), "\(opName): \(e.message)")
        }
        let ids = outs.map { g.addValue($0.0, $0.1) }
        for (n, id) in zip(outs.map(\.0), ids) { names[n] = id }
        g.nodes.append(Node(op: op, inputs: inputs, outputs: ids))
    }
}

/// Op names and attribute texts → Op, through the op's definition; the inverse of `Op.name`
/// and `Op.attributes`.
enum OpSyntax {
    static func op(named name: String, attributes list: [(String, String)]) throws -> Op {
        var text = try AttributeText(list)
        guard let definition = Ops.definition(named: name) else { throw AttributeProblem("unknown op") }
        let op = try definition.parseOp(name: name, &text)
        let extra = text.unused
        guard extra.isEmpty else { throw AttributeProblem("unknown attribute\(extra.count == 1 ? "" : "s") \(extra.joined(separator: ", "))") }
        return op
    }
}

extension StringProtocol {
    func trimmingSpaces() -> String {
        var scalars = Substring(self).unicodeScalars[...]
        while let f = scalars.first, f == " " || f == "\t" { scalars.removeFirst() }
        while let l = scalars.last, l == " " || l == "\t" { scalars.removeLast() }
        return String(String.UnicodeScalarView(scalars))
    }
}
