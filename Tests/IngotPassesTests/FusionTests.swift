// Fusion pass tests: textual IR in → pass → textual IR out, with the cases where a pass
// must not fire. Numerical agreement of fused and unfused real models is tested in
// IngotRuntimeTests (FusionNumericsTests).

import IngotIR
import IngotPasses
import XCTest

func assertPass(_ pass: Pass, _ input: String, _ expected: String, options: [String: String] = [:],
                file: StaticString = #filePath, line: UInt = #line) throws {
    var g = try GraphParser.parse(input)
    try g.verify()
    _ = try pass.run(&g, options: options)
    try g.verify()
    let got = g.text
    if got != expected {
        XCTFail("\(pass.name) produced:\n\(got)\nexpected:\n\(expected)", file: file, line: line)
    }
}

/// The pass leaves the graph byte-identical in its printed form.
func assertNoChange(_ pass: Pass, _ input: String, file: StaticString = #filePath, line: UInt = #line) throws {
    var g = try GraphParser.parse(input)
    let before = g.text
    _ = try pass.run(&g)
    XCTAssertEqual(g.text, before, "\(pass.name) must not fire", file: file, line: line)
}

final class FusionTests: XCTestCase {
    // MARK: fuse-linear

    func testLinearAbsorbsBiasAndGELU() throws {
        try assertPass(.fuseLinear, """
            graph m(%x: f32[batch, 8]) -> (%y) {
              @w: f32[16, 8]
              @b: f32[16]
              %m: f32[batch, 16] = matmul(%x, @w) {transpose_b = true}
              %a: f32[batch, 16] = add(%m, @b)
              %y: f32[batch, 16] = gelu(%a) {approximation = erf}
              return %y
            }
            """, """
            graph m(%x: f32[batch, 8]) -> (%y) {
              @w: f32[16, 8]
              @b: f32[16]
              %y: f32[batch, 16] = linear(%x, @w, @b) {activation = gelu}
              return %y
            }

            """)
    }

    func testLinearAcceptsBiasOnTheLeftAndSiLUWithoutBias() throws {
        try assertPass(.fuseLinear, """
            graph m(%x: f32[batch, 8]) -> (%y, %z) {
              @w: f32[16, 8]
              @b: f32[16]
              @v: f32[4, 8]
              %m: f32[batch, 16] = matmul(%x, @w) {transpose_b = true}
              %y: f32[batch, 16] = add(@b, %m)
              %n: f32[batch, 4] = matmul(%x, @v) {transpose_b = true}
              %z: f32[batch, 4] = silu(%n)
              return %y, %z
            }
            """, """
            graph m(%x: f32[batch, 8]) -> (%y, %z) {
              @w: f32[16, 8]
              @b: f32[16]
              @v: f32[4, 8]
              %y: f32[batch, 16] = linear(%x, @w, @b) {activation = none}
              %z: f32[batch, 4] = linear(%x, @v) {activation = silu}
              return %y, %z
            }

            """)
    }

    func testLinearDoesNotFireOnActivationsTimesActivations() throws {
        // q·kᵀ between two computed values is not a linear layer.
        try assertNoChange(.fuseLinear, """
            graph m(%q: f32[batch, 8], %k: f32[4, 8]) -> (%y) {
              @b: f32[4]
              %s: f32[batch, 4] = matmul(%q, %k) {transpose_b = true}
              %y: f32[batch, 4] = add(%s, @b)
              return %y
            }
            """)
    }

    func testLinearKeepsAnIntermediateThatHasAnotherReader() throws {
        // %a is a graph output too: gelu must not swallow it; the bias still folds.
        try assertPass(.fuseLinear, """
            graph m(%x: f32[batch, 8]) -> (%a, %y) {
              @w: f32[16, 8]
              @b: f32[16]
              %m: f32[batch, 16] = matmul(%x, @w) {transpose_b = true}
              %a: f32[batch, 16] = add(%m, @b)
              %y: f32[batch, 16] = gelu(%a) {approximation = tanh}
              return %a, %y
            }
            """, """
            graph m(%x: f32[batch, 8]) -> (%a, %y) {
              @w: f32[16, 8]
              @b: f32[16]
              %a: f32[batch, 16] = linear(%x, @w, @b) {activation = none}
              %y: f32[batch, 16] = gelu(%a) {approximation = tanh}
              return %a, %y
            }

            """)
    }

    func testLinearDoesNotTakeABroadcastBias() throws {
        // A [batch, 16] addend is not a per-output-channel bias.
        try assertPass(.fuseLinear, """
            graph m(%x: f32[2, 8], %c: f32[2, 16]) -> (%y) {
              @w: f32[16, 8]
              %m: f32[2, 16] = matmul(%x, @w) {transpose_b = true}
              %y: f32[2, 16] = add(%m, %c)
              return %y
            }
            """, """
            graph m(%x: f32[2, 8], %c: f32[2, 16]) -> (%y) {
              @w: f32[16, 8]
              %m: f32[2, 16] = linear(%x, @w) {activation = none}
              %y: f32[2, 16] = add(%m, %c)
              return %y
            }

            """)
    }

