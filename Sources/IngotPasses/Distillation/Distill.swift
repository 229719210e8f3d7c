// distill: knowledge distillation with training. The student — the graph as the pipeline
// has made it so far (`kd`, e.g. after structured pruning), or the graph with only some of
// its layers (`student:layers=0,2,4`) — is trained to match the teacher (the float model the
// pipeline started from, or the current graph for `student`) on the calibration data:
// encoders on pooled embeddings (1 − cosine) and last hidden states (MSE), language models on
// next-token distributions (τ²·KL at temperature τ). AdamW, warm-up + cosine/linear/constant
// schedule, global-norm clipping, seeded batch order, checkpoint and resume. The trained
// weights replace the student's constants; names and shapes do not change.
//
// It does not quantize; run it before `quantize` (int8 ops have no gradients).

import IngotAutodiff
import IngotCore
import IngotIR

extension Pass {
    /// Runs after pruning (kd) or on the float model (student), before quantize. Needs calibration.
    ///
    ///     kd:      @layer0.ffn_in.weight: f32[1075, 384] (pruned)  →  same tensor, trained
    ///     student: 6 layers                                       →  layers 0, 2, 4 kept, trained
    public static let distill = Pass(
        name: "distill", summary: "train the pruned model (kd) or a layer-dropped student to match the teacher",
        positional: "mode",
        options: [
            PassOption("mode", .choice(["kd", "student"]), default: "kd", "kd: train the current graph; student: keep only `layers` of it, then train"),
            PassOption("layers", .integerList, default: "", "student: teacher layers to keep, ascending (e.g. 0,2,4)"),
            PassOption("steps", .integer(1...1_000_000), default: "300", "optimizer updates"),
            PassOption("lr", .number(1e-8...1), default: "0.0001", "peak learning rate"),
            PassOption("batch", .integer(1...1024), default: "16", "sentences (encoders) or windows (language models) per update"),
            PassOption("seq", .integer(8...8192), default: "128", "longest sentence or window in tokens"),
            PassOption("warmup", .integer(0...1_000_000), default: "20", "updates of linear warm-up"),
            PassOption("schedule", .choice(LearningRateSchedule.Kind.allCases.map(\.rawValue)), default: "cosine", "decay after warm-up"),
            PassOption("clip", .number(0...1e6), default: "1", "global gradient-norm limit (0: none)"),
            PassOption("weight-decay", .number(0...1), default: "0.01", "AdamW decoupled weight decay (matrices only)"),
            PassOption("temperature", .number(0.05...100), default: "2", "language models: softmax temperature τ of the KL term"),
            PassOption("hidden", .number(0...1000), default: "1", "encoders: weight of the last-hidden-state MSE next to 1 − cosine"),
            PassOption("seed", .integer(0...Int(Int32.max)), default: "0", "batch-order seed"),
            PassOption("train-embeddings", .flag, default: "false", "also train embedding tables (and a tied LM head)"),
            PassOption("checkpoint", .text, default: "", "save the training state to this file"),
            PassOption("checkpoint-every", .integer(1...1_000_000), default: "100", "updates between checkpoints"),
            PassOption("resume", .flag, default: "false", "continue from `checkpoint`"),
            PassOption("stop-at", .integer(0...1_000_000), default: "0", "stop after this update and checkpoint (0: run all steps); resume later"),
        ],
        needsCalibration: { _ in true },
        check: { g, o in try DistillPlan.check(g, o) },
        body: { g, options, context in try DistillPlan(options: options, context: context).run(&g) })
}

struct DistillPlan {
    let options: PassOptions
    let context: PassContext

    static func fail(_ message: String) -> IngotError { IngotError(.invalidArgument, location: "pass 'distill'", message) }

    /// Option checks that need the graph; run before any pass does.
    static func check(_ g: Graph, _ o: PassOptions) throws {
        let layers = try o.integers("layers")
        let mode = try o["mode"], checkpoint = try o["checkpoint"]
        switch mode {
        case "student":
            let present = g.layerIndices
            guard !layers.isEmpty else { throw fail("mode student needs layers=…, e.g. layers=0,2,4 (the model has layers \(rangeText(present)))") }
            for l in layers where !present.contains(l) {
                throw fail("layer \(l) does not exist; the model has layers \(rangeText(present))")
            }
            guard zip(layers, layers.dropFirst()).allSatisfy({ $0 < $1 }) else {
                throw fail("layers \(try o["layers"]) must be ascending without repeats")
            }
            guard layers.count < present.count else {
                throw fail("a student with \(layers.count) layers is not smaller than its \(present.count)-layer teacher")
            }
        case "kd":
            guard layers.isEmpty else { throw fail("layers applies to distill=student, not kd") }
        default:
            throw fail("mode '\(mode)', expected kd or student")
        }
        if try o.int("stop-at") > 0, checkpoint.isEmpty { throw fail("stop-at needs checkpoint=FILE to resume from") }
        if try o.flag("resume") {
            guard !checkpoint.isEmpty else { throw fail("resume needs checkpoint=FILE") }
            guard fileExists(checkpoint) else { throw fail("resume: checkpoint '\(checkpoint)' does not exist") }
        }
        for node in g.nodes {
            if case .linearInt8 = node.op { throw fail("the graph has int8 ops; run distill before quantize") }
            if case .gatherInt8 = node.op { throw fail("the graph has int8 ops; run distill before quantize") }
            if case .linearSparse = node.op { throw fail("the graph has sparse-format weights; run distill before sparsify") }
        }
    }

