// Verifier: checks a graph's structural and type invariants and reports every violation,
// not just the first: unique names, single definition, defined-before-use (acyclic),
// output types equal to inferred types, fixed-shape constants, defined graph outputs.
// It does not check constant data.

import IngotCore

public struct VerificationFailure: Error, CustomStringConvertible, Sendable {
    public let graphName: String
    public let problems: [String]

    public var description: String {
        "graph '\(graphName)' failed verification with \(problems.count) problem\(problems.count == 1 ? "" : "s"):\n"
            + problems.map { "  - " + $0 }.joined(separator: "\n")
    }

    public var asIngotError: IngotError { asIngotError(file: nil) }

    /// The failure as one error of kind `verification` (exit 65), naming the file it came from.
    public func asIngotError(file: String?) -> IngotError {
        IngotError(.verification, file: file, location: "graph '\(graphName)'", problems.joined(separator: "; "))
    }
}

extension Graph {
    /// Every violation, in a stable order; empty when the graph is valid.
    public func verificationProblems() -> [String] {
        var problems: [String] = []
        let n = values.count
        func valid(_ id: ValueID) -> Bool { id.index >= 0 && id.index < n }
        func label(_ id: ValueID) -> String { valid(id) ? printedName(id) : "#\(id.index)" }

        // Names.
        var seenNames: [String: Int] = [:]
        for (i, v) in values.enumerated() {
            if v.name.isEmpty { problems.append("value #\(i) has an empty name") }
            if let prior = seenNames[v.name] { problems.append("name '\(v.name)' is used by values #\(prior) and #\(i)") }
            else { seenNames[v.name] = i }
        }

        // Definitions: inputs, constants, node outputs; position = order of definition.
        var definedAt = [Int?](repeating: nil, count: n) // -1 for inputs and constants, node index otherwise
        func define(_ id: ValueID, at position: Int, as what: String) {
            guard valid(id) else { problems.append("\(what) refers to value #\(id.index), outside 0..<\(n)"); return }
            if definedAt[id.index] != nil { problems.append("\(label(id)) is defined more than once (again as \(what))") }
            else { definedAt[id.index] = position }
        }
        for id in inputs { define(id, at: -1, as: "a graph input") }
        for c in constants {
            define(c.value, at: -1, as: "a constant")
            if valid(c.value), values[c.value.index].type.shape.fixedSizes == nil {
                problems.append("constant \(label(c.value)) has a symbolic shape \(values[c.value.index].type.shape)")
            }
        }
        for (i, node) in nodes.enumerated() {
            for o in node.outputs { define(o, at: i, as: "an output of node \(i) (\(node.op.name))") }
        }

        // Uses and types.
        var usedBeforeDefinition = false
        for (i, node) in nodes.enumerated() {
            let where_ = "node \(i) (\(node.op.name))"
            var inputTypes: [TensorType] = []
            var inputsOK = true
            for input in node.inputs {
                guard valid(input) else { problems.append("\(where_) uses value #\(input.index), outside 0..<\(n)"); inputsOK = false; continue }
                switch definedAt[input.index] {
                case .none:
                    problems.append("\(where_) uses \(label(input)), which is never defined")
                    inputsOK = false
                case .some(let at) where at >= i:
                    problems.append("\(where_) uses \(label(input)) before its definition at node \(at)")
                    usedBeforeDefinition = true
                default: break
                }
                inputTypes.append(values[input.index].type)
            }
            guard inputsOK, node.outputs.allSatisfy(valid) else { continue }
            do {
                let inferred = try inferOutputTypes(node.op, inputTypes)
                if inferred.count != node.outputs.count {
                    problems.append("\(where_) declares \(node.outputs.count) outputs, the op has \(inferred.count)")
                } else {
                    for (o, t) in zip(node.outputs, inferred) where values[o.index].type != t {
                        problems.append("\(where_) output \(label(o)) is declared \(values[o.index].type), inferred \(t)")
                    }
                }
            } catch let e as IngotError {
                problems.append("\(where_): \(e.message)")
            } catch {
                problems.append("\(where_): \(error)")
            }
        }
        if usedBeforeDefinition, let cycle = findCycle() {
            problems.append("the graph has a cycle: " + cycle.map { "node \($0) (\(nodes[$0].op.name))" }.joined(separator: " → "))
        }

        // Graph outputs.
        if outputs.isEmpty { problems.append("the graph has no outputs") }
        for o in outputs {
            if !valid(o) { problems.append("graph output refers to value #\(o.index), outside 0..<\(n)") }
            else if definedAt[o.index] == nil { problems.append("graph output \(label(o)) is never defined") }
        }
        return problems
    }

    /// Throws VerificationFailure listing every problem.
    public func verify() throws {
        let problems = verificationProblems()
        if !problems.isEmpty { throw VerificationFailure(graphName: name, problems: problems) }
    }

    /// A cycle among nodes (indices, closed by the first repeated), if any.
    func findCycle() -> [Int]? {
        var producer: [Int: Int] = [:]
        for (i, node) in nodes.enumerated() { for o in node.outputs { producer[o.index] = i } }
        var state = [UInt8](repeating: 0, count: nodes.count) // 0 new, 1 on stack, 2 done
        var stack: [Int] = []
        func visit(_ i: Int) -> [Int]? {
            state[i] = 1
            stack.append(i)
            for input in nodes[i].inputs {
                guard let p = producer[input.index] else { continue }
                if state[p] == 1, let start = stack.firstIndex(of: p) { return Array(stack[start...]) + [p] }
                if state[p] == 0, let c = visit(p) { return c }
            }
            stack.removeLast()
            state[i] = 2
            return nil
        }
        for i in nodes.indices where state[i] == 0 {
            if let c = visit(i) { return c }
        }
        return nil
    }
}
