// fuse-attention tests: textual IR of a decomposed attention layer in → pass → textual IR
// out, the variants it accepts, and the cases where it must not fire. The scale and mask
// constants get their values here (parsed constants have none). Numerical agreement on
// MiniLM is tested in IngotRuntimeTests (DecomposedAttentionTests).

import IngotCore
import IngotIR
import IngotPasses
import XCTest

/// Parses `input`, gives the named one-element constants their values, runs fuse-attention
/// and compares the printed graph with `expected` (nil: the graph must not change).
func assertFuseAttention(_ input: String, constants: [String: Float], _ expected: String?,
                         file: StaticString = #filePath, line: UInt = #line) throws {
    var g = try GraphParser.parse(input)
    for (name, value) in constants {
        let id = try XCTUnwrap(g.value(named: name), "no value \(name)", file: file, line: line)
        g.setSource(of: id, ConstantSource(origin: "test", buffer: TensorBuffer(array: [value])))
    }
    try g.verify()
    let before = g.text
    _ = try Pass.fuseAttention.run(&g)
    try g.verify()
    let want = expected ?? before
    if g.text != want {
        XCTFail("fuse-attention produced:\n\(g.text)\nexpected\(expected == nil ? " no change" : ""):\n\(want)", file: file, line: line)
    }
}

/// One BERT-style layer with 2 heads of 4: the mask bias is built from the int32 mask, the
/// scores are scaled by @scale. `edits` (old text, new text) make the variants.
func decomposedLayer(outputs: String = "%out", _ edits: [(String, String)] = []) -> String {
    var text = """
        graph layer(%q: f32[batch, seq, 8], %k: f32[batch, seq, 8], %v: f32[batch, seq, 8], %mask: i32[batch, seq]) -> (\(outputs)) {
          @scale: f32[]
          @one: f32[]
          @fill: f32[]
          %maskf: f32[batch, seq] = cast(%mask) {to = f32}
          %pad: f32[batch, seq] = sub(@one, %maskf)
          %bias2: f32[batch, seq] = mul(%pad, @fill)
          %bias: f32[batch, 1, 1, seq] = reshape(%bias2) {shape = [batch, 1, 1, seq]}
          %qh: f32[batch, seq, 2, 4] = reshape(%q) {shape = [batch, seq, 2, 4]}
          %qt: f32[batch, 2, seq, 4] = transpose(%qh) {permutation = [0, 2, 1, 3]}
          %kh: f32[batch, seq, 2, 4] = reshape(%k) {shape = [batch, seq, 2, 4]}
          %kt: f32[batch, 2, seq, 4] = transpose(%kh) {permutation = [0, 2, 1, 3]}
          %vh: f32[batch, seq, 2, 4] = reshape(%v) {shape = [batch, seq, 2, 4]}
          %vt: f32[batch, 2, seq, 4] = transpose(%vh) {permutation = [0, 2, 1, 3]}
          %s: f32[batch, 2, seq, seq] = matmul(%qt, %kt) {transpose_b = true}
          %ss: f32[batch, 2, seq, seq] = mul(%s, @scale)
          %sm: f32[batch, 2, seq, seq] = add(%ss, %bias)
          %p: f32[batch, 2, seq, seq] = softmax(%sm) {axis = -1}
          %c: f32[batch, 2, seq, 4] = matmul(%p, %vt) {transpose_b = false}
          %ct: f32[batch, seq, 2, 4] = transpose(%c) {permutation = [0, 2, 1, 3]}
          %out: f32[batch, seq, 8] = reshape(%ct) {shape = [batch, seq, 8]}
          return \(outputs)
        }
        """
    for (old, new) in edits {
        precondition(text.contains(old), "the layer has no line containing \(old)")
        text = text.replacingOccurrences(of: old, with: new)
    }
    return text
}

let layerConstants: [String: Float] = ["scale": 0.5, "one": 1, "fill": -Float.greatestFiniteMagnitude]