    // MARK: fuse-qkv

    func testQKVStacksSiblingsWithBias() throws {
        try assertPass(.fuseQKV, """
            graph m(%x: f32[batch, seq, 8]) -> (%q, %k, %v) {
              @wq: f32[8, 8]
              @bq: f32[8]
              @wk: f32[4, 8]
              @bk: f32[4]
              @wv: f32[4, 8]
              @bv: f32[4]
              %q: f32[batch, seq, 8] = linear(%x, @wq, @bq) {activation = none}
              %k: f32[batch, seq, 4] = linear(%x, @wk, @bk) {activation = none}
              %v: f32[batch, seq, 4] = linear(%x, @wv, @bv) {activation = none}
              return %q, %k, %v
            }
            """, """
            graph m(%x: f32[batch, seq, 8]) -> (%q, %k, %v) {
              @wq.stacked: f32[16, 8]
              @bq.stacked: f32[16]
              %q.stacked: f32[batch, seq, 16] = linear(%x, @wq.stacked, @bq.stacked) {activation = none}
              %q: f32[batch, seq, 8], %k: f32[batch, seq, 4], %v: f32[batch, seq, 4] = split(%q.stacked) {axis = -1, sizes = [8, 4, 4]}
              return %q, %k, %v
            }

            """)
    }

    func testQKVDoesNotMixBiasAndNoBiasOrDifferentInputs() throws {
        try assertNoChange(.fuseQKV, """
            graph m(%x: f32[batch, 8], %z: f32[batch, 8]) -> (%q, %k, %v) {
              @wq: f32[8, 8]
              @bq: f32[8]
              @wk: f32[8, 8]
              @wv: f32[8, 8]
              %q: f32[batch, 8] = linear(%x, @wq, @bq) {activation = none}
              %k: f32[batch, 8] = linear(%x, @wk) {activation = none}
              %v: f32[batch, 8] = linear(%z, @wv) {activation = none}
              return %q, %k, %v
            }
            """)
    }

    // MARK: fuse-swiglu

    func testSwiGLUStacksGateAndUp() throws {
        try assertPass(.fuseSwiGLU, """
            graph m(%x: f32[batch, 8]) -> (%h) {
              @wg: f32[12, 8]
              @wu: f32[12, 8]
              %g: f32[batch, 12] = matmul(%x, @wg) {transpose_b = true}
              %u: f32[batch, 12] = matmul(%x, @wu) {transpose_b = true}
              %s: f32[batch, 12] = silu(%g)
              %h: f32[batch, 12] = mul(%s, %u)
              return %h
            }
            """, """
            graph m(%x: f32[batch, 8]) -> (%h) {
              @wg.gate_up: f32[24, 8]
              %h.gate_up: f32[batch, 24] = linear(%x, @wg.gate_up) {activation = none}
              %h: f32[batch, 12] = swiglu(%h.gate_up)
              return %h
            }

            """)
    }

    func testSwiGLUDoesNotFireWhenTheGateIsReadElsewhere() throws {
        try assertNoChange(.fuseSwiGLU, """
            graph m(%x: f32[batch, 8]) -> (%h, %g) {
              @wg: f32[12, 8]
              @wu: f32[12, 8]
              %g: f32[batch, 12] = matmul(%x, @wg) {transpose_b = true}
              %u: f32[batch, 12] = matmul(%x, @wu) {transpose_b = true}
              %s: f32[batch, 12] = silu(%g)
              %h: f32[batch, 12] = mul(%s, %u)
              return %h, %g
            }
            """)
    }

    // MARK: fuse-add-norm

    func testAddRMSNormKeepsTheSumForTheNextResidual() throws {
        try assertPass(.fuseAddNorm, """
            graph m(%a: f32[batch, 8], %b: f32[batch, 8]) -> (%n, %r2) {
              @w: f32[8]
              %r: f32[batch, 8] = add(%a, %b)
              %n: f32[batch, 8] = rms_norm(%r, @w) {epsilon = 1e-05}
              %r2: f32[batch, 8] = add(%r, %n)
              return %n, %r2
            }
            """, """
            graph m(%a: f32[batch, 8], %b: f32[batch, 8]) -> (%n, %r2) {
              @w: f32[8]
              %n: f32[batch, 8], %r: f32[batch, 8] = add_rms_norm(%a, %b, @w) {epsilon = 1e-05}
              %r2: f32[batch, 8] = add(%r, %n)
              return %n, %r2
            }

            """)
    }

    func testAddNormDoesNotFireOnBroadcastAdd() throws {
        try assertNoChange(.fuseAddNorm, """
            graph m(%a: f32[batch, 8]) -> (%n) {
              @g: f32[8]
              @beta: f32[8]
              %r: f32[batch, 8] = add(%a, @g)
              %n: f32[batch, 8] = layer_norm(%r, @g, @beta) {epsilon = 1e-12}
              return %n
            }
            """)
    }

    // MARK: fold-constants, remove-dead

