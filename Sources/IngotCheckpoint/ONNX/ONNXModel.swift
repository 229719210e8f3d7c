// ONNXModel: an ONNX file (a protobuf ModelProto, onnx.pb.swift) decoded into a checked view:
// the main graph's nodes with typed attributes, its initializers as tensors with validated dtype,
// dims and data (raw_data or the typed fields), and its inputs and outputs with fixed or symbolic
// dimensions. Hostile input throws IngotError naming the tensor, node or field; protobuf decoding
// errors become format errors (exit 65). It does not read external data (refused, naming the
// tensor), sparse initializers, subgraphs or training info, and knows nothing of model
// architectures or of what an op computes (IngotImport's ONNXImporter does).

import IngotCore
import SwiftProtobuf
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A dimension of a graph input or output.
public enum ONNXDim: Sendable, Hashable, CustomStringConvertible {
    case fixed(Int)
    /// dim_param, e.g. "batch_size".
    case symbol(String)
    /// Neither dim_value nor dim_param set.
    case unknown

    public var description: String {
        switch self {
        case .fixed(let n): return String(n)
        case .symbol(let s): return s
        case .unknown: return "?"
        }
    }
}

/// A graph input or output: element type and dims when the file states them.
public struct ONNXValueInfo: Sendable {
    public var name: String
    public var dtype: DType
    /// nil when the file gives no shape.
    public var dims: [ONNXDim]?
}

/// A tensor with its data in the matching DType, row-major.
public struct ONNXTensor: @unchecked Sendable {
    public var name: String
    public var dtype: DType
    public var dims: [Int]
    public var data: TensorBuffer

    public var elementCount: Int { dims.reduce(1, *) }

    public init(name: String, dtype: DType, dims: [Int], data: TensorBuffer) {
        self.name = name
        self.dtype = dtype
        self.dims = dims
        self.data = data
    }

    /// The elements as Int64 (integer dtypes and bool), or nil for float tensors.
    public var integers: [Int64]? {
        switch dtype {
        case .i64: return data.toArray(of: Int64.self)
        case .i32: return data.toArray(of: Int32.self).map(Int64.init)
        case .i16: return data.toArray(of: Int16.self).map(Int64.init)
        case .i8: return data.toArray(of: Int8.self).map(Int64.init)
        case .u8, .bool: return data.toArray(of: UInt8.self).map(Int64.init)
        case .f32, .f16, .bf16, .f64: return nil
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q4_K, .q5_K, .q6_K: return nil
        }
    }

    /// The elements as Float (f32, f64 and the integer dtypes), or nil for f16/bf16.
    public var floats: [Float]? {
        switch dtype {
        case .f32: return data.toArray(of: Float.self)
        case .f64: return data.toArray(of: Double.self).map { Float($0) }
        case .f16, .bf16: return nil
        case .i64, .i32, .i16, .i8, .u8, .bool: return integers?.map { Float($0) }
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q4_K, .q5_K, .q6_K: return nil
        }
    }
}

public enum ONNXAttribute: @unchecked Sendable {
    case float(Float)
    case int(Int64)
    case string(String)
    case tensor(ONNXTensor)
    case floats([Float])
    case ints([Int64])
    case strings([String])
    /// A subgraph, sparse tensor or type attribute: kept by kind name only (no op Ingot imports uses one).
    case other(String)
}

public struct ONNXNode: Sendable {
    /// The node's name, or "<op_type>#<index>" when the file leaves it empty.
    public var name: String
    public var opType: String
    /// "" for the default ai.onnx domain.
    public var domain: String
    /// Input value names; "" marks an omitted optional input.
    public var inputs: [String]
    public var outputs: [String]
    public var attributes: [String: ONNXAttribute]
}

public struct ONNXModel: @unchecked Sendable {
    public static let maxRank = 8
    public static let maxNodes = 1 << 20

    public let path: String
    public var irVersion: Int64
    /// Operator set versions by domain ("" for ai.onnx).
    public var opsets: [String: Int64]
    public var producer: String
    /// Graph inputs that are not initializers.
    public var inputs: [ONNXValueInfo]
    public var outputs: [ONNXValueInfo]
    public var nodes: [ONNXNode]
    /// Initializers in file order.
    public var initializers: [ONNXTensor]
    public var fileBytes: Int

