// Parser tests: the printer's output reads back to the same graph (golden IR files and
// every op), and malformed text gets an error naming the line, column and token.

import IngotCore
import IngotIR
import IngotTestSupport
import XCTest

final class ParserTests: XCTestCase {
    func testGoldenFilesRoundTrip() throws {
        for name in ["tiny-encoder.txt", "minilm.txt"] {
            let text = try String(contentsOf: TestPaths.fixtures.appendingPathComponent("ir/" + name), encoding: .utf8)
            let g = try GraphParser.parse(text, file: name)
            XCTAssertTrue(g.verificationProblems().isEmpty, name)
            XCTAssertTrue(g.text == text, "\(name) does not print back identically")
        }
    }

    func testEveryOpRoundTrips() throws {
        let text = """
            graph "all ops"(%ids: i32[batch, seq], %x: f32[batch, seq, 8]) -> (%e, %s1) {
              @table: f32[10, 8]
              @w: f32[8, 8]
              @b: f32[8]
              @q: i8[8, 8]
              @qs: f32[8, 2]
              @pk: i8[1, 2, 64]
              @pc: i32[8]
              @sv: f32[5]
              @sc: i16[5]
              @so: i32[9]
              %g: f32[batch, seq, 8] = gather(@table, %ids)
              %m: f32[batch, seq, 8] = matmul(%g, @w) {transpose_b = false}
              %d: f32[batch, seq, 8] = div(%m, %x)
              %t: f32[batch, seq, 8] = gelu(%d) {approximation = tanh}
              %n: f32[batch, seq, 8] = layer_norm(%t, @b, @b) {epsilon = 1e-12}
              %r: f32[batch, seq, 8] = rope(%n, %ids) {theta = 10000.0, heads = 2, head_dim = 4, style = half}
              %sm: f32[batch, seq, 8] = softmax(%r) {axis = -1}
              %a: f32[batch, seq, 8] = attention(%sm, %sm, %sm, %ids) {heads = 2, kv_heads = 2, head_dim = 4, causal = true, scale = 0.5, kv_cache = false}
              %re: f32[batch, seq, 2, 4] = reshape(%a) {shape = [batch, seq, 2, 4]}
              %tr: f32[batch, 2, seq, 4] = transpose(%re) {permutation = [0, 2, 1, 3]}
              %sl: f32[batch, 1, seq, 4] = slice(%tr) {axis = 1, start = 1, end = 2}
              %c: f32[batch, 3, seq, 4] = concat(%tr, %sl) {axis = 1}
              %l: f32[batch, seq, 8] = linear(%a, @w, @b) {activation = silu}
              %li: f32[batch, seq, 8] = linear_int8(%l, @q, @qs, @b) {group = 4, activation = none, mode = static, input_scale = 0.25, smoothed = false}
              %sw: f32[batch, seq, 4] = swiglu(%li)
              %an: f32[batch, seq, 8], %as: f32[batch, seq, 8] = add_layer_norm(%li, %l, @b, @b) {epsilon = 1e-12}
              %rn: f32[batch, seq, 8], %rs: f32[batch, seq, 8] = add_rms_norm(%an, %as, @b) {epsilon = 1e-06}
              %s1: f32[batch, seq, 2], %s2: f32[batch, seq, 6] = split(%rn) {axis = -1, sizes = [2, 6]}
              %p: f32[batch, 8] = mean_pool(%rs, %ids)
              %e: f32[batch, 8] = l2_normalize(%p) {axis = -1, epsilon = 1e-12}
              %h: f16[batch, 8] = cast(%e) {to = f16}
              %gi: f32[batch, seq, 8] = gather_int8(@q, @qs, %ids) {group = 4}
              %lp: f32[batch, seq, 8] = linear_int8_packed(%l, @pk, @b, @pc, @b, @b) {activation = gelu, input_bits = 7, smoothed = true}
              %ls: f32[batch, seq, 8] = linear_sparse(%l, @sv, @sc, @so) {activation = none}
              return %e, %s1
            }

            """
        let g = try GraphParser.parse(text)
        XCTAssertEqual(g.verificationProblems(), [])
        XCTAssertEqual(g.text, text)
        let decoded = try GraphCodec.encode(g).withUnsafeBytes { try GraphCodec.decode($0) }
        XCTAssertEqual(decoded.text, text, "binary codec round trip")
    }

    func testErrorsNameLineColumnAndToken() {
        func message(_ text: String) -> String {
            do { _ = try GraphParser.parse(text, file: "t.ir"); return "no error" } catch { return "\(error)" }
        }
        XCTAssertEqual(message("graph g(%x: f33[4]) -> (%x) {\n  return %x\n}\n"),
                       "t.ir: line 1, column 13: expected a dtype (f32, f16, bf16, f64, i8, u8, i16, i32, i64, bool, q4_0, q4_1, q5_0, q5_1, q8_0, q4_k, q5_k, q6_k), found 'f33[4]) -> (%x) '")
        XCTAssertEqual(message("graph g(%x: f32[4]) -> (%y) {\n  %y: f32[4] = frobnicate(%x)\n  return %y\n}\n"),
                       "t.ir: line 2, column 16: frobnicate: unknown op")
        XCTAssertEqual(message("graph g(%x: f32[4]) -> (%y) {\n  %y: f32[4] = gelu(%z) {approximation = erf}\n  return %y\n}\n"),
                       "t.ir: line 2, column 22: expected a defined value, 'z' is not defined, found 'z) {approximatio'")
        XCTAssertEqual(message("graph g(%x: f32[4]) -> (%y) {\n  %y: f32[4] = gelu(%x) {approximation = exact}\n  return %y\n}\n"),
                       "t.ir: line 2, column 16: gelu: attribute 'approximation' = exact, expected one of erf, tanh")
        XCTAssertEqual(message("graph g(%x: f32[4]) -> (%y) {\n  %y: f32[4] = silu(%x) {alpha = 1}\n  return %y\n}\n"),
                       "t.ir: line 2, column 16: silu: unknown attribute alpha")
        XCTAssertEqual(message("graph g(%x: f32[4]) -> (%y) {\n  %y: f32[4] = silu(%x)\n"),
                       "t.ir: line 3, column 1: expected 'return', found end of input")
    }
}