    func testFoldConstantsTransposesAWeight() throws {
        try assertPass(.foldConstants, """
            graph m(%x: f32[batch, 4]) -> (%y) {
              @w: f32[4, 8]
              %wt: f32[8, 4] = transpose(@w) {permutation = [1, 0]}
              %y: f32[batch, 8] = matmul(%x, %wt) {transpose_b = true}
              return %y
            }
            """, """
            graph m(%x: f32[batch, 4]) -> (%y) {
              @wt.folded: f32[8, 4]
              %y: f32[batch, 8] = matmul(%x, @wt.folded) {transpose_b = true}
              return %y
            }

            """)
    }

    func testFoldConstantsLeavesNodesWithARuntimeInput() throws {
        try assertNoChange(.foldConstants, """
            graph m(%x: f32[4, 8]) -> (%y) {
              @w: f32[4, 8]
              %y: f32[4, 8] = add(%x, @w)
              return %y
            }
            """)
    }

    func testRemoveDeadDropsUnreadNodesButKeepsKVCacheAttention() throws {
        try assertPass(.removeDead, """
            graph m(%x: f32[1, seq, 8]) -> (%y) {
              @unused: f32[8]
              %dead: f32[1, seq, 8] = gelu(%x) {approximation = erf}
              %cached: f32[1, seq, 8] = attention(%x, %x, %x) {heads = 2, kv_heads = 2, head_dim = 4, causal = true, scale = 0.5, kv_cache = true}
              %y: f32[1, seq, 8] = silu(%x)
              return %y
            }
            """, """
            graph m(%x: f32[1, seq, 8]) -> (%y) {
              %cached: f32[1, seq, 8] = attention(%x, %x, %x) {heads = 2, kv_heads = 2, head_dim = 4, causal = true, scale = 0.5, kv_cache = true}
              %y: f32[1, seq, 8] = silu(%x)
              return %y
            }

            """)
    }

    // MARK: the whole fuse pipeline on a BERT block

    func testFuseOnABertLayer() throws {
        try assertPass(.fuse, """
            graph layer(%x: f32[batch, seq, 8], %mask: i32[batch, seq]) -> (%out) {
              @wq: f32[8, 8]
              @bq: f32[8]
              @wk: f32[8, 8]
              @bk: f32[8]
              @wv: f32[8, 8]
              @bv: f32[8]
              @wo: f32[8, 8]
              @bo: f32[8]
              @g1: f32[8]
              @b1: f32[8]
              @wi: f32[16, 8]
              @bi: f32[16]
              %q.m: f32[batch, seq, 8] = matmul(%x, @wq) {transpose_b = true}
              %q: f32[batch, seq, 8] = add(%q.m, @bq)
              %k.m: f32[batch, seq, 8] = matmul(%x, @wk) {transpose_b = true}
              %k: f32[batch, seq, 8] = add(%k.m, @bk)
              %v.m: f32[batch, seq, 8] = matmul(%x, @wv) {transpose_b = true}
              %v: f32[batch, seq, 8] = add(%v.m, @bv)
              %att: f32[batch, seq, 8] = attention(%q, %k, %v, %mask) {heads = 2, kv_heads = 2, head_dim = 4, causal = false, scale = 0.5, kv_cache = false}
              %o.m: f32[batch, seq, 8] = matmul(%att, @wo) {transpose_b = true}
              %o: f32[batch, seq, 8] = add(%o.m, @bo)
              %r: f32[batch, seq, 8] = add(%o, %x)
              %n: f32[batch, seq, 8] = layer_norm(%r, @g1, @b1) {epsilon = 1e-12}
              %i.m: f32[batch, seq, 16] = matmul(%n, @wi) {transpose_b = true}
              %i: f32[batch, seq, 16] = add(%i.m, @bi)
              %out: f32[batch, seq, 16] = gelu(%i) {approximation = erf}
              return %out
            }
            """, """
            graph layer(%x: f32[batch, seq, 8], %mask: i32[batch, seq]) -> (%out) {
              @wo: f32[8, 8]
              @bo: f32[8]
              @g1: f32[8]
              @b1: f32[8]
              @wi: f32[16, 8]
              @bi: f32[16]
              @wq.stacked: f32[24, 8]
              @bq.stacked: f32[24]
              %q.stacked: f32[batch, seq, 24] = linear(%x, @wq.stacked, @bq.stacked) {activation = none}
              %q: f32[batch, seq, 8], %k: f32[batch, seq, 8], %v: f32[batch, seq, 8] = split(%q.stacked) {axis = -1, sizes = [8, 8, 8]}
              %att: f32[batch, seq, 8] = attention(%q, %k, %v, %mask) {heads = 2, kv_heads = 2, head_dim = 4, causal = false, scale = 0.5, kv_cache = false}
              %o: f32[batch, seq, 8] = linear(%att, @wo, @bo) {activation = none}
              %n: f32[batch, seq, 8], %r: f32[batch, seq, 8] = add_layer_norm(%o, %x, @g1, @b1) {epsilon = 1e-12}
              %out: f32[batch, seq, 16] = linear(%n, @wi, @bi) {activation = gelu}
              return %out
            }

            """)
    }
}
