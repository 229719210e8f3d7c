// distill on small random models: the layer-dropped student's IR, bad options failing before
// any pass runs, training that lowers the loss for an encoder (embeddings + hidden states)
// and a language model (KL at a temperature), determinism, and checkpoint/resume giving
// bit-identical weights to an uninterrupted run.

import IngotAutodiff
import IngotCore
import IngotIR
import IngotPasses
import XCTest

/// Serves fixed batches to `distill`; the other calibrator duties are not used here.
struct BatchCalibrator: Calibrator {
    var batches: [TrainingBatch]
    func statistics(of values: [ValueID], in graph: Graph) throws -> [ValueID: ActivationStatistics] { [:] }
    func rows(of values: [ValueID], in graph: Graph, maxRows: Int) throws -> [ValueID: [Float]] { [:] }
    func outputError(reference: Graph, candidate: Graph) throws -> Double { 0 }
    func trainingBatches(batchSize: Int, maxTokens: Int) throws -> [TrainingBatch] { batches }
}

/// A BERT-shaped encoder with `layers` layers, hidden 8, 2 heads, FFN 12, vocabulary 13.
func tinyEncoderText(layers: Int) -> String {
    var constants = ["  @tok: f32[13, 8]", "  @posw: f32[6, 8]", "  @emb.gamma: f32[8]", "  @emb.beta: f32[8]"]
    var body = """
          %emb.tok: f32[batch, seq, 8] = gather(@tok, %input_ids)
          %emb.pos: f32[batch, seq, 8] = gather(@posw, %position_ids)
          %emb.sum: f32[batch, seq, 8] = add(%emb.tok, %emb.pos)
          %emb.norm: f32[batch, seq, 8] = layer_norm(%emb.sum, @emb.gamma, @emb.beta) {epsilon = 1e-12}

        """
    var x = "%emb.norm"
    for l in 0..<layers {
        let p = "layer\(l)"
        constants += ["  @\(p).wq: f32[8, 8]", "  @\(p).wk: f32[8, 8]", "  @\(p).wv: f32[8, 8]", "  @\(p).wo: f32[8, 8]",
                      "  @\(p).w1: f32[12, 8]", "  @\(p).b1: f32[12]", "  @\(p).w2: f32[8, 12]",
                      "  @\(p).gamma: f32[8]", "  @\(p).beta: f32[8]"]
        body += """
              %\(p).q: f32[batch, seq, 8] = linear(\(x), @\(p).wq) {activation = none}
              %\(p).k: f32[batch, seq, 8] = linear(\(x), @\(p).wk) {activation = none}
              %\(p).v: f32[batch, seq, 8] = linear(\(x), @\(p).wv) {activation = none}
              %\(p).att: f32[batch, seq, 8] = attention(%\(p).q, %\(p).k, %\(p).v, %attention_mask) {heads = 2, kv_heads = 2, head_dim = 4, causal = false, scale = 0.5, kv_cache = false}
              %\(p).o: f32[batch, seq, 8] = linear(%\(p).att, @\(p).wo) {activation = none}
              %\(p).h: f32[batch, seq, 12] = linear(%\(p).o, @\(p).w1, @\(p).b1) {activation = gelu}
              %\(p).f: f32[batch, seq, 8] = linear(%\(p).h, @\(p).w2) {activation = none}
              %\(p).norm: f32[batch, seq, 8], %\(p).sum: f32[batch, seq, 8] = add_layer_norm(%\(p).f, \(x), @\(p).gamma, @\(p).beta) {epsilon = 1e-12}

            """
        x = "%\(p).norm"
    }
    body += """
          %last_hidden_state: f32[batch, seq, 8] = add(\(x), \(x))
          %pool: f32[batch, 8] = mean_pool(%last_hidden_state, %attention_mask)
          %embedding: f32[batch, 8] = l2_normalize(%pool) {axis = -1, epsilon = 1e-12}

        """
    return "graph enc(%input_ids: i32[batch, seq], %attention_mask: i32[batch, seq], %position_ids: i32[batch, seq]) -> (%last_hidden_state, %embedding) {\n"
        + constants.joined(separator: "\n") + "\n" + body + "  return %last_hidden_state, %embedding\n}\n"
}