final class FuseAttentionTests: XCTestCase {
    func testFusesAMaskedScaledLayer() throws {
        try assertFuseAttention(decomposedLayer(), constants: layerConstants, """
            graph layer(%q: f32[batch, seq, 8], %k: f32[batch, seq, 8], %v: f32[batch, seq, 8], %mask: i32[batch, seq]) -> (%out) {
              %out: f32[batch, seq, 8] = attention(%q, %k, %v, %mask) {heads = 2, kv_heads = 2, head_dim = 4, causal = false, scale = 0.5, kv_cache = false}
              return %out
            }

            """)
    }

    func testFusesWithoutMaskOrScale() throws {
        try assertFuseAttention("""
            graph layer(%q: f32[2, 5, 12], %k: f32[2, 7, 12], %v: f32[2, 7, 12]) -> (%out) {
              %qh: f32[2, 5, 3, 4] = reshape(%q) {shape = [2, 5, 3, 4]}
              %qt: f32[2, 3, 5, 4] = transpose(%qh) {permutation = [0, 2, 1, 3]}
              %kh: f32[2, 7, 3, 4] = reshape(%k) {shape = [2, 7, 3, 4]}
              %kt: f32[2, 3, 7, 4] = transpose(%kh) {permutation = [0, 2, 1, 3]}
              %vh: f32[2, 7, 3, 4] = reshape(%v) {shape = [2, 7, 3, 4]}
              %vt: f32[2, 3, 7, 4] = transpose(%vh) {permutation = [0, 2, 1, 3]}
              %s: f32[2, 3, 5, 7] = matmul(%qt, %kt) {transpose_b = true}
              %p: f32[2, 3, 5, 7] = softmax(%s) {axis = 3}
              %c: f32[2, 3, 5, 4] = matmul(%p, %vt) {transpose_b = false}
              %ct: f32[2, 5, 3, 4] = transpose(%c) {permutation = [0, 2, 1, 3]}
              %out: f32[2, 5, 12] = reshape(%ct) {shape = [2, 5, 12]}
              return %out
            }
            """, constants: [:], """
            graph layer(%q: f32[2, 5, 12], %k: f32[2, 7, 12], %v: f32[2, 7, 12]) -> (%out) {
              %out: f32[2, 5, 12] = attention(%q, %k, %v) {heads = 3, kv_heads = 3, head_dim = 4, causal = false, scale = 1.0, kv_cache = false}
              return %out
            }

            """)
    }

    func testFusesTheExportedVariant() throws {
        // As torch exports it: the mask reshaped before the cast, the fill on the left of the
        // product, scores divided by √D.
        try assertFuseAttention(decomposedLayer([
            ("""
              %maskf: f32[batch, seq] = cast(%mask) {to = f32}
              %pad: f32[batch, seq] = sub(@one, %maskf)
              %bias2: f32[batch, seq] = mul(%pad, @fill)
              %bias: f32[batch, 1, 1, seq] = reshape(%bias2) {shape = [batch, 1, 1, seq]}
            """, """
              %mask4: i32[batch, 1, 1, seq] = reshape(%mask) {shape = [batch, 1, 1, seq]}
              %maskf: f32[batch, 1, 1, seq] = cast(%mask4) {to = f32}
              %pad: f32[batch, 1, 1, seq] = sub(@one, %maskf)
              %bias: f32[batch, 1, 1, seq] = mul(@fill, %pad)
            """),
            ("%ss: f32[batch, 2, seq, seq] = mul(%s, @scale)", "%ss: f32[batch, 2, seq, seq] = div(%s, @scale)"),
        ]), constants: ["scale": 2, "one": 1, "fill": -10000], """
            graph layer(%q: f32[batch, seq, 8], %k: f32[batch, seq, 8], %v: f32[batch, seq, 8], %mask: i32[batch, seq]) -> (%out) {
              %out: f32[batch, seq, 8] = attention(%q, %k, %v, %mask) {heads = 2, kv_heads = 2, head_dim = 4, causal = false, scale = 0.5, kv_cache = false}
              return %out
            }

            """)
    }

