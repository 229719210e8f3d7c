// GraphEditing: the small set of queries and edits that rewrite passes are built from —
// who uses a value, which node defines it, replacing uses, and compacting the value table
// after nodes and constants are dropped. It knows nothing about any particular pattern.

import IngotCore

extension Graph {
    /// For every value index, the nodes that read it (in program order).
    public func users() -> [[Int]] {
        var u = [[Int]](repeating: [], count: values.count)
        for (i, node) in nodes.enumerated() {
            for input in node.inputs where u[input.index].last != i { u[input.index].append(i) }
        }
        return u
    }

    /// For every value index, the node defining it (nil for inputs and constants).
    public func producers() -> [Int?] {
        var p = [Int?](repeating: nil, count: values.count)
        for (i, node) in nodes.enumerated() { for o in node.outputs { p[o.index] = i } }
        return p
    }

    /// True when the value is read by nothing and is not a graph output.
    public func isUnused(_ id: ValueID, users: [[Int]]) -> Bool {
        users[id.index].isEmpty && !outputs.contains(id)
    }

    /// Makes every node input and graph output that reads `old` read `new` instead.
    public mutating func replaceUses(of old: ValueID, with new: ValueID) {
        for i in nodes.indices {
            nodes[i].inputs = nodes[i].inputs.map { $0 == old ? new : $0 }
        }
        outputs = outputs.map { $0 == old ? new : $0 }
    }

    /// The constant record of a value, if it is one.
    public func constant(_ id: ValueID) -> Constant? { constants.first { $0.value == id } }

    /// A value name not yet used, built from `base`.
    public func freshName(_ base: String) -> String {
        let taken = Set(values.map(\.name))
        if !taken.contains(base) { return base }
        var i = 1
        while taken.contains("\(base).\(i)") { i += 1 }
        return "\(base).\(i)"
    }

    /// Drops values no node, input, output or constant refers to, and constants nobody reads,
    /// renumbering the rest in their original order. Call after a pass removes nodes.
    public mutating func compact() {
        let u = users()
        constants.removeAll { u[$0.value.index].isEmpty && !outputs.contains($0.value) }
        var live = [Bool](repeating: false, count: values.count)
        for id in inputs + outputs + constants.map(\.value) { live[id.index] = true }
        for node in nodes { for id in node.inputs + node.outputs { live[id.index] = true } }
        var remap = [Int](repeating: -1, count: values.count)
        var kept: [Value] = []
        for (i, v) in values.enumerated() where live[i] {
            remap[i] = kept.count
            kept.append(v)
        }
        func m(_ id: ValueID) -> ValueID { ValueID(remap[id.index]) }
        values = kept
        inputs = inputs.map(m)
        outputs = outputs.map(m)
        constants = constants.map { Constant(value: m($0.value), source: $0.source) }
        nodes = nodes.map { Node(op: $0.op, inputs: $0.inputs.map(m), outputs: $0.outputs.map(m)) }
    }
}

extension Graph {
    /// Re-derives every node output's type from its inputs, in program order; used after a
    /// pass changes constant shapes (structured pruning) or attributes (heads).
    public mutating func reinferTypes() throws {
        for node in nodes {
            let types = try inferOutputTypes(node.op, node.inputs.map { values[$0.index].type })
            for (o, t) in zip(node.outputs, types) { values[o.index].type = t }
        }
    }
}
