// ONNX reader: a small model built with the generated messages reads back as a checked view
// (typed fields and raw_data, symbolic and fixed dims, attributes); hostile files — truncated
// protobuf, external data, data of the wrong length, bad dims — fail with format (65) or
// unsupported (69) errors naming the tensor or field, never a trap.
import Foundation
import XCTest
import IngotCore
import IngotTestSupport
import SwiftProtobuf
@testable import IngotCheckpoint

enum TinyONNX {
    static func tensor(_ name: String, dims: [Int64], floats: [Float]) -> Onnx_TensorProto {
        var t = Onnx_TensorProto()
        t.name = name
        t.dataType = 1
        t.dims = dims
        t.rawData = floats.withUnsafeBytes { Data($0) }
        return t
    }

    static func input(_ name: String, elemType: Int32 = 7, dims: [Any]) -> Onnx_ValueInfoProto {
        var v = Onnx_ValueInfoProto()
        v.name = name
        var t = Onnx_TypeProto.Tensor()
        t.elemType = elemType
        var s = Onnx_TensorShapeProto()
        s.dim = dims.map { d in
            var dim = Onnx_TensorShapeProto.Dimension()
            if let n = d as? Int { dim.dimValue = Int64(n) } else if let p = d as? String { dim.dimParam = p }
            return dim
        }
        t.shape = s
        v.type.tensorType = t
        return v
    }

    static func node(_ op: String, _ inputs: [String], _ outputs: [String], name: String = "", attributes: [Onnx_AttributeProto] = []) -> Onnx_NodeProto {
        var n = Onnx_NodeProto()
        n.opType = op
        n.input = inputs
        n.output = outputs
        n.name = name
        n.attribute = attributes
        return n
    }

    static func model(nodes: [Onnx_NodeProto], initializers: [Onnx_TensorProto], inputs: [Onnx_ValueInfoProto], outputs: [Onnx_ValueInfoProto]) -> Onnx_ModelProto {
        var m = Onnx_ModelProto()
        m.irVersion = 8
        var o = Onnx_OperatorSetIdProto()
        o.domain = ""
        o.version = 17
        m.opsetImport = [o]
        m.producerName = "ingot-tests"
        var g = Onnx_GraphProto()
        g.name = "tiny"
        g.node = nodes
        g.initializer = initializers
        g.input = inputs
        g.output = outputs
        m.graph = g
        return m
    }

    /// input_ids [batch, seq] → Gather(table [5, 4]) → output [batch, seq, 4].
    static func lookup() -> Onnx_ModelProto {
        model(nodes: [node("Gather", ["table", "input_ids"], ["hidden"], name: "embed")],
              initializers: [tensor("table", dims: [5, 4], floats: (0..<20).map(Float.init))],
              inputs: [input("input_ids", dims: ["batch", "seq"])],
              outputs: [input("hidden", elemType: 1, dims: ["batch", "seq", 4])])
    }
}

final class ONNXReaderTests: XCTestCase {
    func read(_ m: Onnx_ModelProto) throws -> ONNXModel {
        try ONNXModel(data: try m.serializedData(), path: "tiny.onnx")
    }

    func expectError(_ kind: IngotError.Kind, containing parts: [String], _ body: () throws -> Void,
                     file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            guard let e = error as? IngotError else { return XCTFail("not an IngotError: \(error)", file: file, line: line) }
            XCTAssertEqual(e.kind, kind, "\(e)", file: file, line: line)
            for p in parts { XCTAssertTrue(e.description.contains(p), "\(e) lacks \(p)", file: file, line: line) }
        }
    }

    func testTinyModelReadsBack() throws {
        var m = TinyONNX.lookup()
        var ids = Onnx_TensorProto()
        ids.name = "shape_const"
        ids.dataType = 7
        ids.dims = [3]
        ids.int64Data = [1, -1, 4]
        m.graph.initializer.append(ids)
        var attr = Onnx_AttributeProto()
        attr.name = "axis"
        attr.type = .int
        attr.i = 0
        m.graph.node[0].attribute = [attr]
        let model = try read(m)
        XCTAssertEqual(model.opsets[""], 17)
        XCTAssertEqual(model.inputs.map(\.name), ["input_ids"])
        XCTAssertEqual(model.inputs[0].dims, [.symbol("batch"), .symbol("seq")])
        XCTAssertEqual(model.inputs[0].dtype, .i64)
        XCTAssertEqual(model.outputs[0].dims, [.symbol("batch"), .symbol("seq"), .fixed(4)])
        XCTAssertEqual(model.nodes.map(\.opType), ["Gather"])
        guard case .int(0)? = model.nodes[0].attributes["axis"] else { return XCTFail("axis attribute") }
        XCTAssertEqual(model.initializers.map(\.name), ["table", "shape_const"])
        XCTAssertEqual(model.initializers[0].floats, (0..<20).map(Float.init), "raw_data")
        XCTAssertEqual(model.initializers[1].integers, [1, -1, 4], "int64_data")
    }

    func testTruncatedProtobufIsAFormatError() throws {
        let bytes = try TinyONNX.lookup().serializedData()
        for cut in [1, 7, bytes.count / 2, bytes.count - 3] {
            expectError(.format, containing: ["tiny.onnx"]) { _ = try ONNXModel(data: bytes.prefix(cut), path: "tiny.onnx") }
        }
        expectError(.format, containing: ["ModelProto"]) { _ = try ONNXModel(data: Data([0xFF, 0xFF, 0xFF]), path: "tiny.onnx") }
        XCTAssertEqual(IngotError.Kind.format.exitCode, 65)
    }

    func testExternalDataIsRefusedNamingTheTensor() throws {
        var m = TinyONNX.lookup()
        var t = m.graph.initializer[0]
        t.clearRawData()
        t.dataLocation = .external
        var entry = Onnx_StringStringEntryProto()
        entry.key = "location"
        entry.value = "weights.bin"
        t.externalData = [entry]
        m.graph.initializer[0] = t
        expectError(.unsupported, containing: ["\"table\"", "external data", "weights.bin"]) { _ = try read(m) }
    }

    func testDataOfTheWrongLengthNamesTheTensor() throws {
        var m = TinyONNX.lookup()
        m.graph.initializer[0].rawData = Data(count: 12)
        expectError(.format, containing: ["\"table\"", "raw_data", "12 bytes, expected 80"]) { _ = try read(m) }
        var typed = TinyONNX.lookup()
        typed.graph.initializer[0].clearRawData()
        typed.graph.initializer[0].floatData = [1, 2]
        expectError(.format, containing: ["\"table\"", "float_data", "2 elements, expected 20"]) { _ = try read(typed) }
        var negative = TinyONNX.lookup()
        negative.graph.initializer[0].dims = [-5, 4]
        expectError(.format, containing: ["\"table\"", "dims"]) { _ = try read(negative) }
        var type = TinyONNX.lookup()
        type.graph.initializer[0].dataType = 8
        expectError(.unsupported, containing: ["\"table\"", "STRING"]) { _ = try read(type) }
    }

    func testMissingGraphAndDuplicateInitializers() throws {
        var m = TinyONNX.lookup()
        m.clearGraph()
        expectError(.format, containing: ["ModelProto.graph"]) { _ = try read(m) }
        var dup = TinyONNX.lookup()
        dup.graph.initializer.append(dup.graph.initializer[0])
        expectError(.format, containing: ["\"table\" appears twice"]) { _ = try read(dup) }
    }
}
