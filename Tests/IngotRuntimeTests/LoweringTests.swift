// Runtime lowerings: every op kind of the IR has one (Lowering/), reached through the op's
// definition type. The sample ops come from an exhaustive switch, so a new `Op` case does not
// compile here until it has a sample, and then fails here until it has a lowering.
import XCTest
import IngotCore
import IngotIR
@testable import IngotRuntime

/// One kind per `Op` case; `init` and `sample` are exhaustive switches.
private enum OpKind: CaseIterable {
    case gather, matmul, binary, gelu, silu, layerNorm, rmsNorm, rope, softmax, attention, reshape, transpose, slice, concat
    case meanPool, l2Normalize, cast, linear, linearInt8, gatherInt8, swiglu, addLayerNorm, addRMSNorm, split, linearSparse
    case linearInt8Packed, pool, tanh

    init(_ op: Op) {
        switch op {
        case .gather: self = .gather
        case .matmul: self = .matmul
        case .binary: self = .binary
        case .gelu: self = .gelu
        case .silu: self = .silu
        case .layerNorm: self = .layerNorm
        case .rmsNorm: self = .rmsNorm
        case .rope: self = .rope
        case .softmax: self = .softmax
        case .attention: self = .attention
        case .reshape: self = .reshape
        case .transpose: self = .transpose
        case .slice: self = .slice
        case .concat: self = .concat
        case .meanPool: self = .meanPool
        case .l2Normalize: self = .l2Normalize
        case .cast: self = .cast
        case .linear: self = .linear
        case .linearInt8: self = .linearInt8
        case .gatherInt8: self = .gatherInt8
        case .swiglu: self = .swiglu
        case .addLayerNorm: self = .addLayerNorm
        case .addRMSNorm: self = .addRMSNorm
        case .split: self = .split
        case .linearSparse: self = .linearSparse
        case .linearInt8Packed: self = .linearInt8Packed
        case .pool: self = .pool
        case .tanh: self = .tanh
        }
    }

    var sample: Op {
        switch self {
        case .gather: return .gather
        case .matmul: return .matmul(transposeB: true)
        case .binary: return .binary(.add)
        case .gelu: return .gelu(.erf)
        case .silu: return .silu
        case .layerNorm: return .layerNorm(epsilon: 1e-12)
        case .rmsNorm: return .rmsNorm(epsilon: 1e-5)
        case .rope: return .rope(theta: 10000, heads: 2, headDim: 4, style: .halfRotation)
        case .softmax: return .softmax(axis: -1)
        case .attention: return .attention(AttentionAttributes(heads: 2, kvHeads: 1, headDim: 4, causal: true, scale: 0.5, kvCache: false))
        case .reshape: return .reshape(Shape([.symbol("batch"), .fixed(8)]))
        case .transpose: return .transpose(permutation: [1, 0])
        case .slice: return .slice(axis: 1, start: 0, end: 2)
        case .concat: return .concat(axis: -1)
        case .meanPool: return .meanPool
        case .l2Normalize: return .l2Normalize(axis: -1, epsilon: 1e-12)
        case .cast: return .cast(.f32)
        case .linear: return .linear(activation: .gelu)
        case .linearInt8: return .linearInt8(Int8LinearAttributes(group: 32, activation: .none, mode: .dynamic))
        case .gatherInt8: return .gatherInt8(group: 32)
        case .swiglu: return .swiglu
        case .addLayerNorm: return .addLayerNorm(epsilon: 1e-12)
        case .addRMSNorm: return .addRMSNorm(epsilon: 1e-5)
        case .split: return .split(axis: -1, sizes: [2, 2])
        case .linearSparse: return .linearSparse(activation: .none)
        case .linearInt8Packed: return .linearInt8Packed(PackedLinearAttributes(activation: .silu, inputBits: 8, smoothed: false))
        case .pool: return .pool(.lastToken)
        case .tanh: return .tanh
        }
    }
}

final class LoweringTests: XCTestCase {
    func testEverySampleIsOfItsKind() {
        for kind in OpKind.allCases {
            XCTAssertEqual(OpKind(kind.sample), kind, "\(kind.sample.name)")
        }
    }

    func testEveryOpKindHasARuntimeLowering() {
        var missing: [String] = []
        for kind in OpKind.allCases {
            let op = kind.sample
            guard let lowering = op.definition as? any KernelLowering.Type else {
                missing.append(op.name)
                continue
            }
            XCTAssertTrue(lowering == op.definition, "\(op.name): lowering \(lowering) is not its definition \(op.definition)")
            XCTAssertNoThrow(try op.kernelLowering(), op.name)
        }
        XCTAssertEqual(missing, [], "ops without a runtime lowering (Sources/IngotRuntime/Lowering/)")
    }

    func testEveryOpKindHasItsOwnDefinition() {
        let definitions = OpKind.allCases.map { ObjectIdentifier($0.sample.definition) }
        XCTAssertEqual(Set(definitions).count, OpKind.allCases.count)
    }
}
