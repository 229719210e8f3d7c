// TrainingScalar: the element types the training engine runs in — Float for training and
// Double for the finite-difference gradient checks — with their BLAS matrix product; both
// are reference-kernel scalars, so the tape's forwards run the reference kernels in either.
// It holds no training logic.

import CBLAS
import IngotKernels
import RealModule

public protocol TrainingScalar: Real, BinaryFloatingPoint, ReferenceScalar, Sendable {
    /// C[m, n] = α · op(A)[m, k] · op(B)[k, n] + β · C, row-major, with leading dimensions.
    static func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Self,
                     a: UnsafePointer<Self>, lda: Int, b: UnsafePointer<Self>, ldb: Int,
                     beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int)
}

extension Float: TrainingScalar {
    public static func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                            a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                            beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        guard m > 0, n > 0 else { return }
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
}

extension Double: TrainingScalar {
    public static func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Double,
                            a: UnsafePointer<Double>, lda: Int, b: UnsafePointer<Double>, ldb: Int,
                            beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int) {
        guard m > 0, n > 0 else { return }
        cblas_dgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
}

/// C = α·op(A)·op(B) + β·C over whole arrays (leading dimensions from the shapes).
@inline(__always)
func matmul<T: TrainingScalar>(_ a: [T], _ b: [T], into c: inout [T], m: Int, n: Int, k: Int,
                               transA: Bool = false, transB: Bool = false, alpha: T = 1, beta: T = 0) {
    a.withUnsafeBufferPointer { pa in
        b.withUnsafeBufferPointer { pb in
            c.withUnsafeMutableBufferPointer { pc in
                T.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                       a: pa.baseAddress!, lda: transA ? m : k, b: pb.baseAddress!, ldb: transB ? k : n,
                       beta: beta, c: pc.baseAddress!, ldc: n)
            }
        }
    }
}

/// Integer tensor (token ids, masks, positions) fed to a training graph.
public struct IntTensor: Sendable, Equatable {
    public var shape: [Int]
    public var values: [Int32]

    public init(shape: [Int], values: [Int32]) {
        self.shape = shape
        self.values = values
    }
}

/// One step's inputs, by graph input name.
public struct TrainingBatch: Sendable {
    public var inputs: [String: IntTensor]
    public init(_ inputs: [String: IntTensor]) { self.inputs = inputs }
}
