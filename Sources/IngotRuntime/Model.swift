// Model and Session: the runtime's public API over a .ingot artifact. A Model holds the
// verified graph and the weights (zero-copy from the file where stored raw) and is safe to
// share between threads; a Session holds one caller's mutable state (arena, plans per
// shape, KV caches) and is used from one thread at a time.

import IngotArtifact
import IngotCore
import IngotIR

public final class Model: @unchecked Sendable {
    public let path: String
    public let graph: Graph
    public let tokenizerSpec: TokenizerSpec?
    /// The open artifact (nil for a model built in memory); keeps mapped weights alive.
    let reader: ArtifactReader?
    let constants: [ValueID: TensorBuffer]

    /// A model over a graph and weights already in memory (the compiler evaluates candidate
    /// graphs this way before writing them). `label` stands in for the path in messages.
    public init(graph: Graph, constants: [ValueID: TensorBuffer], tokenizerSpec: TokenizerSpec?, label: String) throws {
        let problems = graph.verificationProblems()
        guard problems.isEmpty else {
            throw IngotError(.verification, file: label, location: "graph", problems.joined(separator: "; "))
        }
        for c in graph.constants {
            let v = graph[c.value]
            guard let b = constants[c.value], b.byteCount == (v.type.shape.elementCount ?? -1) * v.type.dtype.byteSize else {
                throw IngotError(.internal, file: label, location: "constant '\(v.name)'", "missing or of the wrong size for \(v.type)")
            }
        }
        try Model.checkSparseWeights(graph, constants, file: label)
        try Model.checkPackedWeights(graph, constants, file: label)
        self.path = label
        self.graph = graph
        self.tokenizerSpec = tokenizerSpec
        self.reader = nil
        self.constants = constants
    }

    /// Opens and validates an artifact; weights stored raw are mapped, not copied.
    public init(path: String, verification: ArtifactVerification = .structure) throws {
        self.path = path
        let reader = try ArtifactReader(path: path, verify: verification)
        self.reader = reader
        guard let graphBytes = try reader.payload(.graph) else {
            throw IngotError(.format, file: path, location: "section GRPH", "missing")
        }
        let graph = try graphBytes.withUnsafeBytes { try GraphCodec.decode($0, file: path) }
        let problems = graph.verificationProblems()
        guard problems.isEmpty else {
            throw IngotError(.format, file: path, location: "graph", "failed verification: " + problems.joined(separator: "; "))
        }
        self.graph = graph
        if let tok = try reader.payload(.tokenizer) {
            tokenizerSpec = try tok.withUnsafeBytes { try TokenizerSpec(decoding: $0, file: path) }
        } else {
            tokenizerSpec = nil
        }
        var constants: [ValueID: TensorBuffer] = [:]
        for c in graph.constants {
            let value = graph[c.value]
            let buffer = try reader.tensor(value.name)
            let expected = (value.type.shape.elementCount ?? -1) * value.type.dtype.byteSize
            guard buffer.byteCount == expected else {
                throw IngotError(.format, file: path, location: "tensor '\(value.name)'",
                                 "\(buffer.byteCount) bytes, expected \(expected) for \(value.type)")
            }
            constants[c.value] = buffer
        }
        try Model.checkSparseWeights(graph, constants, file: path)
        try Model.checkPackedWeights(graph, constants, file: path)
        self.constants = constants
    }

    /// CSR weights of `linear_sparse` index only inside their matrix: row offsets start at 0,
    /// never decrease and end at the nonzero count; columns lie in 0..<K. Checked once at load
    /// so the kernels need no bounds checks (a hostile artifact cannot make them read outside).
    static func checkSparseWeights(_ graph: Graph, _ constants: [ValueID: TensorBuffer], file: String) throws {
        for node in graph.nodes {
            guard case .linearSparse = node.op else { continue }
            let name = graph[node.outputs[0]].name
            guard let k = graph.type(of: node.inputs[0]).shape.dims.last?.fixedValue,
                  let values = constants[node.inputs[1]], let columns = constants[node.inputs[2]], let offsets = constants[node.inputs[3]] else {
                throw IngotError(.format, file: file, location: "linear_sparse '\(name)'", "needs a fixed input dimension and constant CSR arrays")
            }
            let nnz = values.byteCount / 4
            let rowOffsets = offsets.toArray(of: Int32.self)
            guard rowOffsets.first == 0, rowOffsets.last.map({ Int($0) == nnz }) ?? false else {
                throw IngotError(.format, file: file, location: "tensor '\(graph[node.inputs[3]].name)'",
                                 "row offsets run \(rowOffsets.first ?? -1)...\(rowOffsets.last ?? -1), expected 0...\(nnz) (the nonzero count)")
            }
            if let r = rowOffsets.indices.dropLast().first(where: { rowOffsets[$0] > rowOffsets[$0 + 1] }) {
                throw IngotError(.format, file: file, location: "tensor '\(graph[node.inputs[3]].name)'",
                                 "row offset \(r + 1) is \(rowOffsets[r + 1]), below row \(r)'s \(rowOffsets[r])")
            }
            if let bad = columns.toArray(of: Int16.self).firstIndex(where: { $0 < 0 || Int($0) >= k }) {
                throw IngotError(.format, file: file, location: "tensor '\(graph[node.inputs[2]].name)'",
                                 "column[\(bad)] = \(columns.toArray(of: Int16.self)[bad]), expected 0..<\(k)")
            }
        }
    }