/// A LLaMA-shaped language model: 2 layers, hidden 8, 2 query heads sharing 1 KV head, vocabulary 11.
let tinyLanguageModelText = """
    graph lm(%input_ids: i32[batch, seq], %position_ids: i32[batch, seq]) -> (%logits) {
      @tok: f32[11, 8]
      @layer0.norm.gamma: f32[8]
      @layer0.wq: f32[8, 8]
      @layer0.wkv: f32[8, 8]
      @layer0.wo: f32[8, 8]
      @layer0.wgu: f32[12, 8]
      @layer0.wd: f32[8, 6]
      @final.gamma: f32[8]
      %x: f32[batch, seq, 8] = gather(@tok, %input_ids)
      %layer0.n: f32[batch, seq, 8] = rms_norm(%x, @layer0.norm.gamma) {epsilon = 1e-05}
      %layer0.q: f32[batch, seq, 8] = linear(%layer0.n, @layer0.wq) {activation = none}
      %layer0.kv: f32[batch, seq, 8] = linear(%layer0.n, @layer0.wkv) {activation = none}
      %layer0.k: f32[batch, seq, 4], %layer0.v: f32[batch, seq, 4] = split(%layer0.kv) {axis = -1, sizes = [4, 4]}
      %layer0.qr: f32[batch, seq, 8] = rope(%layer0.q, %position_ids) {theta = 10000.0, heads = 2, head_dim = 4, style = half}
      %layer0.kr: f32[batch, seq, 4] = rope(%layer0.k, %position_ids) {theta = 10000.0, heads = 1, head_dim = 4, style = half}
      %layer0.a: f32[batch, seq, 8] = attention(%layer0.qr, %layer0.kr, %layer0.v) {heads = 2, kv_heads = 1, head_dim = 4, causal = true, scale = 0.5, kv_cache = true}
      %layer0.o: f32[batch, seq, 8] = linear(%layer0.a, @layer0.wo) {activation = none}
      %layer0.fn: f32[batch, seq, 8], %layer0.r: f32[batch, seq, 8] = add_rms_norm(%x, %layer0.o, @final.gamma) {epsilon = 1e-05}
      %layer0.gu: f32[batch, seq, 12] = linear(%layer0.fn, @layer0.wgu) {activation = none}
      %layer0.s: f32[batch, seq, 6] = swiglu(%layer0.gu)
      %layer0.d: f32[batch, seq, 8] = linear(%layer0.s, @layer0.wd) {activation = none}
      %layer0.out: f32[batch, seq, 8] = add(%layer0.r, %layer0.d)
      %logits: f32[batch, seq, 11] = matmul(%layer0.out, @tok) {transpose_b = true}
      return %logits
    }
    """

/// Gives every float constant deterministic values (norm weights near 1), `scale` for the rest.
func withRandomWeights(_ text: String, seed: UInt64, scale: Float = 0.5) throws -> Graph {
    var g = try GraphParser.parse(text)
    var rng = SplitMix64(seed: seed)
    for c in g.constants {
        let name = g[c.value].name
        let count = g.type(of: c.value).shape.fixedSizes!.reduce(1, *)
        let values: [Float] = (0..<count).map { _ in
            let u = Float(rng.next() >> 40) / Float(1 << 24) * 2 - 1
            return name.contains("gamma") ? 1 + 0.1 * u : u * scale
        }
        g.setSource(of: c.value, ConstantSource(origin: name, buffer: TensorBuffer(array: values)))
    }
    return g
}

func encoderBatches(count: Int, seed: UInt64) -> [TrainingBatch] {
    var rng = SplitMix64(seed: seed)
    return (0..<count).map { _ in
        let (b, s) = (3, 5)
        let lengths = (0..<b).map { i in i == 0 ? s : 2 + Int(rng.next() % UInt64(s - 1)) }
        var ids: [Int32] = [], mask: [Int32] = [], pos: [Int32] = []
        for len in lengths {
            for t in 0..<s {
                ids.append(t < len ? Int32(1 + rng.next() % 12) : 0)
                mask.append(t < len ? 1 : 0)
                pos.append(Int32(t))
            }
        }
        return TrainingBatch(["input_ids": IntTensor(shape: [b, s], values: ids), "attention_mask": IntTensor(shape: [b, s], values: mask),
                              "position_ids": IntTensor(shape: [b, s], values: pos)])
    }
}

func constantValues(_ g: Graph) throws -> [String: [Float]] {
    var out: [String: [Float]] = [:]
    for c in g.constants { out[g[c.value].name] = try g.floats(of: c.value) }
    return out
}

final class DistillTests: XCTestCase {
    func testLayerDropKeepsTheNamedLayersAndRewiresTheHiddenState() throws {
        var g = try GraphParser.parse(tinyEncoderText(layers: 3))
        XCTAssertEqual(g.layerIndices, [0, 1, 2])
        try g.dropLayers(keeping: [0, 2])
        try g.verify()
        XCTAssertEqual(g.layerIndices, [0, 2])
        let text = g.text
        XCTAssertFalse(text.contains("layer1."), text)
        XCTAssertTrue(text.contains("%layer2.q: f32[batch, seq, 8] = linear(%layer0.norm, @layer2.wq) {activation = none}"), text)
        XCTAssertTrue(text.contains("add_layer_norm(%layer2.f, %layer0.norm, @layer2.gamma, @layer2.beta)"), text)
        XCTAssertEqual(g.constants.count, 4 + 2 * 9)
    }