    /// Reads and checks the file at `path`.
    public init(path: String) throws {
        let file = try MappedFile(path: path)
        let data = Data(file.bytes)
        try self.init(data: data, path: path)
    }

    /// Checks a serialized ModelProto; `path` names it in errors.
    public init(data: Data, path: String) throws {
        let proto: Onnx_ModelProto
        do {
            proto = try Onnx_ModelProto(serializedBytes: data)
        } catch {
            throw IngotError(.format, file: path, location: "ModelProto",
                             "not a valid ONNX protobuf (\(error)); expected a serialized onnx.ModelProto")
        }
        self.path = path
        fileBytes = data.count
        irVersion = proto.irVersion
        producer = proto.producerName + (proto.producerVersion.isEmpty ? "" : " " + proto.producerVersion)
        var opsets: [String: Int64] = [:]
        for o in proto.opsetImport { opsets[o.domain == "ai.onnx" ? "" : o.domain] = o.version }
        self.opsets = opsets
        guard proto.hasGraph else {
            throw IngotError(.format, file: path, location: "ModelProto.graph", "missing; expected the model's graph")
        }
        let graph = proto.graph
        guard opsets[""] != nil else {
            throw IngotError(.format, file: path, location: "ModelProto.opset_import",
                             "no ai.onnx operator set (domains: \(opsets.keys.sorted())); expected one")
        }
        guard graph.node.count <= ONNXModel.maxNodes else {
            throw IngotError(.format, file: path, location: "graph.node", "\(graph.node.count) nodes, expected at most \(ONNXModel.maxNodes)")
        }
        if let sparse = graph.sparseInitializer.first {
            throw IngotError(.unsupported, file: path, location: "graph.sparse_initializer",
                             "sparse initializer \"\(sparse.values.name)\" (\(graph.sparseInitializer.count) in all); expected dense initializers")
        }

        var initializers: [ONNXTensor] = []
        var initializerNames: Set<String> = []
        for (i, t) in graph.initializer.enumerated() {
            let tensor = try ONNXModel.tensor(t, location: "graph.initializer[\(i)]", path: path)
            guard !tensor.name.isEmpty else {
                throw IngotError(.format, file: path, location: "graph.initializer[\(i)].name", "empty; expected a tensor name")
            }
            guard initializerNames.insert(tensor.name).inserted else {
                throw IngotError(.format, file: path, location: "graph.initializer[\(i)]", "tensor \"\(tensor.name)\" appears twice")
            }
            initializers.append(tensor)
        }
        self.initializers = initializers
        // Older exporters list initializers among the inputs too: those are not model inputs.
        inputs = try graph.input.enumerated().filter { !initializerNames.contains($0.element.name) }.map {
            try ONNXModel.valueInfo($0.element, location: "graph.input[\($0.offset)]", path: path)
        }
        outputs = try graph.output.enumerated().map {
            try ONNXModel.valueInfo($0.element, location: "graph.output[\($0.offset)]", path: path)
        }
        nodes = try graph.node.enumerated().map { try ONNXModel.node($0.element, index: $0.offset, path: path) }
    }

    /// The ONNX TensorProto.DataType code → DType (nil for types Ingot does not read).
    public static func dtype(code: Int32) -> DType? {
        switch code {
        case 1: return .f32
        case 2: return .u8
        case 3: return .i8
        case 5: return .i16
        case 6: return .i32
        case 7: return .i64
        case 9: return .bool
        case 10: return .f16
        case 11: return .f64
        case 16: return .bf16
        default: return nil
        }
    }

    static func typeName(code: Int32) -> String {
        let names: [Int32: String] = [0: "UNDEFINED", 1: "FLOAT", 2: "UINT8", 3: "INT8", 4: "UINT16", 5: "INT16", 6: "INT32",
                                      7: "INT64", 8: "STRING", 9: "BOOL", 10: "FLOAT16", 11: "DOUBLE", 12: "UINT32",
                                      13: "UINT64", 14: "COMPLEX64", 15: "COMPLEX128", 16: "BFLOAT16"]
        return names[code] ?? "type \(code)"
    }