    /// Packed int8 weights of `linear_int8_packed` stay within the kernel's no-saturation bound
    /// for the node's input_bits (±63 for 8, ±127 for 7) and each colsums[n] equals its row's
    /// sum, including zero padding past N and K.
    /// A hostile artifact would otherwise give silently wrong numbers.
    static func checkPackedWeights(_ graph: Graph, _ constants: [ValueID: TensorBuffer], file: String) throws {
        for node in graph.nodes {
            guard case .linearInt8Packed(let attributes) = node.op else { continue }
            let inputBits = attributes.inputBits
            let limit = PackedInt8Layout.maxWeight(inputBits: inputBits)
            let name = graph[node.outputs[0]].name
            guard let k = graph.type(of: node.inputs[0]).shape.dims.last?.fixedValue,
                  let n = graph.type(of: node.inputs[2]).shape.dims.first?.fixedValue,
                  let packed = constants[node.inputs[1]], let colsums = constants[node.inputs[3]] else {
                throw IngotError(.format, file: file, location: "linear_int8_packed '\(name)'", "needs a fixed input dimension and constant packed weights")
            }
            let bytes = packed.toArray(of: Int8.self)
            if let bad = bytes.firstIndex(where: { $0 > limit || $0 < -limit }) {
                throw IngotError(.format, file: file, location: "tensor '\(graph[node.inputs[1]].name)'",
                                 "byte \(bad) is \(bytes[bad]), expected -\(limit)...\(limit) for input_bits \(inputBits)")
            }
            let shape = PackedInt8Layout.shape(outputs: n, inputs: k)
            let (panels, blocks) = (shape[0], shape[1])
            let panel = PackedInt8Layout.panel, width = PackedInt8Layout.inputBlock
            guard bytes.count == panels * blocks * panel * width else {
                throw IngotError(.format, file: file, location: "tensor '\(graph[node.inputs[1]].name)'",
                                 "\(bytes.count) bytes, expected \(panels * blocks * panel * width) for N \(n), K \(k)")
            }
            var sums = [Int32](repeating: 0, count: panels * panel)
            try bytes.withUnsafeBufferPointer { w in
                // w[((p·blocks + b)·16 + c)·4 + t] is row 16p + c, input 4b + t.
                for p in 0..<panels {
                    for b in 0..<blocks {
                        let block = (p * blocks + b) * panel * width
                        for c in 0..<panel {
                            var s: Int32 = 0
                            for t in 0..<width {
                                let v = w[block + c * width + t]
                                if b * width + t >= k, v != 0 {
                                    throw IngotError(.format, file: file, location: "tensor '\(graph[node.inputs[1]].name)'",
                                                     "padding byte \(block + c * width + t) (input \(b * width + t) ≥ K \(k)) is \(v), expected 0")
                                }
                                s += Int32(v)
                            }
                            sums[p * panel + c] += s
                        }
                    }
                }
            }
            let expected = colsums.toArray(of: Int32.self)
            for j in 0..<sums.count where j >= n ? sums[j] != 0 : sums[j] != expected[j] {
                throw IngotError(.format, file: file, location: "tensor '\(graph[node.inputs[j >= n ? 1 : 3]].name)'",
                                 j >= n ? "padding row \(j) (≥ N \(n)) sums to \(sums[j]), expected 0"
                                        : "colsums[\(j)] is \(expected[j]), but the packed row sums to \(sums[j])")
            }
        }
    }

    public var inputNames: [String] { graph.inputs.map { graph[$0].name } }
    public var outputNames: [String] { graph.outputs.map { graph[$0].name } }

    /// True when the graph keeps a KV cache (decoder models).
    public var usesKVCache: Bool {
        graph.nodes.contains { if case .attention(let a) = $0.op { return a.kvCache } else { return false } }
    }

    public func makeSession(maxContext: Int = 8192) -> Session { Session(model: self, maxContext: maxContext) }
}

public final class Session {
    public let model: Model
    public let maxContext: Int
    private var plans: [[Int]: ExecutionPlan] = [:]
    private var arena: TensorBuffer?
    private var kvCaches: [Int: LayerKVCache] = [:]
    /// Tokens held in the KV caches.
    public private(set) var pastLength = 0