    func testBadOptionsFailBeforeAnyPassRuns() throws {
        let g = try GraphParser.parse(tinyEncoderText(layers: 3))
        func message(_ spec: String) -> String {
            do {
                try Pipeline.parse(spec).check(against: g)
                return "no error"
            } catch {
                return "\(error)"
            }
        }
        XCTAssertTrue(message("prune=magnitude:0.5,distill=student:layers=0,7").contains("layer 7 does not exist; the model has layers 0...2"))
        XCTAssertTrue(message("distill=student:layers=2,0").contains("must be ascending"))
        XCTAssertTrue(message("distill=student:layers=0,1,2").contains("is not smaller than its 3-layer teacher"))
        XCTAssertTrue(message("distill=student").contains("needs layers="))
        XCTAssertTrue(message("distill=kd:layers=0").contains("layers applies to distill=student"))
        XCTAssertTrue(message("distill=kd:resume").contains("resume needs checkpoint=FILE"))
        XCTAssertTrue(message("distill=kd:resume:checkpoint=/nonexistent/x.ckpt").contains("does not exist"))
        XCTAssertTrue(message("distill=kd:steps=0").contains("option 'steps'"))
        XCTAssertTrue(message("distill=kd:stop-at=5").contains("stop-at needs checkpoint=FILE"))
        XCTAssertTrue(message("distill=kd:lr=5").contains("option 'lr'"))
        XCTAssertEqual(message("distill=student:layers=0,2:steps=10"), "no error")
    }

    func testStudentWiderThanItsTeacherIsRejected() throws {
        let small = try withRandomWeights(tinyEncoderText(layers: 1), seed: 1)
        var big = try withRandomWeights(tinyEncoderText(layers: 2), seed: 2)
        var context = PassContext(calibrator: BatchCalibrator(batches: encoderBatches(count: 2, seed: 1)))
        context.originalGraph = small
        XCTAssertThrowsError(try Pass.distill.run(&big, options: ["mode": "kd", "steps": "2"], context: context)) { error in
            XCTAssertTrue("\(error)".contains("is wider than its teacher"), "\(error)")
        }
    }

    func testEncoderStudentTrainingLowersTheLoss() throws {
        var g = try withRandomWeights(tinyEncoderText(layers: 3), seed: 3)
        let context = PassContext(calibrator: BatchCalibrator(batches: encoderBatches(count: 4, seed: 7)))
        let record = try Pass.distill.run(&g, options: ["mode": "student", "layers": "0,2", "steps": "80", "lr": "0.01", "warmup": "5"],
                                          context: context)
        try g.verify()
        XCTAssertEqual(g.layerIndices, [0, 2])
        let first = try XCTUnwrap(record.stat("first_loss")), final = try XCTUnwrap(record.stat("final_loss"))
        XCTAssertGreaterThan(first, 0.01)
        XCTAssertLessThan(final, first * 0.3, "loss \(first) → \(final)")
        XCTAssertLessThan(record.stat("parameters_student")!, record.stat("parameters_teacher")!)
        XCTAssertEqual(record.curve.last?.step, 80)
        // The embedding table is frozen by default; trained matrices changed.
        let before = try constantValues(try withRandomWeights(tinyEncoderText(layers: 3), seed: 3)), after = try constantValues(g)
        XCTAssertEqual(after["tok"], before["tok"])
        XCTAssertNotEqual(after["layer2.w1"], before["layer2.w1"])
    }

    func testLanguageModelKDLowersTheKLFromAPerturbedStart() throws {
        let teacher = try withRandomWeights(tinyLanguageModelText, seed: 11)
        var student = try withRandomWeights(tinyLanguageModelText, seed: 12, scale: 0.3)
        let tokens: [Int32] = [1, 4, 9, 2, 2, 7, 3, 10, 5, 6, 0, 8]
        let batches = (0..<3).map { i in
            let w = Array(tokens[(i * 2)..<(i * 2 + 6)])
            return TrainingBatch(["input_ids": IntTensor(shape: [1, 6], values: w), "position_ids": IntTensor(shape: [1, 6], values: (0..<6).map(Int32.init))])
        }
        var context = PassContext(calibrator: BatchCalibrator(batches: batches))
        context.originalGraph = teacher
        let record = try Pass.distill.run(&student, options: ["steps": "120", "lr": "0.02", "temperature": "2", "train-embeddings": "true"],
                                          context: context)
        let first = try XCTUnwrap(record.stat("first_loss")), final = try XCTUnwrap(record.stat("final_loss"))
        XCTAssertLessThan(final, first * 0.3, "KL \(first) → \(final)")
    }

