// IR: builder type inference, verifier negative cases, printer golden text, codec round trip
// and hostile decoding.
import XCTest
import IngotCore
import IngotTestSupport
@testable import IngotIR

/// A two-layer toy encoder: gather → layer_norm → q/k/v → attention → mean_pool → l2_normalize.
func makeTinyEncoder() throws -> Graph {
    var g = Graph(name: "tiny")
    let ids = g.addInput("input_ids", TensorType(.i32, ["batch", "seq"]))
    let mask = g.addInput("attention_mask", TensorType(.i32, ["batch", "seq"]))
    let table = g.addConstant("embed", TensorType(.f32, [10, 8]), source: nil)
    let gamma = g.addConstant("ln.weight", TensorType(.f32, [8]), source: nil)
    let beta = g.addConstant("ln.bias", TensorType(.f32, [8]), source: nil)
    let wq = g.addConstant("wq", TensorType(.f32, [8, 8]), source: nil)
    var x = try g.add(.gather, [table, ids], name: "x")
    x = try g.add(.layerNorm(epsilon: 1e-12), [x, gamma, beta], name: "x.norm")
    let q = try g.add(.matmul(transposeB: true), [x, wq], name: "q")
    let a = try g.add(.attention(AttentionAttributes(heads: 2, kvHeads: 2, headDim: 4, causal: false, scale: 0.5, kvCache: false)),
                      [q, q, q, mask], name: "attn")
    let h = try g.add(.gelu(.erf), [a], name: "h")
    let p = try g.add(.meanPool, [h, mask], name: "pooled")
    let e = try g.add(.l2Normalize(axis: -1, epsilon: 1e-12), [p], name: "weird name")
    g.markOutput(e)
    return g
}

final class GraphBuilderTests: XCTestCase {
    func testInferredTypes() throws {
        let g = try makeTinyEncoder()
        XCTAssertEqual(g.type(of: g.value(named: "x")!).description, "f32[batch, seq, 8]")
        XCTAssertEqual(g.type(of: g.value(named: "pooled")!).description, "f32[batch, 8]")
        XCTAssertNoThrow(try g.verify())
        XCTAssertEqual(g.parameterCount, 80 + 8 + 8 + 64)
    }

    func testBuilderRejectsMismatchedMatmul() {
        var g = Graph(name: "bad")
        let x = g.addInput("x", TensorType(.f32, ["batch", 5]))
        let w = g.addConstant("w", TensorType(.f32, [3, 4]), source: nil)
        XCTAssertThrowsError(try g.add(.matmul(transposeB: true), [x, w], name: "y")) { error in
            XCTAssertEqual((error as? IngotError)?.message,
                           "matmul(f32[batch, 5], f32[3, 4]): contraction dimension of b is 4, expected 5")
        }
    }

    func testBatchedMatmulInfersPerHeadScores() throws {
        var g = Graph(name: "batched")
        let q = g.addInput("q", TensorType(.f32, ["batch", 12, "seq", 32]))
        let k = g.addInput("k", TensorType(.f32, ["batch", 12, "keys", 32]))
        let v = g.addInput("v", TensorType(.f32, ["batch", 12, "keys", 32]))
        let s = try g.add(.matmul(transposeB: true), [q, k], name: "scores")
        XCTAssertEqual(g.type(of: s).description, "f32[batch, 12, seq, keys]")
        let c = try g.add(.matmul(transposeB: false), [s, v], name: "context")
        XCTAssertEqual(g.type(of: c).description, "f32[batch, 12, seq, 32]")
    }

