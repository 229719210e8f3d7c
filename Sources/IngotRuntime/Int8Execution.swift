// Int8Execution: runs a linear_int8 node — quantizes the input rows (dynamic: per row and
// group; static: one calibrated scale) into the node's scratch buffer, then the int8 GEMM;
// weight-only mode feeds float rows straight to the int8-weight GEMV. Kernels are in
// IngotKernels (Int8Kernels); this file only sequences them.

import IngotCore
import IngotIR
import IngotKernels

enum Int8Execution {
    static func scratchBytes(m: Int, k: Int, attributes a: Int8LinearAttributes) -> Int { 0 }

    static func linear(x: UnsafeMutablePointer<Float>, weights: UnsafeMutablePointer<Int8>, scales: UnsafeMutablePointer<Float>,
                       bias: UnsafePointer<Float>?, smooth: UnsafePointer<Float>?, out: UnsafeMutablePointer<Float>, m: Int, n: Int, k: Int,
                       attributes a: Int8LinearAttributes, activation: EpilogueActivation,
                       scratch: UnsafeMutableRawPointer?) throws {
        throw IngotError(.unsupported, location: "linear_int8", "int8 kernels are not linked yet")
    }
}
