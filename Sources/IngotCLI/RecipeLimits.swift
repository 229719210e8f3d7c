// RecipeLimits: the limits a recipe file must keep, checked on its bytes before the YAML
// library builds anything (Formats/passes.md, "Recipe limits"): at most 64 KiB, at most
// 32 levels of nesting, no anchors or aliases. A YAML parser expands every alias into a copy
// (nine anchors of nine aliases each are 9⁹ values from a few hundred bytes) and builds
// and converts nested collections recursively (thousands of `[` overflow the stack).
//
// The scan is a small YAML tokenizer: comments, single- and double-quoted scalars (over
// several lines), block scalars (`|`, `>`) and plain scalars are skipped as text, so `*`, `&`,
// `[` inside them are not indicators. It counts nesting as open flow collections (`[`, `{`)
// plus open block nodes (a line's indentation, each `- ` or `? ` entry), which is at least
// half the depth the parser will build. It does not check YAML syntax; the parser does.

import IngotCore

enum RecipeLimits {
    static let maxBytes = 64 << 10
    static let maxDepth = 32

    /// Throws an `.invalidArgument` error naming the line and column of the first limit broken.
    static func check(_ bytes: UnsafeRawBufferPointer, path: String) throws {
        var scan = Scan(bytes: bytes, path: path)
        try scan.run()
    }

    static func checkSize(_ count: Int, path: String) throws {
        guard count <= maxBytes else {
            throw IngotError.badField(.invalidArgument, file: path, "recipe size", seen: "\(count) bytes",
                                      expected: "at most \(maxBytes) bytes (a recipe lists passes and their options)")
        }
    }

    private struct Scan {
        let bytes: UnsafeRawBufferPointer
        let path: String
        var i = 0
        var line = 1
        var lineStart = 0
        /// Columns of the open block nodes, innermost last.
        var blockColumns: [Int] = []
        var flowDepth = 0

        init(bytes: UnsafeRawBufferPointer, path: String) {
            self.bytes = bytes
            self.path = path
        }

        var column: Int { i - lineStart }

        func at(_ k: Int) -> UInt8? { k < bytes.count ? bytes[k] : nil }

        static func isBlank(_ c: UInt8?) -> Bool { c == nil || c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D }
        static func isFlowIndicator(_ c: UInt8?) -> Bool { c == 0x2C || c == 0x5B || c == 0x5D || c == 0x7B || c == 0x7D }

        /// 1-based line and character column of byte `k` on the current line (or on `line`
        /// starting at byte `start`).
        func position(_ k: Int, line: Int? = nil, start: Int? = nil) -> String {
            let characters = bytes[(start ?? lineStart)..<k].reduce(0) { $0 + ($1 & 0xC0 == 0x80 ? 0 : 1) }
            return "line \(line ?? self.line), column \(characters + 1)"
        }

        func checkDepth(at k: Int) throws {
            let depth = blockColumns.count + flowDepth
            guard depth <= RecipeLimits.maxDepth else {
                throw IngotError(.invalidArgument, file: path, location: position(k),
                                 "nesting \(depth) levels deep, expected at most \(RecipeLimits.maxDepth)")
            }
        }

        mutating func openBlockNode(column c: Int, at k: Int) throws {
            while let top = blockColumns.last, top >= c { blockColumns.removeLast() }
            blockColumns.append(c)
            try checkDepth(at: k)
        }

        mutating func newLine() {
            i += 1
            line += 1
            lineStart = i
        }

        mutating func run() throws {
            while i < bytes.count {
                // Start of a line: indentation, then blank and comment lines leave the nesting alone.
                var k = i
                while at(k) == 0x20 { k += 1 }
                let indent = k - lineStart
                i = k
                while at(i) == 0x09 || at(i) == 0x20 { i += 1 }
                if at(i) == nil { return }
                if at(i) == 0x0A || at(i) == 0x0D || at(i) == 0x23 { skipToLineEnd(); continue }
                if indent == 0, isDocumentMarker() {
                    i += 3
                    while at(i) == 0x20 || at(i) == 0x09 { i += 1 }
                }
                if flowDepth == 0 { try openBlockNode(column: indent, at: i) }
                try scanLine(indent: indent)
            }
        }

        /// `---` or `...` then a blank: a document marker, not a plain scalar.
        func isDocumentMarker() -> Bool {
            guard let c = at(i), c == 0x2D || c == 0x2E else { return false }
            return at(i + 1) == c && at(i + 2) == c && Scan.isBlank(at(i + 3))
        }

