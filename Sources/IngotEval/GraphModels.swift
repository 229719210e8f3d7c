// GraphModels: turns an in-memory graph (weights still behind their ConstantSources) into
// a runtime Model, caching the bytes of source constants so evaluating many candidate
// graphs (sensitivity analysis) loads each original weight once; derived constants
// (quantized weights) are computed per candidate. It runs nothing itself.

import IngotCore
import IngotIR
import IngotRuntime

public final class GraphModels: @unchecked Sendable {
    private var cache: [ObjectIdentifier: TensorBuffer] = [:]
    private let cacheable: Set<ObjectIdentifier>
    public let tokenizerSpec: TokenizerSpec?

    /// `reference` is the float graph whose constants are worth caching.
    public init(reference: Graph, tokenizerSpec: TokenizerSpec?) {
        cacheable = Set(reference.constants.compactMap { $0.source.map(ObjectIdentifier.init) })
        self.tokenizerSpec = tokenizerSpec
    }

    public func model(_ graph: Graph, label: String) throws -> Model {
        var constants: [ValueID: TensorBuffer] = [:]
        for c in graph.constants {
            guard let source = c.source else {
                throw IngotError(.internal, location: "constant '\(graph[c.value].name)'", "has no data source to evaluate from")
            }
            let key = ObjectIdentifier(source)
            if let cached = cache[key] {
                constants[c.value] = cached
            } else {
                let buffer = try source.load()
                if cacheable.contains(key) { cache[key] = buffer }
                constants[c.value] = buffer
            }
        }
        return try Model(graph: graph, constants: constants, tokenizerSpec: tokenizerSpec, label: label)
    }

    /// Drops cached weights (call when evaluation is over, before writing the artifact).
    public func clear() { cache.removeAll() }
}

/// A copy of `graph` that also returns `values` as outputs (for activation statistics).
func exposing(_ values: [ValueID], in graph: Graph) -> Graph {
    var g = graph
    for v in values where !g.outputs.contains(v) { g.outputs.append(v) }
    return g
}