    func testBatchedMatmulErrorsNameTheMismatchingDimension() {
        var g = Graph(name: "bad")
        let a = g.addInput("a", TensorType(.f32, ["batch", 12, "seq", 32]))
        let heads = g.addInput("heads", TensorType(.f32, ["batch", 6, "seq", 32]))
        let batch = g.addInput("b2", TensorType(.f32, [2, 12, "seq", 32]))
        let depth = g.addInput("depth", TensorType(.f32, ["batch", 12, "seq", 16]))
        let rank3 = g.addInput("rank3", TensorType(.f32, [12, "seq", 32]))
        let cases: [(ValueID, Bool, String)] = [
            (heads, true, "matmul(f32[batch, 12, seq, 32], f32[batch, 6, seq, 32]): batch dimension 1 of b is 6, expected 12"),
            (batch, true, "matmul(f32[batch, 12, seq, 32], f32[2, 12, seq, 32]): batch dimension 0 of b is 2, expected batch"),
            (depth, true, "matmul(f32[batch, 12, seq, 32], f32[batch, 12, seq, 16]): contraction dimension of b is 16, expected 32"),
            (depth, false, "matmul(f32[batch, 12, seq, 32], f32[batch, 12, seq, 16]): contraction dimension of b is seq, expected 32"),
            (rank3, true, "matmul(f32[batch, 12, seq, 32], f32[12, seq, 32]): b must have rank 2 (shared) or rank 4 like a (batched), got [12, seq, 32]"),
        ]
        for (b, transposeB, message) in cases {
            XCTAssertThrowsError(try g.add(.matmul(transposeB: transposeB), [a, b], name: "y")) { error in
                XCTAssertEqual((error as? IngotError)?.message, message)
            }
        }
    }

    func testBroadcasting() throws {
        XCTAssertEqual(try broadcast(Shape(["batch", "seq", 8]), Shape([8])), Shape(["batch", "seq", 8]))
        XCTAssertEqual(try broadcast(Shape([1, "seq"]), Shape(["batch", 1])), Shape(["batch", "seq"]))
        XCTAssertThrowsError(try broadcast(Shape(["seq"]), Shape(["batch"])))
        XCTAssertThrowsError(try broadcast(Shape([3]), Shape([4])))
    }

    func testReshapeKeepsSymbolicElementCount() throws {
        var g = Graph(name: "r")
        let x = g.addInput("x", TensorType(.f32, ["batch", "seq", 384]))
        XCTAssertNoThrow(try g.add(.reshape(Shape(["batch", "seq", 12, 32])), [x], name: "ok"))
        XCTAssertThrowsError(try g.add(.reshape(Shape(["batch", 12, 32])), [x], name: "drops_seq"))
        XCTAssertThrowsError(try g.add(.reshape(Shape(["batch", "seq", 12, 30])), [x], name: "wrong_count"))
    }

    func testGroupedQueryAttentionNeedsDivisibleHeads() {
        var g = Graph(name: "gqa")
        let q = g.addInput("q", TensorType(.f32, ["batch", "seq", 576]))
        let k = g.addInput("k", TensorType(.f32, ["batch", "seq", 192]))
        XCTAssertNoThrow(try g.add(.attention(AttentionAttributes(heads: 9, kvHeads: 3, headDim: 64, causal: true, scale: 0.125, kvCache: true)), [q, k, k], name: "ok"))
        XCTAssertThrowsError(try g.add(.attention(AttentionAttributes(heads: 9, kvHeads: 4, headDim: 64, causal: true, scale: 0.125, kvCache: true)), [q, k, k], name: "bad"))
    }

    /// A relative bias table [buckets, heads] is the fifth input, after the mask, only with relative_buckets.
    func testRelativeAttentionBiasTable() {
        var g = Graph(name: "relative")
        let x = g.addInput("x", TensorType(.f32, ["batch", "seq", 8]))
        let mask = g.addInput("mask", TensorType(.i32, ["batch", "seq"]))
        let table = g.addInput("table", TensorType(.f32, [32, 2]))
        let wrongHeads = g.addInput("table3", TensorType(.f32, [32, 3]))
        let relative = AttentionAttributes(heads: 2, kvHeads: 2, headDim: 4, causal: false, scale: 0.5, kvCache: false,
                                           relativeBuckets: 32, relativeMaxDistance: 128)
        let plain = AttentionAttributes(heads: 2, kvHeads: 2, headDim: 4, causal: false, scale: 0.5, kvCache: false)
        XCTAssertNoThrow(try g.add(.attention(relative), [x, x, x, mask, table], name: "ok"))
        XCTAssertThrowsError(try g.add(.attention(relative), [x, x, x, mask], name: "no_table"))
        XCTAssertThrowsError(try g.add(.attention(relative), [x, x, x, mask, wrongHeads], name: "table_heads"))
        XCTAssertThrowsError(try g.add(.attention(plain), [x, x, x, mask, table], name: "table_without_buckets"))
        var cached = relative
        cached.kvCache = true
        XCTAssertThrowsError(try g.add(.attention(cached), [x, x, x, mask, table], name: "kv_cache"))
    }
}

