// Type inference: the output dtype and shape of an op from its input types, with symbolic
// dimensions. Checks the arity and hands the rest to the op's definition (Ops/); used by the
// graph builder and the verifier. It never looks at data.

import IngotCore

/// Output types of `op` applied to inputs of `inputTypes`; throws IngotError(.verification).
public func inferOutputTypes(_ op: Op, _ inputTypes: [TensorType]) throws -> [TensorType] {
    do {
        let arity = op.arity
        guard arity.contains(inputTypes.count) else {
            let counts = arity.lowerBound == arity.upperBound ? String(arity.lowerBound) : "\(arity.lowerBound)…\(arity.upperBound)"
            throw InferenceError("takes \(counts) inputs, got \(inputTypes.count)")
        }
        return try op.definition.outputTypes(of: op, inputTypes)
    } catch let e as InferenceError {
        let args = inputTypes.map(\.description).joined(separator: ", ")
        throw IngotError(.verification, "\(op.name)(\(args)): \(e.message)")
    }
}

/// `Shape.broadcast` for shape rules: the mismatch as an InferenceError.
func broadcast(_ a: Shape, _ b: Shape) throws -> Shape {
    do {
        return try Shape.broadcast(a, b)
    } catch let e as IngotError {
        throw InferenceError(e.message)
    }
}