        mutating func skipToLineEnd() {
            while let c = at(i), c != 0x0A { i += 1 }
            if at(i) == 0x0A { newLine() }
        }

        /// Tokens from `i` to the end of the line (or further, for quoted and block scalars).
        mutating func scanLine(indent: Int) throws {
            let firstToken = i
            var inPlain = false
            while let c = at(i), c != 0x0A {
                let previous = i > lineStart ? bytes[i - 1] : 0x20
                if c == 0x23, Scan.isBlank(previous) { skipToLineEnd(); return }      // # comment
                if inPlain {
                    let ends = (c == 0x3A && (Scan.isBlank(at(i + 1)) || (flowDepth > 0 && Scan.isFlowIndicator(at(i + 1)))))
                        || (flowDepth > 0 && Scan.isFlowIndicator(c))
                    if !ends { i += 1; continue }
                    inPlain = false
                }
                switch c {
                case 0x20, 0x09, 0x0D:
                    i += 1
                case 0x27, 0x22:                                                       // ' "
                    try skipQuoted(c)
                case 0x26, 0x2A:                                                       // & *
                    var end = i + 1
                    while !Scan.isBlank(at(end)), !Scan.isFlowIndicator(at(end)), end - i < 40 { end += 1 }
                    let name = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[i..<end]), as: UTF8.self)
                    throw IngotError(.invalidArgument, file: path, location: position(i),
                                     "\(c == 0x26 ? "anchor" : "alias") '\(name)', expected a plain value (a recipe may not use anchors & or aliases *; write each value out, or quote text that starts with & or *)")
                case 0x5B, 0x7B:                                                       // [ {
                    flowDepth += 1
                    try checkDepth(at: i)
                    i += 1
                case 0x5D, 0x7D:                                                       // ] }
                    if flowDepth > 0 { flowDepth -= 1 }
                    i += 1
                case 0x2C, 0x3A:                                                       // , :
                    i += 1
                case 0x21:                                                             // !tag
                    while !Scan.isBlank(at(i)), !(flowDepth > 0 && Scan.isFlowIndicator(at(i))) { i += 1 }
                case 0x2D where Scan.isBlank(at(i + 1)), 0x3F where Scan.isBlank(at(i + 1)):   // "- " "? "
                    i += 1
                    while at(i) == 0x20 || at(i) == 0x09 { i += 1 }
                    if flowDepth == 0, let next = at(i), next != 0x0A, next != 0x0D, next != 0x23 {
                        try openBlockNode(column: column, at: i)
                    }
                case 0x7C where flowDepth == 0, 0x3E where flowDepth == 0:             // | >
                    // A document's root scalar (first on a line at column 0) may have content
                    // at column 0: it runs to the next document marker.
                    let root = indent == 0 && i == firstToken
                    skipToLineEnd()
                    skipBlockScalar(parentIndent: root ? -1 : indent)
                    return
                default:
                    inPlain = true
                    i += 1
                }
            }
            if at(i) == 0x0A { newLine() }
        }

        /// From an opening quote past the closing one, over line breaks; '' and \" are escapes.
        mutating func skipQuoted(_ quote: UInt8) throws {
            let (start, startLine, startLineStart) = (i, line, lineStart)
            i += 1
            while let c = at(i) {
                if c == 0x0A { newLine(); continue }
                if quote == 0x22, c == 0x5C {
                    i += 1
                    if at(i) != 0x0A { i += 1 }
                    continue
                }
                if c == quote {
                    if quote == 0x27, at(i + 1) == 0x27 { i += 2; continue }
                    i += 1
                    return
                }
                i += 1
            }
            throw IngotError(.invalidArgument, file: path, location: position(start, line: startLine, start: startLineStart), "quoted value never closed, expected a closing \(quote == 0x22 ? "\"" : "'")")
        }

        /// Lines of a block scalar: blank or indented deeper than the line that opened it
        /// (`parentIndent` −1: every line up to a document marker).
        mutating func skipBlockScalar(parentIndent: Int) {
            while i < bytes.count {
                var k = i
                while at(k) == 0x20 { k += 1 }
                let c = at(k)
                if c == nil { i = k; return }
                if parentIndent < 0, k == i, isDocumentMarker() { return }
                if c == 0x0A || c == 0x0D || k - i > parentIndent { skipToLineEnd(); continue }
                return
            }
        }
    }
}