    func testSharedMaskStaysWhileAnUnfusedLayerReadsIt() throws {
        // Layer b's probabilities are a graph output, so only layer a fuses; the mask bias
        // still feeds layer b.
        let layer = decomposedLayer()
        let body = layer[layer.range(of: "  %qh")!.lowerBound..<layer.range(of: "  return")!.lowerBound]
        func renamed(_ suffix: String) -> String {
            var text = String(body)
            for name in ["qh", "qt", "kh", "kt", "vh", "vt", "ss", "sm", "s", "p", "c", "ct", "out"] {
                text = text.replacingOccurrences(of: "%\(name):", with: "%\(name)\(suffix):")
                    .replacingOccurrences(of: "%\(name))", with: "%\(name)\(suffix))")
                    .replacingOccurrences(of: "%\(name),", with: "%\(name)\(suffix),")
            }
            return text
        }
        let input = layer.replacingOccurrences(of: "-> (%out)", with: "-> (%out_a, %out_b, %p_b)")
            .replacingOccurrences(of: String(body), with: renamed("_a") + renamed("_b"))
            .replacingOccurrences(of: "return %out", with: "return %out_a, %out_b, %p_b")
        try assertFuseAttention(input, constants: layerConstants, """
            graph layer(%q: f32[batch, seq, 8], %k: f32[batch, seq, 8], %v: f32[batch, seq, 8], %mask: i32[batch, seq]) -> (%out_a, %out_b, %p_b) {
              @scale: f32[]
              @one: f32[]
              @fill: f32[]
              %maskf: f32[batch, seq] = cast(%mask) {to = f32}
              %pad: f32[batch, seq] = sub(@one, %maskf)
              %bias2: f32[batch, seq] = mul(%pad, @fill)
              %bias: f32[batch, 1, 1, seq] = reshape(%bias2) {shape = [batch, 1, 1, seq]}
              %out_a: f32[batch, seq, 8] = attention(%q, %k, %v, %mask) {heads = 2, kv_heads = 2, head_dim = 4, causal = false, scale = 0.5, kv_cache = false}
              %qh_b: f32[batch, seq, 2, 4] = reshape(%q) {shape = [batch, seq, 2, 4]}
              %qt_b: f32[batch, 2, seq, 4] = transpose(%qh_b) {permutation = [0, 2, 1, 3]}
              %kh_b: f32[batch, seq, 2, 4] = reshape(%k) {shape = [batch, seq, 2, 4]}
              %kt_b: f32[batch, 2, seq, 4] = transpose(%kh_b) {permutation = [0, 2, 1, 3]}
              %vh_b: f32[batch, seq, 2, 4] = reshape(%v) {shape = [batch, seq, 2, 4]}
              %vt_b: f32[batch, 2, seq, 4] = transpose(%vh_b) {permutation = [0, 2, 1, 3]}
              %s_b: f32[batch, 2, seq, seq] = matmul(%qt_b, %kt_b) {transpose_b = true}
              %ss_b: f32[batch, 2, seq, seq] = mul(%s_b, @scale)
              %sm_b: f32[batch, 2, seq, seq] = add(%ss_b, %bias)
              %p_b: f32[batch, 2, seq, seq] = softmax(%sm_b) {axis = -1}
              %c_b: f32[batch, 2, seq, 4] = matmul(%p_b, %vt_b) {transpose_b = false}
              %ct_b: f32[batch, seq, 2, 4] = transpose(%c_b) {permutation = [0, 2, 1, 3]}
              %out_b: f32[batch, seq, 8] = reshape(%ct_b) {shape = [batch, seq, 8]}
              return %out_a, %out_b, %p_b
            }

            """)
    }

    // MARK: must not fire

    func testNotWhenSoftmaxIsNotOverTheLastAxis() throws {
        try assertFuseAttention(decomposedLayer([("softmax(%sm) {axis = -1}", "softmax(%sm) {axis = 2}")]),
                                constants: layerConstants, nil)
    }

