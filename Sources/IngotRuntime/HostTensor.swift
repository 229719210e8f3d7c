// HostTensor: a tensor passed into or returned from the runtime's public API — a shape
// and a typed array. The runtime copies inputs into its arena; it never aliases these.

import IngotCore

public struct HostTensor: Sendable, Equatable {
    public enum Storage: Sendable, Equatable {
        case f32([Float])
        case i32([Int32])
    }

    public var shape: [Int]
    public var storage: Storage

    public init(shape: [Int], floats: [Float]) {
        self.shape = shape
        storage = .f32(floats)
    }

    public init(shape: [Int], ints: [Int32]) {
        self.shape = shape
        storage = .i32(ints)
    }

    public var dtype: DType {
        switch storage {
        case .f32: return .f32
        case .i32: return .i32
        }
    }

    public var elementCount: Int {
        switch storage {
        case .f32(let a): return a.count
        case .i32(let a): return a.count
        }
    }

    public var floats: [Float]? {
        if case .f32(let a) = storage { return a }
        return nil
    }

    public var ints: [Int32]? {
        if case .i32(let a) = storage { return a }
        return nil
    }

    func withRawBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        switch storage {
        case .f32(let a): return try a.withUnsafeBytes(body)
        case .i32(let a): return try a.withUnsafeBytes(body)
        }
    }
}