final class VerifierTests: XCTestCase {
    func testReportsEveryProblem() throws {
        var g = try makeTinyEncoder()
        // 1. a duplicate name, 2. a declared type that disagrees with inference,
        // 3. a use of an undefined value, 4. a constant with a symbolic shape.
        g.values[g.value(named: "q")!.index].name = "x"
        g.values[g.value(named: "h")!.index].type = TensorType(.f16, ["batch", "seq", 8])
        let ghost = g.addValue("ghost", TensorType(.f32, ["batch", "seq", 8]))
        g.nodes.append(Node(op: .silu, inputs: [ghost], outputs: [g.addValue("s", TensorType(.f32, ["batch", "seq", 8]))]))
        _ = g.addConstant("symbolic", TensorType(.f32, ["seq"]), source: nil)
        // The f16 declaration also makes mean_pool's inferred type disagree: reported too.
        XCTAssertEqual(g.verificationProblems(), [
            "name 'x' is used by values #6 and #8",
            "constant @symbolic has a symbolic shape [seq]",
            "node 4 (gelu) output %h is declared f16[batch, seq, 8], inferred f32[batch, seq, 8]",
            "node 5 (mean_pool) output %pooled is declared f32[batch, 8], inferred f16[batch, 8]",
            "node 7 (silu) uses %ghost, which is never defined",
        ])
        XCTAssertThrowsError(try g.verify()) { error in
            XCTAssertTrue("\(error)".hasPrefix("graph 'tiny' failed verification with 5 problems"))
        }
    }

    func testCycleIsReported() throws {
        var g = Graph(name: "cyclic")
        let x = g.addInput("x", TensorType(.f32, [4]))
        let a = g.addValue("a", TensorType(.f32, [4]))
        let b = g.addValue("b", TensorType(.f32, [4]))
        g.nodes.append(Node(op: .binary(.add), inputs: [x, b], outputs: [a]))
        g.nodes.append(Node(op: .silu, inputs: [a], outputs: [b]))
        g.markOutput(b)
        let problems = g.verificationProblems()
        XCTAssertTrue(problems.contains("node 0 (add) uses %b before its definition at node 1"), problems.description)
        XCTAssertTrue(problems.contains { $0.hasPrefix("the graph has a cycle: node 0 (add) → node 1 (silu) → node 0 (add)") ||
                                          $0.hasPrefix("the graph has a cycle: node 1 (silu) → node 0 (add) → node 1 (silu)") }, problems.description)
    }

    func testDoubleDefinitionAndMissingOutputs() throws {
        var g = Graph(name: "twice")
        let x = g.addInput("x", TensorType(.f32, [4]))
        let y = g.addValue("y", TensorType(.f32, [4]))
        g.nodes.append(Node(op: .silu, inputs: [x], outputs: [y]))
        g.nodes.append(Node(op: .silu, inputs: [x], outputs: [y]))
        let problems = g.verificationProblems()
        XCTAssertTrue(problems.contains("%y is defined more than once (again as an output of node 1 (silu))"), problems.description)
        XCTAssertTrue(problems.contains("the graph has no outputs"), problems.description)
    }