    func testCheckpointResumeMatchesAnUninterruptedRunBitForBit() throws {
        let dir = NSTemporaryDirectory() + "ingot-distill-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let context = PassContext(calibrator: BatchCalibrator(batches: encoderBatches(count: 3, seed: 5)))
        let common = ["mode": "student", "layers": "1", "lr": "0.005", "seed": "9", "warmup": "2"]

        var straight = try withRandomWeights(tinyEncoderText(layers: 2), seed: 4)
        _ = try Pass.distill.run(&straight, options: common.merging(["steps": "10"]) { $1 }, context: context)

        let ckpt = dir + "/run.ckpt"
        var first = try withRandomWeights(tinyEncoderText(layers: 2), seed: 4)
        // A run stopped after 6 of 10 steps: its last checkpoint is at step 6.
        _ = try Pass.distill.run(&first, options: common.merging(["steps": "10", "stop-at": "6", "checkpoint": ckpt]) { $1 }, context: context)
        let saved = try TrainingCheckpoint.load(path: ckpt)
        XCTAssertEqual(saved.step, 6)
        var resumed = try withRandomWeights(tinyEncoderText(layers: 2), seed: 4)
        let record = try Pass.distill.run(&resumed, options: common.merging(["steps": "10", "checkpoint": ckpt, "resume": "true"]) { $1 },
                                          context: context)
        XCTAssertEqual(record.stat("resumed_at"), 6)
        XCTAssertTrue(try constantValues(resumed) == constantValues(straight), "the resumed run differs from the uninterrupted one")
        XCTAssertFalse(try constantValues(first) == constantValues(straight), "stopping at 6 of 10 steps changed nothing")

        // A different seed gives a different run.
        var other = try withRandomWeights(tinyEncoderText(layers: 2), seed: 4)
        _ = try Pass.distill.run(&other, options: common.merging(["steps": "10", "seed": "10"]) { $1 }, context: context)
        XCTAssertFalse(try constantValues(other) == constantValues(straight), "the seed did not change the run")
    }

    func testCorruptOrForeignCheckpointsAreRejectedWithTheField() throws {
        let ckp = TrainingCheckpoint(step: 3, seed: 1, curve: [CurvePoint(step: 3, loss: 0.5)],
                                     tensors: [.init(name: "w", values: [1, 2], m: [0, 0], v: [0, 0])])
        var bytes = ckp.encoded()
        XCTAssertEqual(try bytes.withUnsafeBytes { try TrainingCheckpoint.decode($0, file: "a.ckpt") }, ckp)
        bytes[30] ^= 0x40
        XCTAssertThrowsError(try bytes.withUnsafeBytes { try TrainingCheckpoint.decode($0, file: "a.ckpt") }) { error in
            XCTAssertTrue("\(error)".contains("checksum"), "\(error)")
        }
        var foreign = ckp.encoded()
        foreign[0] = UInt8(ascii: "X")
        XCTAssertThrowsError(try foreign.withUnsafeBytes { try TrainingCheckpoint.decode($0, file: "b.ckpt") }) { error in
            XCTAssertTrue("\(error)".contains("not an Ingot training checkpoint"), "\(error)")
        }
        XCTAssertThrowsError(try [UInt8](repeating: 0, count: 10).withUnsafeBytes { try TrainingCheckpoint.decode($0, file: "c.ckpt") })
    }

    func testScheduleWarmsUpThenDecaysToZero() {
        let s = LearningRateSchedule(kind: .cosine, peak: 1, warmup: 4, total: 14)
        XCTAssertEqual(s.rate(at: 0), 0.25, accuracy: 1e-6)
        XCTAssertEqual(s.rate(at: 3), 1, accuracy: 1e-6)
        XCTAssertEqual(s.rate(at: 9), 0.5, accuracy: 1e-6)
        XCTAssertEqual(s.rate(at: 14), 0, accuracy: 1e-6)
        XCTAssertEqual(LearningRateSchedule(kind: .linear, peak: 2, warmup: 0, total: 10).rate(at: 5), 1, accuracy: 1e-6)
        var grads: [Int: [Float]] = [0: [3], 1: [4]]
        XCTAssertEqual(clipGlobalNorm(&grads, maxNorm: 1), 5, accuracy: 1e-6)
        XCTAssertEqual(grads[0]![0], 0.6, accuracy: 1e-5)
    }
}
