// ConstantData: how passes read weights and make new ones without breaking streaming. A
// derived constant (concatenated Q/K/V, quantized int8 weights) gets a ConstantSource whose
// loader computes the bytes when the artifact writer asks, from its parents' loaders, and
// whose release releases the parents. Graphs parsed from text have no sources; passes then
// still rewrite the graph and the new constant has no source either.

import IngotCore
import IngotIR

extension Graph {
    /// The constant's values as Float (f32, f16 and bf16 constants; block-quantized ones decoded).
    public func floats(of id: ValueID) throws -> [Float] {
        guard let source = constant(id)?.source else {
            throw IngotError(.internal, location: "constant '\(self[id].name)'", "has no data source")
        }
        return try Self.floats(try source.load(), dtype: self[id].type.dtype, name: self[id].name)
    }

    static func floats(_ buffer: TensorBuffer, dtype: DType, name: String) throws -> [Float] {
        switch dtype {
        case .f32: return buffer.toArray(of: Float.self)
        case .f16: return buffer.toArray(of: UInt16.self).map(floatFromHalfBits)
        case .bf16: return buffer.toArray(of: UInt16.self).map(floatFromBFloat16Bits)
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q4_K, .q5_K, .q6_K:
            // Block-quantized weights decode to the floats they stand for (quantize=int8 re-quantizes those).
            return buffer.withBytes { BlockQuant.floats(dtype, $0, elements: buffer.byteCount / dtype.byteSize * dtype.blockSize) }
        case .f64, .i8, .u8, .i16, .i32, .i64, .bool:
            throw IngotError(.unsupported, location: "constant '\(name)'", "dtype \(dtype) cannot be read as float here")
        }
    }

    /// Adds a constant whose bytes are computed on demand from `parents` (nil source when any parent has none).
    public mutating func addDerivedConstant(_ name: String, _ type: TensorType, parents: [ValueID], origin: String,
                                            compute: @escaping @Sendable ([TensorBuffer]) throws -> TensorBuffer) -> ValueID {
        let sources = parents.map { constant($0)?.source }
        guard sources.allSatisfy({ $0 != nil }) else { return addConstant(freshName(name), type, source: nil) }
        let resolved = sources.map { $0! }
        let source = ConstantSource(origin: origin, loader: {
            try compute(try resolved.map { try $0.load() })
        }, release: {
            for s in resolved { s.release() }
        })
        return addConstant(freshName(name), type, source: source)
    }

    /// Replaces a constant's data source in place (same name and type).
    public mutating func setSource(of id: ValueID, _ source: ConstantSource?) {
        guard let i = constants.firstIndex(where: { $0.value == id }) else { return }
        constants[i].source = source
    }
}

/// Concatenates row-major tensors along axis 0 (all of the same element size).
func concatenateRows(_ parts: [TensorBuffer]) throws -> TensorBuffer {
    let total = parts.reduce(0) { $0 + $1.byteCount }
    let out = try TensorBuffer(uninitializedByteCount: total)
    var offset = 0
    for p in parts {
        p.withBytes { src in
            if let base = src.baseAddress { (out.mutableRaw.baseAddress! + offset).copyMemory(from: base, byteCount: src.count) }
        }
        offset += p.byteCount
    }
    return out
}
