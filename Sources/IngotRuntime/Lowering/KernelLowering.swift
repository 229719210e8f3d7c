// KernelLowering: what the runtime needs to know about one op kind, attached by conformance to
// the op's IR definition type (`Ops.LayerNorm: KernelLowering` in Lowering/Norms.swift). A
// lowering checks the node's weights when a model loads, sizes the node's scratch buffer and
// builds the node's kernel call with every size fixed for one plan's (batch, seq). The plan
// resolves each node's lowering once; the executor only calls the built kernel calls.
// This file holds the protocol and the types a lowering works with, no op's code.

import IngotCore
import IngotIR
import IngotKernels

/// One node's kernel call, sizes captured when the plan was built; reads and writes `NodeBuffers`.
/// A call whose last statement is a plain memmove copies through `Executor.copyBytes` (see there).
typealias KernelCall = (NodeBuffers, inout ExecutionContext) throws -> Void

/// A node with its operands' planned shapes and storage: what a lowering sees when it builds the call.
struct PlannedNode {
    /// Index in `graph.nodes` (the key of the node's KV cache).
    let index: Int
    let node: Node
    let inputs: [PlannedValue]
    let outputs: [PlannedValue]

    var op: Op { node.op }
}

/// The addresses of one node's operands for one call, in the node's input and output order.
struct NodeBuffers {
    let inputs: [UnsafeMutableRawPointer]
    let outputs: [UnsafeMutableRawPointer]
    /// The node's scratch buffer in the arena, when its lowering asked for bytes (`scratchBytes`).
    let scratch: UnsafeMutableRawPointer?

    func f32(_ i: Int) -> UnsafeMutablePointer<Float> { inputs[i].assumingMemoryBound(to: Float.self) }
    func i32(_ i: Int) -> UnsafeMutablePointer<Int32> { inputs[i].assumingMemoryBound(to: Int32.self) }
    func i16(_ i: Int) -> UnsafeMutablePointer<Int16> { inputs[i].assumingMemoryBound(to: Int16.self) }
    func i8(_ i: Int) -> UnsafeMutablePointer<Int8> { inputs[i].assumingMemoryBound(to: Int8.self) }
    func out(_ i: Int = 0) -> UnsafeMutablePointer<Float> { outputs[i].assumingMemoryBound(to: Float.self) }
}

protocol KernelLowering: OpDefinition {
    /// Checks, once when a model loads, the invariants of the node's weights its kernel relies on
    /// instead of bounds checks. Default: none.
    static func checkWeights(of node: Node, in graph: Graph, constants: [ValueID: TensorBuffer], file: String) throws

    /// Temporary bytes the node's kernel needs while it runs, for operands of these planned shapes. Default: 0.
    static func scratchBytes(_ op: Op, inputShapes: [[Int]]) -> Int

    /// The same for lowerings whose scratch depends on an input's dtype (block-quantized weights).
    /// Default: `scratchBytes(_:inputShapes:)`. The plan calls this one.
    static func scratchBytes(_ op: Op, inputShapes: [[Int]], dtypes: [DType]) -> Int

    /// Floats per position of the K and V cache the node keeps across a session's calls, nil
    /// when it keeps none. The session allocates the cache; the kernel call finds it in
    /// `ExecutionContext.kvCaches` under the node's index. Default: nil.
    static func kvCacheRowWidth(_ op: Op) -> Int?

    /// The node's kernel call with its sizes computed for the node's planned shapes; throws when the
    /// runtime cannot run the node at these shapes or attributes.
    static func kernel(for node: PlannedNode, in graph: Graph) throws -> KernelCall
}

extension KernelLowering {
    static func checkWeights(of node: Node, in graph: Graph, constants: [ValueID: TensorBuffer], file: String) throws {}

    static func scratchBytes(_ op: Op, inputShapes: [[Int]]) -> Int { 0 }

    static func scratchBytes(_ op: Op, inputShapes: [[Int]], dtypes: [DType]) -> Int { scratchBytes(op, inputShapes: inputShapes) }

    static func kvCacheRowWidth(_ op: Op) -> Int? { nil }

    /// The error of a lowering handed an op of another kind (a bug in `Op.definition`).
    static func otherOp(_ op: Op) -> IngotError {
        IngotError(.internal, location: "runtime lowering \(Self.self)", "called for op '\(op.name)'")
    }
}

extension Op {
    /// The op kind's runtime lowering; `.unsupported` naming the op when the runtime has none.
    func kernelLowering() throws -> any KernelLowering.Type {
        guard let lowering = definition as? any KernelLowering.Type else {
            throw IngotError(.unsupported, location: "op '\(name)'", "the runtime has no kernel lowering for it")
        }
        return lowering
    }
}

extension EpilogueActivation {
    /// The kernels' activation for a fused layer's `Activation`.
    init(_ a: Activation) {
        switch a {
        case .none: self = .none
        case .gelu: self = .gelu
        case .geluTanh: self = .geluTanh
        case .silu: self = .silu
        }
    }
}

/// Next multi-index in row-major order within `shape` (broadcasting and transposition walk shapes with it).
@inline(__always) func advance(_ index: inout [Int], within shape: [Int]) {
    var d = shape.count - 1
    while d >= 0 {
        index[d] += 1
        if index[d] < shape[d] { return }
        index[d] = 0
        d -= 1
    }
}
