// OpDefinitions (skeleton, to be filled and split by family): one type per op kind. The IR
// facts of an op (name, code, arity, attributes, shape rule, codec) are members of its type;
// the runtime and autodiff attach their lowering and gradient to the same type by conformance
// in their own modules, so an op is defined once per layer.

import IngotCore

/// An op kind's IR facts. The printer, parser, codec and verifier reach them through `Op.definition`.
public protocol OpDefinition {}

/// Namespace of the op kinds' definition types.
public enum Ops {
    public enum Gather: OpDefinition {}
    public enum MatMul: OpDefinition {}
    public enum Binary: OpDefinition {}
    public enum GELU: OpDefinition {}
    public enum SiLU: OpDefinition {}
    public enum LayerNorm: OpDefinition {}
    public enum RMSNorm: OpDefinition {}
    public enum Rope: OpDefinition {}
    public enum Softmax: OpDefinition {}
    public enum Attention: OpDefinition {}
    public enum Reshape: OpDefinition {}
    public enum Transpose: OpDefinition {}
    public enum Slice: OpDefinition {}
    public enum Concat: OpDefinition {}
    public enum MeanPool: OpDefinition {}
    public enum L2Normalize: OpDefinition {}
    public enum Cast: OpDefinition {}
    public enum Linear: OpDefinition {}
    public enum LinearInt8: OpDefinition {}
    public enum GatherInt8: OpDefinition {}
    public enum SwiGLU: OpDefinition {}
    public enum AddLayerNorm: OpDefinition {}
    public enum AddRMSNorm: OpDefinition {}
    public enum Split: OpDefinition {}
    public enum LinearSparse: OpDefinition {}
    public enum LinearInt8Packed: OpDefinition {}
}

extension Op {
    /// The op kind's definition type: the one switch from cases to definitions.
    public var definition: any OpDefinition.Type {
        switch self {
        case .gather: return Ops.Gather.self
        case .matmul: return Ops.MatMul.self
        case .binary: return Ops.Binary.self
        case .gelu: return Ops.GELU.self
        case .silu: return Ops.SiLU.self
        case .layerNorm: return Ops.LayerNorm.self
        case .rmsNorm: return Ops.RMSNorm.self
        case .rope: return Ops.Rope.self
        case .softmax: return Ops.Softmax.self
        case .attention: return Ops.Attention.self
        case .reshape: return Ops.Reshape.self
        case .transpose: return Ops.Transpose.self
        case .slice: return Ops.Slice.self
        case .concat: return Ops.Concat.self
        case .meanPool: return Ops.MeanPool.self
        case .l2Normalize: return Ops.L2Normalize.self
        case .cast: return Ops.Cast.self
        case .linear: return Ops.Linear.self
        case .linearInt8: return Ops.LinearInt8.self
        case .gatherInt8: return Ops.GatherInt8.self
        case .swiglu: return Ops.SwiGLU.self
        case .addLayerNorm: return Ops.AddLayerNorm.self
        case .addRMSNorm: return Ops.AddRMSNorm.self
        case .split: return Ops.Split.self
        case .linearSparse: return Ops.LinearSparse.self
        case .linearInt8Packed: return Ops.LinearInt8Packed.self
        }
    }
}
