// Model and Session: the runtime's public API over a .ingot artifact. A Model holds the
// verified graph and the weights (zero-copy from the file where stored raw) and is safe to
// share between threads; a Session holds one caller's mutable state (arena, plans per
// shape, KV caches) and is used from one thread at a time. Opening an artifact verifies its
// signature first when a trusted key is configured (ArtifactTrust: by default the key file
// INGOT_TRUSTED_KEY names), and refuses an unsigned or wrongly signed one.

import IngotArtifact
import IngotCore
import IngotIR
import IngotKernels

public final class Model: @unchecked Sendable {
    public let path: String
    public let graph: Graph
    public let tokenizerSpec: TokenizerSpec?
    /// The key whose signature was verified when the artifact was opened (nil: no key was configured).
    public let verifiedSigner: SigningPublicKey?
    /// The open artifact (nil for a model built in memory); keeps mapped weights alive.
    let reader: ArtifactReader?
    let constants: [ValueID: TensorBuffer]
    /// Row width (floats) of the K and V cache each node keeps across a session's calls, by node index.
    let kvCacheRowWidths: [Int: Int]

    /// A model over a graph and weights already in memory (the compiler evaluates candidate
    /// graphs this way before writing them). `label` stands in for the path in messages.
    public init(graph: Graph, constants: [ValueID: TensorBuffer], tokenizerSpec: TokenizerSpec?, label: String) throws {
        try Int8KernelPath.applyEnvironment()
        let problems = graph.verificationProblems()
        guard problems.isEmpty else {
            throw IngotError(.verification, file: label, location: "graph", problems.joined(separator: "; "))
        }
        for c in graph.constants {
            let v = graph[c.value]
            guard let b = constants[c.value], let sizes = v.type.shape.fixedSizes, b.byteCount == v.type.dtype.byteCount(shape: sizes) else {
                throw IngotError(.internal, file: label, location: "constant '\(v.name)'", "missing or of the wrong size for \(v.type)")
            }
        }
        kvCacheRowWidths = try Model.checkLowerings(graph, constants, file: label)
        self.path = label
        self.graph = graph
        self.tokenizerSpec = tokenizerSpec
        self.reader = nil
        self.verifiedSigner = nil
        self.constants = constants
    }

    /// Opens and validates an artifact; weights stored raw are mapped, not copied. With a
    /// trusted key (`trust`; by default INGOT_TRUSTED_KEY when set) the artifact must carry a
    /// valid signature by that key, checked before anything in it is used.
    public init(path: String, verification: ArtifactVerification = .structure, trust: ArtifactTrust = .environment) throws {
        try Int8KernelPath.applyEnvironment()
        self.path = path
        let trustedKey = try trust.trustedKey()
        let reader = try ArtifactReader(path: path, verify: verification)
        if let trustedKey { try reader.verifySignature(trustedKey: trustedKey) }
        verifiedSigner = trustedKey
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
            let expected = value.type.shape.fixedSizes.flatMap { value.type.dtype.byteCount(shape: $0) } ?? -1
            guard buffer.byteCount == expected else {
                throw IngotError(.format, file: path, location: "tensor '\(value.name)'",
                                 "\(buffer.byteCount) bytes, expected \(expected) for \(value.type)")
            }
            constants[c.value] = buffer
        }
        kvCacheRowWidths = try Model.checkLowerings(graph, constants, file: path)
        self.constants = constants
    }

    /// The tokenizer of the artifact at `path` without loading the model: reads the header,
    /// the section table, the tensor index and the TOKN section only — never the graph or a
    /// weight byte, except that a configured trusted key (`trust`) first checks the signature,
    /// which hashes every section. Nil when the artifact carries no tokenizer.
    public static func tokenizerSpec(artifact path: String, trust: ArtifactTrust = .environment) throws -> TokenizerSpec? {
        let reader = try ArtifactReader(path: path, verify: .structure)
        if let trustedKey = try trust.trustedKey() { try reader.verifySignature(trustedKey: trustedKey) }
        guard let bytes = try reader.payload(.tokenizer) else { return nil }
        return try bytes.withUnsafeBytes { try TokenizerSpec(decoding: $0, file: path) }
    }

    /// Every node's op has a runtime lowering (else `.unsupported` naming the op) and its weights
    /// pass the lowering's load check (`KernelLowering.checkWeights`), so the kernels need no
    /// bounds checks on weights (a hostile artifact cannot make them read outside). Returns the
    /// KV cache row widths by node index (`KernelLowering.kvCacheRowWidth`).
    static func checkLowerings(_ graph: Graph, _ constants: [ValueID: TensorBuffer], file: String) throws -> [Int: Int] {
        var kvCacheRowWidths: [Int: Int] = [:]
        for (n, node) in graph.nodes.enumerated() {
            let lowering: any KernelLowering.Type
            do {
                lowering = try node.op.kernelLowering()
            } catch let error as IngotError {
                throw error.inFile(file)
            }
            try lowering.checkWeights(of: node, in: graph, constants: constants, file: file)
            kvCacheRowWidths[n] = lowering.kvCacheRowWidth(node.op)
        }
        return kvCacheRowWidths
    }

    public var inputNames: [String] { graph.inputs.map { graph[$0].name } }
    public var outputNames: [String] { graph.outputs.map { graph[$0].name } }

    /// True when the graph keeps a KV cache (decoder models).
    public var usesKVCache: Bool { !kvCacheRowWidths.isEmpty }

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
        try Executor.run(plan: plan, context: &context)
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
            case .f16, .bf16, .f64, .i8, .u8, .i16, .i64, .bool, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q4_K, .q5_K, .q6_K:
                throw IngotError(.unsupported, location: "output '\(graph[id].name)'", "dtype \(v.dtype) cannot be returned")
            }
        }
        return outputs
    }

    private func prepareKVCaches() throws {
        guard kvCaches.isEmpty else { return }
        for (n, rowWidth) in model.kvCacheRowWidths {
            kvCaches[n] = LayerKVCache(limit: maxContext, rowWidth: rowWidth)
        }
    }
}
