// Which op kinds the tape differentiates: every IR definition type but the int8 and
// sparse-format ones conforms to DifferentiableOp, and a graph with one of those fails its
// forward with the error that tells the user to distill before quantize and sparsify.

import IngotCore
import IngotIR
import XCTest
@testable import IngotAutodiff

final class DifferentiableOpTests: XCTestCase {
    func testEveryFloatOpKindHasAGradientAndTheInt8AndSparseOnesDoNot() {
        let differentiable: [any OpDefinition.Type] = [
            Ops.Gather.self, Ops.MatMul.self, Ops.Binary.self, Ops.GELU.self, Ops.SiLU.self, Ops.LayerNorm.self, Ops.RMSNorm.self,
            Ops.Rope.self, Ops.Softmax.self, Ops.Attention.self, Ops.Reshape.self, Ops.Transpose.self, Ops.Slice.self,
            Ops.Concat.self, Ops.MeanPool.self, Ops.L2Normalize.self, Ops.Cast.self, Ops.Linear.self, Ops.SwiGLU.self,
            Ops.AddLayerNorm.self, Ops.AddRMSNorm.self, Ops.Split.self, Ops.Pool.self, Ops.Tanh.self,
        ]
        let notDifferentiable: [any OpDefinition.Type] = [Ops.LinearInt8.self, Ops.GatherInt8.self, Ops.LinearSparse.self, Ops.LinearInt8Packed.self]
        for type in differentiable { XCTAssertTrue(type is any DifferentiableOp.Type, "\(type)") }
        for type in notDifferentiable { XCTAssertFalse(type is any DifferentiableOp.Type, "\(type)") }
    }

    func testAnInt8GraphIsRejectedNamingTheNodeAndTheFix() throws {
        let g = try GraphParser.parse("""
            graph t(%x: f32[2, 8]) -> (%y) {
              @q: i8[8, 8]
              @qs: f32[8, 2]
              %y: f32[2, 8] = linear_int8(%x, @q, @qs) {group = 4, activation = none, mode = weight_only, input_scale = 0.0, smoothed = false}
              return %y
            }
            """)
        let tape = try Tape<Float>(graph: g, parameters: [g.value(named: "qs")!.index: [Float](repeating: 0.01, count: 16)])
        XCTAssertThrowsError(try tape.forward([:], floatInputs: ["x": ([2, 8], [Float](repeating: 1, count: 16))])) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("node y (linear_int8)"), text)
            XCTAssertTrue(text.contains("int8 and sparse-format ops are not differentiable; run distill before quantize and sparsify"), text)
        }
    }
}