    static func valueInfo(_ v: Onnx_ValueInfoProto, location: String, path: String) throws -> ONNXValueInfo {
        guard !v.name.isEmpty else { throw IngotError(.format, file: path, location: location + ".name", "empty; expected a value name") }
        guard case .tensorType(let t)? = v.type.value else {
            throw IngotError(.unsupported, file: path, location: location, "value \"\(v.name)\" is not a tensor; expected tensor inputs and outputs")
        }
        guard let dtype = dtype(code: t.elemType) else {
            throw IngotError(.unsupported, file: path, location: location, "value \"\(v.name)\" has element type \(typeName(code: t.elemType)); expected a numeric type")
        }
        var dims: [ONNXDim]? = nil
        if t.hasShape {
            guard t.shape.dim.count <= maxRank else {
                throw IngotError(.format, file: path, location: location, "value \"\(v.name)\" has rank \(t.shape.dim.count), expected at most \(maxRank)")
            }
            dims = try t.shape.dim.map { d in
                switch d.value {
                case .dimValue(let n)?:
                    guard n >= 0, n <= Int64(Int32.max) else {
                        throw IngotError(.format, file: path, location: location, "value \"\(v.name)\" has dimension \(n), expected 0…\(Int32.max)")
                    }
                    return .fixed(Int(n))
                case .dimParam(let s)?: return s.isEmpty ? .unknown : .symbol(s)
                case nil: return .unknown
                }
            }
        }
        return ONNXValueInfo(name: v.name, dtype: dtype, dims: dims)
    }

    static func tensor(_ t: Onnx_TensorProto, location: String, path: String) throws -> ONNXTensor {
        let what = t.name.isEmpty ? location : "tensor \"\(t.name)\""
        if t.dataLocation == .external || !t.externalData.isEmpty {
            let file = t.externalData.first(where: { $0.key == "location" })?.value ?? "?"
            throw IngotError(.unsupported, file: path, location: what,
                             "data is stored outside the model (external data, location \"\(file)\"); expected the weights inside the .onnx file (re-save the model with all tensors embedded)")
        }
        if t.hasSegment {
            throw IngotError(.unsupported, file: path, location: what, "segmented tensor; expected a whole tensor")
        }
        guard let dtype = dtype(code: t.dataType) else {
            throw IngotError(.unsupported, file: path, location: what, "element type \(typeName(code: t.dataType)); expected FLOAT, DOUBLE, FLOAT16, BFLOAT16, INT8, UINT8, INT16, INT32, INT64 or BOOL")
        }
        guard t.dims.count <= maxRank else {
            throw IngotError(.format, file: path, location: what, "rank \(t.dims.count), expected at most \(maxRank)")
        }
        var dims: [Int] = []
        for d in t.dims {
            guard d >= 0, d <= Int64(Int32.max) else {
                throw IngotError(.format, file: path, location: what + ".dims", "value \(d), expected 0…\(Int32.max)")
            }
            dims.append(Int(d))
        }
        guard let count = Shape.checkedProduct(dims), let bytes = Optional(count.multipliedReportingOverflow(by: dtype.byteSize)),
              !bytes.overflow else {
            throw IngotError(.format, file: path, location: what + ".dims", "\(dims) overflows")
        }
        let expectedBytes = bytes.partialValue
        func mismatch(_ field: String, _ seen: Int) -> IngotError {
            IngotError(.format, file: path, location: what + "." + field,
                       "\(seen) elements, expected \(count) for dims \(dims) (\(typeName(code: t.dataType)))")
        }
        if t.hasRawData {
            guard t.rawData.count == expectedBytes else {
                throw IngotError(.format, file: path, location: what + ".raw_data",
                                 "\(t.rawData.count) bytes, expected \(expectedBytes) for dims \(dims) (\(typeName(code: t.dataType)))")
            }
            let buffer = try TensorBuffer(uninitializedByteCount: expectedBytes)
            t.rawData.withUnsafeBytes { src in
                if let base = src.baseAddress, expectedBytes > 0 { buffer.mutableRaw.baseAddress!.copyMemory(from: base, byteCount: expectedBytes) }
            }
            return ONNXTensor(name: t.name, dtype: dtype, dims: dims, data: buffer)
        }
        let buffer: TensorBuffer
        switch dtype {
        case .f32:
            guard t.floatData.count == count else { throw mismatch("float_data", t.floatData.count) }
            buffer = TensorBuffer(array: t.floatData)
        case .f64:
            guard t.doubleData.count == count else { throw mismatch("double_data", t.doubleData.count) }
            buffer = TensorBuffer(array: t.doubleData)
        case .i64:
            guard t.int64Data.count == count else { throw mismatch("int64_data", t.int64Data.count) }
            buffer = TensorBuffer(array: t.int64Data)
        case .i32:
            guard t.int32Data.count == count else { throw mismatch("int32_data", t.int32Data.count) }
            buffer = TensorBuffer(array: t.int32Data)
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q4_K, .q5_K, .q6_K:
            // dtype(code:) never gives a block type: ONNX has no GGML blocks.
            throw IngotError(.unsupported, file: path, location: what, "element type \(dtype), expected an ONNX element type")
        case .i16, .i8, .u8, .bool, .f16, .bf16:
            // These travel in int32_data, one element per entry (f16/bf16 as their bit patterns).
            guard t.int32Data.count == count else { throw mismatch("int32_data", t.int32Data.count) }
            switch dtype {
            case .i16: buffer = TensorBuffer(array: t.int32Data.map { Int16(truncatingIfNeeded: $0) })
            case .i8: buffer = TensorBuffer(array: t.int32Data.map { Int8(truncatingIfNeeded: $0) })
            case .u8, .bool: buffer = TensorBuffer(array: t.int32Data.map { UInt8(truncatingIfNeeded: $0) })
            case .f16, .bf16: buffer = TensorBuffer(array: t.int32Data.map { UInt16(truncatingIfNeeded: $0) })
            case .f32, .f64, .i64, .i32: buffer = TensorBuffer(array: [UInt8]())
            case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q4_K, .q5_K, .q6_K: buffer = TensorBuffer(array: [UInt8]())
            }
        }
        return ONNXTensor(name: t.name, dtype: dtype, dims: dims, data: count == 0 ? TensorBuffer(zeroedByteCount: 0) : buffer)
    }

