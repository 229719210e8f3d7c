// Printer: the textual form of a graph, stable across runs (golden tests diff it).
//
//   graph bert(%input_ids: i32[batch, seq], ...) -> (%embedding) {
//     @embeddings.word_embeddings.weight: f32[30522, 384]
//     %h: f32[batch, seq, 384] = gather(@embeddings.word_embeddings.weight, %input_ids)
//     %n: f32[batch, seq, 384] = layer_norm(%h, @ln.weight, @ln.bias) {epsilon = 1e-12}
//     return %embedding
//   }
//
// Constants print with @, other values with %. Names outside [A-Za-z0-9_.-] are quoted.

import IngotCore

extension Graph {
    func printedName(_ id: ValueID) -> String {
        let v = values[id.index]
        return (isConstant(id) ? "@" : "%") + quoteIfNeeded(v.name)
    }

    /// The whole graph as text.
    public var text: String {
        let constantIDs = Set(constants.map(\.value))
        func name(_ id: ValueID) -> String {
            guard id.index >= 0, id.index < values.count else { return "%#\(id.index)" }
            return (constantIDs.contains(id) ? "@" : "%") + quoteIfNeeded(values[id.index].name)
        }
        func typed(_ id: ValueID) -> String {
            guard id.index >= 0, id.index < values.count else { return name(id) }
            return name(id) + ": " + values[id.index].type.description
        }
        var out = "graph \(quoteIfNeeded(self.name))("
        out += inputs.map(typed).joined(separator: ", ")
        out += ") -> (" + outputs.map(name).joined(separator: ", ") + ") {\n"
        for c in constants { out += "  " + typed(c.value) + "\n" }
        for node in nodes {
            out += "  " + node.outputs.map(typed).joined(separator: ", ")
            out += " = " + node.op.name + "(" + node.inputs.map(name).joined(separator: ", ") + ")"
            let attrs = node.op.attributes
            if !attrs.isEmpty {
                out += " {" + attrs.map { "\($0.0) = \($0.1)" }.joined(separator: ", ") + "}"
            }
            out += "\n"
        }
        out += "  return " + outputs.map(name).joined(separator: ", ") + "\n}\n"
        return out
    }
}

func isPlainNameCharacter(_ c: Character) -> Bool {
    c.isASCII && (c.isLetter || c.isNumber || c == "_" || c == "." || c == "-")
}

func quoteIfNeeded(_ s: String) -> String {
    if !s.isEmpty, s.allSatisfy(isPlainNameCharacter) { return s }
    var q = "\""
    for c in s.unicodeScalars {
        switch c {
        case "\"": q += "\\\""
        case "\\": q += "\\\\"
        case "\n": q += "\\n"
        default: q.unicodeScalars.append(c)
        }
    }
    return q + "\""
}
