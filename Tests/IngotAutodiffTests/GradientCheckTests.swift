// Gradient checks: for every differentiable op, the tape's reverse-mode gradients (float64)
// against central finite differences of the same forward, on small graphs in textual IR
// with odd sizes, broadcasting, padding masks and grouped-query heads.

import IngotAutodiff
import IngotCore
import IngotIR
import XCTest

/// Deterministic values in [-1, 1).
struct TestValues {
    var rng: SplitMix64
    init(seed: UInt64) { rng = SplitMix64(seed: seed) }
    mutating func next(_ count: Int, scale: Double = 1) -> [Double] {
        (0..<count).map { _ in (Double(rng.next() >> 11) / Double(1 << 53) * 2 - 1) * scale }
    }
}

/// Builds the graph, fills float constants and inputs with values, takes L = Σ w·y over all
/// outputs with fixed random w, and compares ∂L/∂(every constant and float input) with
/// (L(x + h) − L(x − h)) / 2h element by element: |a − n| ≤ 1e-3·max(|a|, |n|) + 1e-7.
func checkGradients(_ text: String, floatInputs: [String: [Int]] = [:], ints: [String: IntTensor] = [:],
                    seed: UInt64 = 1, file: StaticString = #filePath, line: UInt = #line) throws {
    let g = try GraphParser.parse(text)
    var values = TestValues(seed: seed)
    var params: [Int: [Double]] = [:]
    for c in g.constants {
        let t = g.type(of: c.value)
        params[c.value.index] = values.next(t.shape.fixedSizes!.reduce(1, *))
            .map { g[c.value].name.hasSuffix("gamma") ? 1 + 0.3 * $0 : $0 }
    }
    var inputs: [String: ([Int], [Double])] = [:]
    for (name, shape) in floatInputs { inputs[name] = (shape, values.next(shape.reduce(1, *))) }
    let tape = try Tape<Double>(graph: g, parameters: params, trainable: Set(params.keys))
    try tape.forward(ints, floatInputs: inputs)
    var weights: [ValueID: [Double]] = [:]
    for o in g.outputs { weights[o] = values.next(tape.values(of: o)!.count) }

    func loss(_ p: [Int: [Double]], _ x: [String: ([Int], [Double])]) throws -> Double {
        let t = try Tape<Double>(graph: g, parameters: p)
        try t.forward(ints, floatInputs: x)
        return weights.reduce(0) { sum, kv in sum + zip(t.values(of: kv.key)!, kv.value).reduce(0) { $0 + $1.0 * $1.1 } }
    }
    try tape.backward(seeds: weights)
    let h = 1e-6
    var checked = 0
    for (id, p) in params.sorted(by: { $0.key < $1.key }) {
        let analytic = tape.gradient(of: ValueID(id))!
        XCTAssertEqual(analytic.count, p.count, file: file, line: line)
        for i in stride(from: 0, to: p.count, by: max(1, p.count / 24)) {
            var plus = params, minus = params
            plus[id]![i] += h
            minus[id]![i] -= h
            let numeric = (try loss(plus, inputs) - loss(minus, inputs)) / (2 * h)
            let a = analytic[i]
            XCTAssertLessThanOrEqual(abs(a - numeric), 1e-3 * max(abs(a), abs(numeric)) + 1e-7,
                                     "∂L/∂\(g.values[id].name)[\(i)]: analytic \(a), numeric \(numeric)", file: file, line: line)
            checked += 1
        }
    }
    for (name, (shape, x)) in inputs.sorted(by: { $0.key < $1.key }) {
        let analytic = tape.gradient(of: g.value(named: name)!)!
        for i in stride(from: 0, to: x.count, by: max(1, x.count / 24)) {
            var plus = inputs, minus = inputs
            plus[name]!.1[i] += h
            minus[name]!.1[i] -= h
            let numeric = (try loss(params, plus) - loss(params, minus)) / (2 * h)
            let a = analytic[i]
            XCTAssertLessThanOrEqual(abs(a - numeric), 1e-3 * max(abs(a), abs(numeric)) + 1e-7,
                                     "∂L/∂\(name)[\(i)] (shape \(shape)): analytic \(a), numeric \(numeric)", file: file, line: line)
            checked += 1
        }
    }
    XCTAssertGreaterThan(checked, 0, "nothing was checked", file: file, line: line)
}

func ints(_ shape: [Int], _ values: [Int32]) -> IntTensor { IntTensor(shape: shape, values: values) }

final class GradientCheckTests: XCTestCase {
    func testGatherAccumulatesRepeatedRows() throws {
        try checkGradients("""
            graph t(%ids: i32[2, 3]) -> (%y) {
              @table: f32[5, 7]
              %y: f32[2, 3, 7] = gather(@table, %ids)
              return %y
            }
            """, ints: ["ids": ints([2, 3], [0, 4, 4, 2, 0, 1])])
    }