    static func node(_ n: Onnx_NodeProto, index: Int, path: String) throws -> ONNXNode {
        let name = n.name.isEmpty ? "\(n.opType)#\(index)" : n.name
        let location = "node \"\(name)\" (\(n.opType))"
        guard !n.opType.isEmpty else {
            throw IngotError(.format, file: path, location: "graph.node[\(index)].op_type", "empty; expected an operator name")
        }
        var attributes: [String: ONNXAttribute] = [:]
        for (ai, a) in n.attribute.enumerated() {
            guard !a.name.isEmpty else {
                throw IngotError(.format, file: path, location: location + ".attribute[\(ai)].name", "empty; expected an attribute name")
            }
            let value: ONNXAttribute
            switch a.type {
            case .float: value = .float(a.f)
            case .int: value = .int(a.i)
            case .string:
                guard let s = String(data: a.s, encoding: .utf8) else {
                    throw IngotError(.format, file: path, location: location + ".\(a.name)", "string attribute is not UTF-8")
                }
                value = .string(s)
            case .tensor: value = .tensor(try tensor(a.t, location: location + ".\(a.name)", path: path))
            case .floats: value = .floats(a.floats)
            case .ints: value = .ints(a.ints)
            case .strings:
                value = .strings(try a.strings.map { d in
                    guard let s = String(data: d, encoding: .utf8) else {
                        throw IngotError(.format, file: path, location: location + ".\(a.name)", "string attribute is not UTF-8")
                    }
                    return s
                })
            case .undefined, .graph, .sparseTensor, .typeProto, .tensors, .graphs, .sparseTensors, .typeProtos:
                value = .other("\(a.type)")
            }
            attributes[a.name] = value
        }
        return ONNXNode(name: name, opType: n.opType, domain: n.domain == "ai.onnx" ? "" : n.domain,
                        inputs: n.input, outputs: n.output, attributes: attributes)
    }
}