    func testNotWhenTheScaleIsNotAConstantScalar() throws {
        // A run-time scalar input, a per-head constant [2, 1, 1], and a constant whose value is unknown.
        try assertFuseAttention(decomposedLayer([("%mask: i32[batch, seq])", "%mask: i32[batch, seq], %t: f32[])"),
                                                 ("@scale: f32[]\n  ", ""), ("mul(%s, @scale)", "mul(%s, %t)")]),
                                constants: ["one": 1, "fill": -Float.greatestFiniteMagnitude], nil)
        try assertFuseAttention(decomposedLayer([("@scale: f32[]", "@scale: f32[2, 1, 1]")]),
                                constants: ["one": 1, "fill": -Float.greatestFiniteMagnitude], nil)
        try assertFuseAttention(decomposedLayer(), constants: ["one": 1, "fill": -Float.greatestFiniteMagnitude], nil)
    }

    func testNotWhenAnIntermediateHasAnotherReader() throws {
        try assertFuseAttention(decomposedLayer(outputs: "%out, %p"), constants: layerConstants, nil)
        try assertFuseAttention(decomposedLayer(outputs: "%out, %qt"), constants: layerConstants, nil)
    }

    func testNotWithOtherTransposes() throws {
        // k laid out [B, H, D, S] for a plain product, and a merge that keeps the heads first.
        try assertFuseAttention(decomposedLayer([
            ("%kt: f32[batch, 2, seq, 4] = transpose(%kh) {permutation = [0, 2, 1, 3]}",
             "%kt: f32[batch, 2, 4, seq] = transpose(%kh) {permutation = [0, 2, 3, 1]}"),
            ("matmul(%qt, %kt) {transpose_b = true}", "matmul(%qt, %kt) {transpose_b = false}"),
        ]), constants: layerConstants, nil)
        try assertFuseAttention(decomposedLayer([
            ("%ct: f32[batch, seq, 2, 4] = transpose(%c) {permutation = [0, 2, 1, 3]}",
             "%ct: f32[batch, 2, seq, 4] = transpose(%c) {permutation = [0, 1, 2, 3]}"),
        ]), constants: layerConstants, nil)
    }

    func testNotWhenTheMaskIsNotDerivedFromAnInt32Input() throws {
        // A float mask input, a fill too small to zero padded keys, m − 1 instead of 1 − m,
        // and a per-query mask [B, 1, S, S].
        try assertFuseAttention(decomposedLayer([("%mask: i32[batch, seq]", "%mask: f32[batch, seq]"),
                                                 ("%maskf: f32[batch, seq] = cast(%mask) {to = f32}\n", "")])
                                    .replacingOccurrences(of: "sub(@one, %maskf)", with: "sub(@one, %mask)"),
                                constants: layerConstants, nil)
        try assertFuseAttention(decomposedLayer(), constants: ["scale": 0.5, "one": 1, "fill": -100], nil)
        try assertFuseAttention(decomposedLayer([("sub(@one, %maskf)", "sub(%maskf, @one)")]), constants: layerConstants, nil)
        try assertFuseAttention(decomposedLayer([
            ("%mask: i32[batch, seq])", "%mask: i32[batch, seq], %pq: i32[batch, seq, seq])"),
            ("%maskf: f32[batch, seq] = cast(%mask) {to = f32}", "%maskf: f32[batch, seq, seq] = cast(%pq) {to = f32}"),
            ("%pad: f32[batch, seq] =", "%pad: f32[batch, seq, seq] ="),
            ("%bias2: f32[batch, seq] =", "%bias2: f32[batch, seq, seq] ="),
            ("%bias: f32[batch, 1, 1, seq] = reshape(%bias2) {shape = [batch, 1, 1, seq]}",
             "%bias: f32[batch, 1, seq, seq] = reshape(%bias2) {shape = [batch, 1, seq, seq]}"),
        ]), constants: layerConstants, nil)
    }
}
