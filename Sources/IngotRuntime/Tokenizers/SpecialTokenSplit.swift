// SpecialTokenSplit: cuts text into plain fragments and tokens matched verbatim, before any
// pre-tokenization: user-defined tokens (GGUF token type 4) always, control and unknown
// tokens (types 3, 2) only when special-token parsing is asked for (chat prompts). Tokens
// are tried longest first over the whole text, each one splitting every plain fragment at
// all of its non-overlapping occurrences (llama.cpp's rule), on UTF-8 bytes. It does not
// encode the plain fragments.

import IngotCore

struct SpecialTokenSplit: Sendable {
    enum Fragment: Equatable {
        case text(String)
        case token(Int32)
    }

    struct Entry: Sendable {
        var bytes: [UInt8]
        var id: Int32
        var userDefined: Bool
    }

    /// Longest first; equal lengths by id.
    let entries: [Entry]

    init(_ spec: TokenizerSpec) {
        var list: [Entry] = []
        for (i, t) in spec.tokenTypes.enumerated() where t == 2 || t == 3 || t == 4 {
            let text = spec.tokens[i]
            if !text.isEmpty { list.append(Entry(bytes: Array(text.utf8), id: Int32(i), userDefined: t == 4)) }
        }
        entries = list.sorted { $0.bytes.count != $1.bytes.count ? $0.bytes.count > $1.bytes.count : $0.id < $1.id }
    }

    var hasUserDefined: Bool { entries.contains { $0.userDefined } }

    func split(_ text: String, parseSpecial: Bool) -> [Fragment] {
        guard !text.isEmpty else { return [] }
        guard !entries.isEmpty, parseSpecial || hasUserDefined else { return [.text(text)] }
        let bytes = Array(text.utf8)
        // Plain pieces are byte ranges; matched tokens carry their id.
        enum Piece { case plain(Range<Int>), token(Int32) }
        var pieces: [Piece] = [.plain(0..<bytes.count)]
        for entry in entries where parseSpecial || entry.userDefined {
            let needle = entry.bytes
            let first = needle[0]
            var next: [Piece] = []
            next.reserveCapacity(pieces.count)
            var changed = false
            for piece in pieces {
                guard case .plain(let range) = piece, range.count >= needle.count else { next.append(piece); continue }
                var start = range.lowerBound
                var i = range.lowerBound
                let last = range.upperBound - needle.count
                while i <= last {
                    if bytes[i] == first && Self.matches(bytes, at: i, needle) {
                        if start < i { next.append(.plain(start..<i)) }
                        next.append(.token(entry.id))
                        changed = true
                        i += needle.count
                        start = i
                    } else {
                        i += 1
                    }
                }
                if start < range.upperBound { next.append(.plain(start..<range.upperBound)) }
            }
            if changed { pieces = next }
        }
        return pieces.map { piece in
            switch piece {
            case .plain(let r): return .text(String(decoding: bytes[r], as: UTF8.self))
            case .token(let id): return .token(id)
            }
        }
    }

    static func matches(_ bytes: [UInt8], at i: Int, _ needle: [UInt8]) -> Bool {
        for k in 1..<needle.count where bytes[i + k] != needle[k] { return false }
        return true
    }
}