    func testWrongArity() throws {
        var g = Graph(name: "arity")
        let x = g.addInput("x", TensorType(.f32, [4]))
        let y = g.addValue("y", TensorType(.f32, [4]))
        g.nodes.append(Node(op: .layerNorm(epsilon: 1e-5), inputs: [x], outputs: [y]))
        g.markOutput(y)
        XCTAssertEqual(g.verificationProblems(), ["node 0 (layer_norm): layer_norm(f32[4]): takes 3 inputs, got 1"])
    }

    func testPackedLinearChecksTheLayoutAgainstNAndK() throws {
        func problems(packed: String, colsums: String, k: Int) throws -> [String] {
            try GraphParser.parse("""
                graph m(%x: f32[batch, \(k)]) -> (%y) {
                  @p: \(packed)
                  @s: f32[20]
                  @c: \(colsums)
                  %y: f32[batch, 20] = linear_int8_packed(%x, @p, @s, @c) {activation = none, input_bits = 8, smoothed = false}
                  return %y
                }
                """).verificationProblems()
        }
        XCTAssertEqual(try problems(packed: "i8[2, 3, 64]", colsums: "i32[20]", k: 10), [], "20 outputs → 2 panels, 10 inputs → 3 blocks")
        XCTAssertEqual(try problems(packed: "i8[2, 2, 64]", colsums: "i32[20]", k: 10).first?.contains("packed weight shape must be [2, 3, 64] for N 20 and K 10"), true)
        XCTAssertEqual(try problems(packed: "u8[2, 3, 64]", colsums: "i32[20]", k: 10).first?.contains("weight must be i8, got u8"), true)
        XCTAssertEqual(try problems(packed: "i8[2, 3, 64]", colsums: "i32[16]", k: 10).first?.contains("colsums length"), true)
    }

    func testValidGraphHasNoProblems() throws {
        XCTAssertEqual(try makeTinyEncoder().verificationProblems(), [])
    }
}

final class PrinterTests: XCTestCase {
    func testGoldenText() throws {
        let expected = try String(contentsOf: TestPaths.fixtures.appendingPathComponent("ir/tiny-encoder.txt"), encoding: .utf8)
        XCTAssertEqual(try makeTinyEncoder().text, expected)
    }
}

final class GraphCodecTests: XCTestCase {
    func testRoundTripPreservesText() throws {
        let g = try makeTinyEncoder()
        let bytes = GraphCodec.encode(g)
        let back = try bytes.withUnsafeBytes { try GraphCodec.decode($0) }
        XCTAssertEqual(back.text, g.text)
        XCTAssertNoThrow(try back.verify())
        XCTAssertEqual(GraphCodec.encode(back), bytes)
    }

    func testEveryOpRoundTrips() throws {
        let ops: [Op] = [.gather, .matmul(transposeB: false), .binary(.div), .gelu(.tanh), .silu, .layerNorm(epsilon: 1e-5),
                         .rmsNorm(epsilon: 1e-6), .rope(theta: 100000, heads: 9, headDim: 64, style: .interleaved),
                         .softmax(axis: -1), .attention(AttentionAttributes(heads: 9, kvHeads: 3, headDim: 64, causal: true, scale: 0.125, kvCache: true)),
                         .reshape(Shape(["batch", 2, 3])), .transpose(permutation: [1, 0, 2]), .slice(axis: 2, start: 1, end: 5),
                         .concat(axis: 0), .meanPool, .l2Normalize(axis: 1, epsilon: 1e-12), .cast(.f16),
                         .linearSparse(activation: .geluTanh), .linearInt8Packed(PackedLinearAttributes(activation: .silu, inputBits: 7, smoothed: true)),
                         .linearInt8Packed(PackedLinearAttributes(activation: .none, inputBits: 8, smoothed: false))]
        var g = Graph(name: "ops")
        let x = g.addInput("x", TensorType(.f32, [2, 3]))
        for (i, op) in ops.enumerated() {
            // Structure only: the codec does not type-check.
            g.nodes.append(Node(op: op, inputs: [x], outputs: [g.addValue("o\(i)", TensorType(.f32, [2, 3]))]))
        }
        g.markOutput(x)
        let back = try GraphCodec.encode(g).withUnsafeBytes { try GraphCodec.decode($0) }
        XCTAssertEqual(back.nodes.map(\.op), ops)
    }