    init(model: Model, maxContext: Int) {
        self.model = model
        self.maxContext = maxContext
    }

    /// Forgets the KV cache (a new conversation).
    public func reset() { pastLength = 0 }

    /// Runs the graph on named inputs; returns every graph output by name. For KV-cache
    /// models each call appends its tokens after the `pastLength` already cached.
    public func run(inputs: [String: HostTensor]) throws -> [String: HostTensor] {
        let graph = model.graph
        var ordered: [HostTensor] = []
        var bindings: [String: Int] = [:]
        let unknown = inputs.keys.filter { name in !graph.inputs.contains { graph[$0].name == name } }.sorted()
        guard unknown.isEmpty else {
            throw IngotError(.shape, location: "inputs", "unknown input\(unknown.count == 1 ? "" : "s") \(unknown.joined(separator: ", ")); the model takes \(model.inputNames.joined(separator: ", "))")
        }
        for id in graph.inputs {
            let v = graph[id]
            guard let t = inputs[v.name] else {
                throw IngotError(.shape, location: "input '\(v.name)'", "missing; the model takes \(model.inputNames.joined(separator: ", "))")
            }
            guard t.dtype == v.type.dtype else {
                throw IngotError(.shape, location: "input '\(v.name)'", "dtype \(t.dtype), expected \(v.type.dtype)")
            }
            guard t.shape.count == v.type.shape.rank else {
                throw IngotError(.shape, location: "input '\(v.name)'", "shape \(t.shape), expected \(v.type)")
            }
            guard Shape.checkedProduct(t.shape) == t.elementCount else {
                throw IngotError(.shape, location: "input '\(v.name)'", "shape \(t.shape) holds \(Shape.checkedProduct(t.shape) ?? -1) elements, data has \(t.elementCount)")
            }
            for (d, dim) in v.type.shape.dims.enumerated() {
                switch dim {
                case .fixed(let n):
                    guard t.shape[d] == n else {
                        throw IngotError(.shape, location: "input '\(v.name)' dimension \(d)", "value \(t.shape[d]), expected \(n)")
                    }
                case .symbol(let s):
                    guard t.shape[d] > 0 else {
                        throw IngotError(.shape, location: "input '\(v.name)' dimension \(d) (\(s))", "value \(t.shape[d]), expected at least 1")
                    }
                    if let bound = bindings[s], bound != t.shape[d] {
                        throw IngotError(.shape, location: "input '\(v.name)' dimension \(d) (\(s))", "value \(t.shape[d]), expected \(bound) as in the other inputs")
                    }
                    bindings[s] = t.shape[d]
                }
            }
            ordered.append(t)
        }
        let key = bindings.sorted { $0.key < $1.key }.map(\.value)
        let plan: ExecutionPlan
        if let cached = plans[key] {
            plan = cached
        } else {
            plan = try ExecutionPlan(graph: graph, bindings: bindings, constants: model.constants)
            plans[key] = plan
        }
        if (arena?.byteCount ?? -1) < plan.arenaBytes {
            arena = TensorBuffer(zeroedByteCount: plan.arenaBytes)
        }
        let seq = bindings["seq"] ?? 0
        if model.usesKVCache {
            guard pastLength + seq <= maxContext else {
                throw IngotError(.shape, location: "input_ids", "\(pastLength) cached + \(seq) new tokens exceed the context length \(maxContext)")
            }
            try prepareKVCaches()
        }
        var context = ExecutionContext(arena: arena!.mutableRaw.baseAddress!, inputs: ordered, kvCaches: kvCaches, pastLength: pastLength)
        try Executor.run(graph: graph, plan: plan, context: &context)
        if model.usesKVCache { pastLength += seq }

        var outputs: [String: HostTensor] = [:]
        for id in graph.outputs {
            let v = plan.values[id.index]!
            let p = Executor.pointer(v, &context)
            switch v.dtype {
            case .f32:
                outputs[graph[id].name] = HostTensor(shape: v.shape, floats: Array(UnsafeBufferPointer(start: p.assumingMemoryBound(to: Float.self), count: v.elementCount)))
            case .i32:
                outputs[graph[id].name] = HostTensor(shape: v.shape, ints: Array(UnsafeBufferPointer(start: p.assumingMemoryBound(to: Int32.self), count: v.elementCount)))
            case .f16, .bf16, .f64, .i8, .u8, .i16, .i64, .bool:
                throw IngotError(.unsupported, location: "output '\(graph[id].name)'", "dtype \(v.dtype) cannot be returned")
            }
        }
        return outputs
    }

    private func prepareKVCaches() throws {
        guard kvCaches.isEmpty else { return }
        for (n, node) in model.graph.nodes.enumerated() {
            if case .attention(let a) = node.op, a.kvCache {
                kvCaches[n] = LayerKVCache(limit: maxContext, rowWidth: a.kvHeads * a.headDim)
            }
        }
    }
}