    func testMatmulBothLayoutsAndBatched() throws {
        try checkGradients("""
            graph t(%x: f32[3, 5, 7]) -> (%y, %z) {
              @w: f32[6, 7]
              @v: f32[7, 4]
              %y: f32[3, 5, 6] = matmul(%x, @w) {transpose_b = true}
              %z: f32[3, 5, 4] = matmul(%x, @v) {transpose_b = false}
              return %y, %z
            }
            """, floatInputs: ["x": [3, 5, 7]])
    }

    /// Both operands batched (attention scores and weighted sums in decomposed form).
    func testBatchedMatmulBothLayouts() throws {
        try checkGradients("""
            graph t(%q: f32[2, 3, 4, 5], %k: f32[2, 3, 6, 5], %v: f32[2, 3, 6, 5]) -> (%o) {
              %s: f32[2, 3, 4, 6] = matmul(%q, %k) {transpose_b = true}
              %o: f32[2, 3, 4, 5] = matmul(%s, %v) {transpose_b = false}
              return %o
            }
            """, floatInputs: ["q": [2, 3, 4, 5], "k": [2, 3, 6, 5], "v": [2, 3, 6, 5]])
    }

    /// Attention written out as the importer's decomposed form emits it: head split, scaled
    /// scores, additive mask from an int32 mask, softmax, weighted sum, head merge.
    func testDecomposedAttentionChain() throws {
        try checkGradients("""
            graph t(%q: f32[2, 3, 4], %k: f32[2, 3, 4], %v: f32[2, 3, 4], %mask: i32[2, 3]) -> (%y) {
              @scale: f32[]
              @one: f32[]
              @fill: f32[]
              %qh: f32[2, 3, 2, 2] = reshape(%q) {shape = [2, 3, 2, 2]}
              %qt: f32[2, 2, 3, 2] = transpose(%qh) {permutation = [0, 2, 1, 3]}
              %kh: f32[2, 3, 2, 2] = reshape(%k) {shape = [2, 3, 2, 2]}
              %kt: f32[2, 2, 3, 2] = transpose(%kh) {permutation = [0, 2, 1, 3]}
              %vh: f32[2, 3, 2, 2] = reshape(%v) {shape = [2, 3, 2, 2]}
              %vt: f32[2, 2, 3, 2] = transpose(%vh) {permutation = [0, 2, 1, 3]}
              %s: f32[2, 2, 3, 3] = matmul(%qt, %kt) {transpose_b = true}
              %ss: f32[2, 2, 3, 3] = mul(%s, @scale)
              %mf: f32[2, 3] = cast(%mask) {to = f32}
              %inv: f32[2, 3] = sub(@one, %mf)
              %add: f32[2, 3] = mul(%inv, @fill)
              %m4: f32[2, 1, 1, 3] = reshape(%add) {shape = [2, 1, 1, 3]}
              %sm: f32[2, 2, 3, 3] = add(%ss, %m4)
              %p: f32[2, 2, 3, 3] = softmax(%sm) {axis = -1}
              %o: f32[2, 2, 3, 2] = matmul(%p, %vt) {transpose_b = false}
              %ot: f32[2, 3, 2, 2] = transpose(%o) {permutation = [0, 2, 1, 3]}
              %y: f32[2, 3, 4] = reshape(%ot) {shape = [2, 3, 4]}
              return %y
            }
            """, floatInputs: ["q": [2, 3, 4], "k": [2, 3, 4], "v": [2, 3, 4]], ints: ["mask": ints([2, 3], [1, 1, 1, 1, 1, 0])])
    }

    func testBinaryOpsWithBroadcasting() throws {
        try checkGradients("""
            graph t(%a: f32[2, 3, 5], %b: f32[3, 1], %c: f32[5]) -> (%y) {
              %s: f32[2, 3, 5] = add(%a, %c)
              %d: f32[2, 3, 5] = sub(%s, %b)
              %m: f32[2, 3, 5] = mul(%d, %b)
              %y: f32[2, 3, 5] = div(%m, %c)
              return %y
            }
            """, floatInputs: ["a": [2, 3, 5], "b": [3, 1], "c": [5]])
    }

    func testActivations() throws {
        try checkGradients("""
            graph t(%x: f32[3, 11]) -> (%a, %b, %c) {
              %a: f32[3, 11] = gelu(%x) {approximation = erf}
              %b: f32[3, 11] = gelu(%x) {approximation = tanh}
              %c: f32[3, 11] = silu(%x)
              return %a, %b, %c
            }
            """, floatInputs: ["x": [3, 11]])
    }