    func testTruncationAtEveryByteIsAnError() throws {
        let bytes = GraphCodec.encode(try makeTinyEncoder())
        for n in 0..<bytes.count {
            XCTAssertThrowsError(try Array(bytes[..<n]).withUnsafeBytes { try GraphCodec.decode($0, file: "t.ingot") }, "prefix \(n)") { error in
                XCTAssertEqual((error as? IngotError)?.kind, .format)
            }
        }
    }

    /// Issue 14: counts are bounded by the bytes left before anything is reserved for them.
    func testCountsBeyondTheBytesLeftAreRefusedBeforeReserving() throws {
        var values = ByteWriter()
        values.u16(1); values.u16(0); values.string("g"); values.u32(4_000_000)
        values.append([UInt8](repeating: 0, count: 60))
        XCTAssertThrowsError(try values.bytes.withUnsafeBytes { try GraphCodec.decode($0, file: "g.ingot") }) { error in
            XCTAssertEqual("\(error)", "g.ingot: graph.value_count: value 4000000, expected at most 10")
        }
        var nodes = ByteWriter()
        nodes.u16(1); nodes.u16(0); nodes.string("g"); nodes.u32(0)
        nodes.u32(0); nodes.u32(0); nodes.u32(0)                    // inputs, outputs, constants
        nodes.u32(4_000_000)
        nodes.append([UInt8](repeating: 0, count: 40))
        XCTAssertThrowsError(try nodes.bytes.withUnsafeBytes { try GraphCodec.decode($0, file: "g.ingot") }) { error in
            XCTAssertEqual("\(error)", "g.ingot: graph.node_count: value 4000000, expected at most 10")
        }
        var inputs = ByteWriter()
        inputs.u16(1); inputs.u16(0); inputs.string("g"); inputs.u32(1); inputs.string("v"); inputs.u8(0); inputs.u8(0)
        inputs.u32(1_000)
        inputs.append([UInt8](repeating: 0, count: 8))
        XCTAssertThrowsError(try inputs.bytes.withUnsafeBytes { try GraphCodec.decode($0, file: "g.ingot") }) { error in
            XCTAssertEqual("\(error)", "g.ingot: graph.inputs.count: value 1000, expected at most 1")
        }
    }

    func testHostileFieldsNameTheField() throws {
        var bytes = GraphCodec.encode(try makeTinyEncoder())
        // The first node's op code sits after the values and the three index lists; find it
        // by re-encoding with a sentinel-free approach: corrupt every byte and require no crash.
        for i in 0..<bytes.count {
            let saved = bytes[i]
            bytes[i] = saved ^ 0xFF
            _ = try? bytes.withUnsafeBytes { try GraphCodec.decode($0) }.verificationProblems()
            bytes[i] = saved
        }
        var w = ByteWriter()
        w.u16(1); w.u16(0); w.string("g"); w.u32(1); w.string("v"); w.u8(42)
        XCTAssertThrowsError(try w.bytes.withUnsafeBytes { try GraphCodec.decode($0, file: "m.ingot") }) { error in
            XCTAssertEqual("\(error)", "m.ingot: graph.values[0].dtype: value 42, expected a dtype code 0...17")
        }
        var packed = Graph(name: "p")
        let x = packed.addInput("x", TensorType(.f32, [2, 3]))
        packed.nodes.append(Node(op: .linearInt8Packed(PackedLinearAttributes(activation: .none, inputBits: 8, smoothed: true)), inputs: [x], outputs: [packed.addValue("y", TensorType(.f32, [2, 3]))]))
        var p = GraphCodec.encode(packed)
        // The node ends `u8 smoothed, u8 1, u32 input, u8 1, u32 output`.
        XCTAssertEqual(p[p.count - 11], 1)
        p[p.count - 11] = 2
        XCTAssertThrowsError(try p.withUnsafeBytes { try GraphCodec.decode($0) }) { error in
            XCTAssertTrue("\(error)".hasSuffix(".smoothed: value 2, expected 0 or 1"), "\(error)")
        }
        var v = ByteWriter()
        v.u16(7)
        XCTAssertThrowsError(try v.bytes.withUnsafeBytes { try GraphCodec.decode($0) }) { error in
            XCTAssertEqual("\(error)", "graph.version: value 7, expected 1")
        }
    }
}

