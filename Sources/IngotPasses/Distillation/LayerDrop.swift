// LayerDrop: the student of `distill=student` — the teacher with some transformer layers
// removed (DistilBERT-style), the kept layers keeping their weights as initialisation.
// Layers are found by the importers' value names ("layer3.…"); a removed layer's single
// hidden-state output is replaced by its single hidden-state input:
//
//     %layer2.norm2 = …                      %layer2.norm2 = …
//     %layer3.q = linear(%layer2.norm2, …)    (layer 3 gone)
//     …                                  →
//     %layer3.norm2 = layer_norm(…)
//     %layer4.q = linear(%layer3.norm2, …)    %layer4.q = linear(%layer2.norm2, …)
//
// It does not train; the distill pass does.

import IngotCore
import IngotIR

extension Graph {
    /// Transformer layer indices present, from value names "layer<i>.…", ascending.
    public var layerIndices: [Int] {
        var found = Set<Int>()
        for node in nodes {
            for o in node.outputs {
                if let i = Graph.layerIndex(values[o.index].name) { found.insert(i) }
            }
        }
        return found.sorted()
    }

    static func layerIndex(_ name: String) -> Int? {
        guard name.hasPrefix("layer") else { return nil }
        let digits = name.dropFirst(5).prefix { $0.isNumber }
        guard !digits.isEmpty, name.dropFirst(5 + digits.count).first == "." else { return nil }
        return Int(digits)
    }

    /// Removes every layer not in `keep`; throws when a layer does not read and write exactly one hidden state.
    public mutating func dropLayers(keeping keep: Set<Int>) throws {
        for layer in layerIndices where !keep.contains(layer) {
            let producers = self.producers()
            let members = Set(nodes.indices.filter { n in nodes[n].outputs.allSatisfy { Graph.layerIndex(values[$0.index].name) == layer } })
            let constantIDs = Set(constants.map(\.value))
            var into: Set<ValueID> = [], outOf: Set<ValueID> = []
            for n in members {
                for i in nodes[n].inputs where !constantIDs.contains(i) && !inputs.contains(i) {
                    if let p = producers[i.index], members.contains(p) { continue }
                    into.insert(i)
                }
            }
            for (n, node) in nodes.enumerated() where !members.contains(n) {
                for i in node.inputs where producers[i.index].map(members.contains) ?? false { outOf.insert(i) }
            }
            for o in outputs where producers[o.index].map(members.contains) ?? false { outOf.insert(o) }
            guard into.count == 1, outOf.count == 1 else {
                throw IngotError(.unsupported, location: "layer \(layer)",
                                 "reads \(into.count) and writes \(outOf.count) hidden states from outside it; expected one of each")
            }
            replaceUses(of: outOf.first!, with: into.first!)
            nodes = nodes.enumerated().filter { !members.contains($0.offset) }.map(\.element)
            compact()
        }
    }
}