    func testLayerNormAndRMSNorm() throws {
        try checkGradients("""
            graph t(%x: f32[4, 9]) -> (%y, %z) {
              @ln.gamma: f32[9]
              @ln.beta: f32[9]
              @rms.gamma: f32[9]
              %y: f32[4, 9] = layer_norm(%x, @ln.gamma, @ln.beta) {epsilon = 1e-05}
              %z: f32[4, 9] = rms_norm(%x, @rms.gamma) {epsilon = 1e-05}
              return %y, %z
            }
            """, floatInputs: ["x": [4, 9]])
    }

    func testRopeBothStyles() throws {
        try checkGradients("""
            graph t(%x: f32[1, 3, 12], %pos: i32[1, 3]) -> (%a, %b) {
              %a: f32[1, 3, 12] = rope(%x, %pos) {theta = 10000.0, heads = 2, head_dim = 6, style = interleaved}
              %b: f32[1, 3, 12] = rope(%x, %pos) {theta = 10000.0, heads = 2, head_dim = 6, style = half}
              return %a, %b
            }
            """, floatInputs: ["x": [1, 3, 12]], ints: ["pos": ints([1, 3], [0, 5, 17])])
    }

    func testSoftmaxLastAxis() throws {
        try checkGradients("""
            graph t(%x: f32[3, 7]) -> (%y) {
              %y: f32[3, 7] = softmax(%x) {axis = -1}
              return %y
            }
            """, floatInputs: ["x": [3, 7]])
    }

    func testPaddedAttention() throws {
        try checkGradients("""
            graph t(%q: f32[2, 5, 6], %k: f32[2, 5, 6], %v: f32[2, 5, 6], %mask: i32[2, 5]) -> (%y) {
              %y: f32[2, 5, 6] = attention(%q, %k, %v, %mask) {heads = 2, kv_heads = 2, head_dim = 3, causal = false, scale = 0.57735026, kv_cache = false}
              return %y
            }
            """, floatInputs: ["q": [2, 5, 6], "k": [2, 5, 6], "v": [2, 5, 6]],
            ints: ["mask": ints([2, 5], [1, 1, 1, 1, 1, 1, 1, 0, 0, 0])])
    }

    func testCausalGroupedQueryAttention() throws {
        try checkGradients("""
            graph t(%q: f32[1, 6, 16], %k: f32[1, 6, 4], %v: f32[1, 6, 4]) -> (%y) {
              %y: f32[1, 6, 16] = attention(%q, %k, %v) {heads = 4, kv_heads = 1, head_dim = 4, causal = true, scale = 0.5, kv_cache = true}
              return %y
            }
            """, floatInputs: ["q": [1, 6, 16], "k": [1, 6, 4], "v": [1, 6, 4]])
    }

    /// Gemma 3's sliding-window layers: each query sees itself and the key before it.
    func testSlidingWindowAttention() throws {
        try checkGradients("""
            graph t(%q: f32[1, 6, 16], %k: f32[1, 6, 4], %v: f32[1, 6, 4]) -> (%y) {
              %y: f32[1, 6, 16] = attention(%q, %k, %v) {heads = 4, kv_heads = 1, head_dim = 4, causal = true, scale = 0.5, kv_cache = true, window = 2}
              return %y
            }
            """, floatInputs: ["q": [1, 6, 16], "k": [1, 6, 4], "v": [1, 6, 4]])
    }

    /// Bidirectional sliding window (EmbeddingGemma): keys within ±(window − 1) of the query.
    func testSymmetricWindowAttention() throws {
        try checkGradients("""
            graph t(%q: f32[1, 6, 8], %k: f32[1, 6, 4], %v: f32[1, 6, 4]) -> (%y) {
              %y: f32[1, 6, 8] = attention(%q, %k, %v) {heads = 2, kv_heads = 1, head_dim = 4, causal = false, scale = 0.5, kv_cache = false, window = 2}
              return %y
            }
            """, floatInputs: ["q": [1, 6, 8], "k": [1, 6, 4], "v": [1, 6, 4]])
    }

    func testShapeOps() throws {
        try checkGradients("""
            graph t(%x: f32[2, 3, 4]) -> (%r, %t, %s, %c, %p0, %p1) {
              %r: f32[6, 4] = reshape(%x) {shape = [6, 4]}
              %t: f32[4, 2, 3] = transpose(%x) {permutation = [2, 0, 1]}
              %s: f32[2, 2, 4] = slice(%x) {axis = 1, start = 1, end = 3}
              %c: f32[2, 3, 8] = concat(%x, %x) {axis = 2}
              %p0: f32[2, 3, 1], %p1: f32[2, 3, 3] = split(%x) {axis = -1, sizes = [1, 3]}
              return %r, %t, %s, %c, %p0, %p1
            }
            """, floatInputs: ["x": [2, 3, 4]])
    }