    static func rangeText(_ layers: [Int]) -> String {
        guard let first = layers.first, let last = layers.last else { return "none" }
        return layers == Array(first...last) ? "\(first)...\(last)" : layers.map(String.init).joined(separator: ",")
    }

    func run(_ g: inout Graph) throws -> PassRecord {
        guard let calibrator = context.calibrator else { throw Self.fail("needs calibration data (--calibration FILE)") }
        let mode = try options["mode"], layers = try options.integers("layers")
        let teacherGraph: Graph
        switch mode {
        case "student":
            teacherGraph = g
            try g.dropLayers(keeping: Set(layers))
        default:
            teacherGraph = context.originalGraph ?? g
        }
        try Self.check(teacherGraph, options.droppingLayerCheck)
        let (teacherParams, studentParams) = (teacherGraph.parameterCount, g.parameterCount)
        guard studentParams <= teacherParams else {
            throw Self.fail("the student (\(studentParams) parameters) is wider than its teacher (\(teacherParams))")
        }
        let objective: DistillationObjective
        if g.value(named: "embedding").map(g.outputs.contains) ?? false {
            let hidden = g.value(named: "last_hidden_state").map(g.outputs.contains) ?? false
            objective = .embeddings(embedding: "embedding", hidden: hidden ? "last_hidden_state" : nil,
                                    hiddenWeight: Float(try options.double("hidden")), mask: "attention_mask")
        } else if g.value(named: "logits").map(g.outputs.contains) ?? false {
            objective = .logits(name: "logits", temperature: Float(try options.double("temperature")))
        } else {
            throw Self.fail("the graph has neither an 'embedding' nor a 'logits' output to distill")
        }

        let tables = Set(g.nodes.compactMap { node -> Int? in
            if case .gather = node.op { return node.inputs[0].index }
            return nil
        })
        let trainEmbeddings = try options.flag("train-embeddings")
        var trainable = Set<Int>()
        for c in g.constants where g.type(of: c.value).dtype.isFloatingPoint {
            if tables.contains(c.value.index) && !trainEmbeddings { continue }
            trainable.insert(c.value.index)
        }
        guard !trainable.isEmpty else { throw Self.fail("the student has no trainable float weights") }
        let student = try Tape<Float>(graph: g, parameters: try floatConstants(g), trainable: trainable)
        let teacher = try Tape<Float>(graph: teacherGraph, parameters: try floatConstants(teacherGraph))

        let batches = try calibrator.trainingBatches(batchSize: try options.int("batch"), maxTokens: try options.int("seq"))
        let steps = try options.int("steps")
        let scheduleName = try options["schedule"]
        guard let scheduleKind = LearningRateSchedule.Kind(rawValue: scheduleName) else {
            throw Self.fail("schedule '\(scheduleName)' is not a learning-rate schedule")
        }
        let checkpoint = try options["checkpoint"]
        let settings = DistillationSettings(
            steps: steps,
            schedule: LearningRateSchedule(kind: scheduleKind, peak: Float(try options.double("lr")),
                                           warmup: try options.int("warmup"), total: steps),
            clip: Float(try options.double("clip")), weightDecay: Float(try options.double("weight-decay")),
            seed: UInt64(try options.int("seed")),
            checkpointPath: checkpoint.isEmpty ? nil : checkpoint,
            checkpointEvery: try options.int("checkpoint-every"), resume: try options.flag("resume"))
        var runSettings = settings
        let stopAt = try options.int("stop-at")
        if stopAt > 0 {
            guard settings.checkpointPath != nil else { throw Self.fail("stop-at needs checkpoint=FILE to resume from") }
            runSettings.stopAt = stopAt
        }
        context.log("distill (\(mode)): \(trainable.count) tensors, \(studentParams) parameters (teacher \(teacherParams)), \(batches.count) batches, \(steps) steps")
        let result = try Distiller(student: student, teacher: teacher, objective: objective, settings: runSettings,
                                   batches: batches, log: context.progress).run()

        for id in trainable.sorted() {
            let v = ValueID(id)
            let buffer = TensorBuffer(array: student.parameters[id]!)
            g.setSource(of: v, ConstantSource(origin: "distill: \(g[v].name) after \(steps) updates", buffer: buffer))
        }
        var stats: [(String, Double)] = [
            ("steps", Double(steps)), ("batches", Double(batches.count)),
            ("first_loss", result.firstLoss), ("last_loss", result.lastLoss),
            ("final_loss", result.curve.last?.loss ?? result.lastLoss),
            ("parameters_teacher", Double(teacherParams)), ("parameters_student", Double(studentParams)),
            ("trained_tensors", Double(trainable.count)),
        ]
        if mode == "student" { stats.append(("layers_kept", Double(layers.count))) }
        if let r = result.resumedAt { stats.append(("resumed_at", Double(r))) }
        return PassRecord(name: "distill", stats: stats, curve: result.curve)
    }

    /// Every float constant's values.
    func floatConstants(_ g: Graph) throws -> [Int: [Float]] {
        var out: [Int: [Float]] = [:]
        for c in g.constants where g.type(of: c.value).dtype.isFloatingPoint { out[c.value.index] = try g.floats(of: c.value) }
        return out
    }
}

extension PassOptions {
    /// The same options without the layer check (the teacher of `student` is re-checked for int8 ops only).
    var droppingLayerCheck: PassOptions {
        replacing(["mode": "kd", "layers": "", "resume": "false"])
    }
}

#if canImport(Glibc)
import Glibc
#endif

func fileExists(_ path: String) -> Bool { access(path, F_OK) == 0 }