/// Type rules of block-quantized weights (Formats/ops.md: matmul, linear, gather).
final class BlockQuantizedTypeRuleTests: XCTestCase {
    func testBlockWeightsMultiplyF32RowsTransposedWithWholeBlocks() throws {
        let x = TensorType(.f32, ["batch", "seq", 64])
        for dtype in [DType.q4_0, .q4_1, .q5_0, .q5_1, .q8_0] {
            let w = TensorType(dtype, [7, 64])
            XCTAssertEqual(try inferOutputTypes(.matmul(transposeB: true), [x, w]), [TensorType(.f32, ["batch", "seq", 7])], "\(dtype)")
            XCTAssertEqual(try inferOutputTypes(.linear(activation: .silu), [x, w, TensorType(.f32, [7])]), [TensorType(.f32, ["batch", "seq", 7])])
            XCTAssertThrowsError(try inferOutputTypes(.matmul(transposeB: false), [x, TensorType(dtype, [64, 7])]), "\(dtype) untransposed")
            XCTAssertThrowsError(try inferOutputTypes(.matmul(transposeB: true), [TensorType(.f16, ["seq", 64]), w]), "\(dtype) with f16 rows")
        }
        let x48 = TensorType(.f32, ["seq", 48])
        XCTAssertThrowsError(try inferOutputTypes(.matmul(transposeB: true), [x48, TensorType(.q8_0, [7, 48])])) { error in
            XCTAssertTrue("\(error)".contains("multiple of 32"), "\(error)")
        }
        let x256 = TensorType(.f32, ["seq", 256])
        for dtype in [DType.q4_K, .q5_K, .q6_K] {
            XCTAssertEqual(try inferOutputTypes(.matmul(transposeB: true), [x256, TensorType(dtype, [3, 256])]), [TensorType(.f32, ["seq", 3])])
            XCTAssertThrowsError(try inferOutputTypes(.matmul(transposeB: true), [x64Of(dtype), TensorType(dtype, [3, 64])]), "\(dtype): 64 is not a block of 256")
        }
    }

    private func x64Of(_: DType) -> TensorType { TensorType(.f32, ["seq", 64]) }

    func testGatherFromABlockTableGivesF32Rows() throws {
        let ids = TensorType(.i32, ["batch", "seq"])
        XCTAssertEqual(try inferOutputTypes(.gather, [TensorType(.q6_K, [100, 512]), ids]), [TensorType(.f32, ["batch", "seq", 512])])
        XCTAssertEqual(try inferOutputTypes(.gather, [TensorType(.f16, [100, 8]), ids]), [TensorType(.f16, ["batch", "seq", 8])], "element tables keep their dtype")
        XCTAssertThrowsError(try inferOutputTypes(.gather, [TensorType(.q4_0, [100, 40]), ids]))
    }

    func testBlockDTypesPrintAndParseByName() {
        for dtype in [DType.q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q4_K, .q5_K, .q6_K] {
            XCTAssertEqual(DType(name: dtype.description), dtype)
            XCTAssertTrue(dtype.isBlockQuantized)
            XCTAssertFalse(dtype.isFloatingPoint)
        }
        XCTAssertEqual(DType.q4_K.byteCount(shape: [3, 512]), 3 * 2 * 144)
        XCTAssertNil(DType.q4_K.byteCount(shape: [3, 500]))
        XCTAssertNil(DType.q8_0.byteCount(shape: []))
        XCTAssertEqual(DType.f32.byteCount(shape: []), 4)
    }
}