    func testMeanPoolAndL2Normalize() throws {
        try checkGradients("""
            graph t(%x: f32[2, 4, 5], %mask: i32[2, 4]) -> (%y) {
              %p: f32[2, 5] = mean_pool(%x, %mask)
              %y: f32[2, 5] = l2_normalize(%p) {axis = -1, epsilon = 1e-12}
              return %y
            }
            """, floatInputs: ["x": [2, 4, 5]], ints: ["mask": ints([2, 4], [1, 1, 1, 0, 1, 1, 1, 1])])
    }

    func testPoolModesAndTanh() throws {
        // Row 0 right-padded, row 1 left-padded.
        try checkGradients("""
            graph t(%x: f32[2, 4, 5], %mask: i32[2, 4]) -> (%c, %m, %l) {
              %t: f32[2, 4, 5] = tanh(%x)
              %c: f32[2, 5] = pool(%t, %mask) {mode = cls}
              %m: f32[2, 5] = pool(%x, %mask) {mode = max}
              %l: f32[2, 5] = pool(%t, %mask) {mode = last_token}
              return %c, %m, %l
            }
            """, floatInputs: ["x": [2, 4, 5]], ints: ["mask": ints([2, 4], [1, 1, 1, 0, 0, 1, 1, 1])])
    }

    func testFusedLinearSwiGLUAndAddNorms() throws {
        try checkGradients("""
            graph t(%x: f32[3, 6], %r: f32[3, 5]) -> (%y, %n, %s, %m, %u) {
              @w: f32[5, 6]
              @b: f32[5]
              @w2: f32[8, 6]
              @ln.gamma: f32[5]
              @ln.beta: f32[5]
              @rms.gamma: f32[5]
              %y: f32[3, 5] = linear(%x, @w, @b) {activation = gelu}
              %gu: f32[3, 8] = linear(%x, @w2) {activation = silu}
              %u: f32[3, 4] = swiglu(%gu)
              %n: f32[3, 5], %s: f32[3, 5] = add_layer_norm(%y, %r, @ln.gamma, @ln.beta) {epsilon = 1e-05}
              %m: f32[3, 5], %s2: f32[3, 5] = add_rms_norm(%s, %r, @rms.gamma) {epsilon = 1e-05}
              return %y, %n, %s, %m, %u
            }
            """, floatInputs: ["x": [3, 6], "r": [3, 5]])
    }

    /// A whole BERT-style layer: every op composed, as the importer emits it.
    func testEncoderLayerEndToEnd() throws {
        try checkGradients("""
            graph t(%ids: i32[2, 4], %mask: i32[2, 4], %pos: i32[2, 4]) -> (%e) {
              @tok: f32[11, 8]
              @posw: f32[4, 8]
              @wq: f32[8, 8]
              @wk: f32[8, 8]
              @wv: f32[8, 8]
              @wo: f32[8, 8]
              @w1: f32[12, 8]
              @b1: f32[12]
              @w2: f32[8, 12]
              @ln.gamma: f32[8]
              @ln.beta: f32[8]
              %a: f32[2, 4, 8] = gather(@tok, %ids)
              %p: f32[2, 4, 8] = gather(@posw, %pos)
              %x: f32[2, 4, 8] = add(%a, %p)
              %q: f32[2, 4, 8] = matmul(%x, @wq) {transpose_b = true}
              %k: f32[2, 4, 8] = matmul(%x, @wk) {transpose_b = true}
              %v: f32[2, 4, 8] = matmul(%x, @wv) {transpose_b = true}
              %att: f32[2, 4, 8] = attention(%q, %k, %v, %mask) {heads = 2, kv_heads = 2, head_dim = 4, causal = false, scale = 0.5, kv_cache = false}
              %o: f32[2, 4, 8] = matmul(%att, @wo) {transpose_b = true}
              %r: f32[2, 4, 8] = add(%o, %x)
              %n: f32[2, 4, 8] = layer_norm(%r, @ln.gamma, @ln.beta) {epsilon = 1e-12}
              %h: f32[2, 4, 12] = linear(%n, @w1, @b1) {activation = gelu}
              %f: f32[2, 4, 8] = matmul(%h, @w2) {transpose_b = true}
              %pool: f32[2, 8] = mean_pool(%f, %mask)
              %e: f32[2, 8] = l2_normalize(%pool) {axis = -1, epsilon = 1e-12}
              return %e
            }
            """, ints: ["ids": ints([2, 4], [1, 5, 9, 2, 3, 3, 0, 0]), "mask": ints([2, 4], [1, 1, 1, 1, 1, 1, 0, 0]),
                        "pos": ints([2, 4], [0, 1, 2, 3, 0, 1, 2, 3])])
    }
}
