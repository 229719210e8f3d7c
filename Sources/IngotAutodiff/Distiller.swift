// Distiller: the training loop of knowledge distillation. Each step runs the teacher
// (forward only) and the student on one batch, takes the distillation loss on their outputs,
// back-propagates through the student, clips the global gradient norm and applies AdamW at
// the scheduled rate. Batch order is a seeded shuffle per epoch, so a run is deterministic
// and a resumed run continues exactly where its checkpoint left off. It does not build the
// student or the teacher (the distill pass does) and does not evaluate them.

import IngotCore
import IngotIR

/// What the student must match.
public enum DistillationObjective: Sendable, Equatable {
    /// Encoders: (1 − cos) of `embedding` [batch, H] plus `hiddenWeight` · masked MSE of
    /// `hidden` [batch, seq, H]; padding comes from the `mask` input.
    case embeddings(embedding: String, hidden: String?, hiddenWeight: Float, mask: String)
    /// Language models: τ²·KL(teacher ‖ student) of next-token distributions of `logits` [batch, seq, vocab].
    case logits(name: String, temperature: Float)
}

public struct DistillationSettings: Sendable {
    public var steps: Int
    public var schedule: LearningRateSchedule
    public var clip: Float
    public var weightDecay: Float
    public var seed: UInt64
    /// Save a checkpoint here every `checkpointEvery` steps and at the end (nil: never).
    public var checkpointPath: String?
    public var checkpointEvery: Int
    /// Continue from `checkpointPath`.
    public var resume: Bool
    /// Stop (and checkpoint) after this update although the schedule runs to `steps` (nil: run to the end).
    public var stopAt: Int?

    public init(steps: Int, schedule: LearningRateSchedule, clip: Float, weightDecay: Float, seed: UInt64,
                checkpointPath: String? = nil, checkpointEvery: Int = 100, resume: Bool = false) {
        self.steps = steps
        self.schedule = schedule
        self.clip = clip
        self.weightDecay = weightDecay
        self.seed = seed
        self.checkpointPath = checkpointPath
        self.checkpointEvery = checkpointEvery
        self.resume = resume
    }

    /// The update after which this invocation stops.
    var lastStep: Int { min(stopAt ?? steps, steps) }
}

public struct DistillationResult: Sendable {
    /// Mean loss per logging interval.
    public var curve: [CurvePoint]
    /// Loss of the first and the last step of the whole run (a resumed run keeps the first from its checkpoint).
    public var firstLoss: Double
    public var lastLoss: Double
    public var resumedAt: Int?
}

public final class Distiller {
    let student: Tape<Float>
    let teacher: Tape<Float>
    let objective: DistillationObjective
    let settings: DistillationSettings
    let batches: [TrainingBatch]
    let log: (String) -> Void
    /// Teacher outputs per batch, when they fit in memory.
    private var teacherCache: [Int: [[Float]]] = [:]
    private var cacheBytes = 0
    private let cacheLimit = 512 << 20

    public init(student: Tape<Float>, teacher: Tape<Float>, objective: DistillationObjective, settings: DistillationSettings,
                batches: [TrainingBatch], log: @escaping (String) -> Void) throws {
        guard !batches.isEmpty else {
            throw IngotError(.invalidArgument, location: "distill", "no training batches (the calibration data is empty)")
        }
        self.student = student
        self.teacher = teacher
        self.objective = objective
        self.settings = settings
        self.batches = batches
        self.log = log
        for name in objective.outputNames {
            guard let s = student.graph.value(named: name), student.graph.outputs.contains(s) else {
                throw IngotError(.invalidArgument, location: "distill", "the student graph has no output '\(name)'")
            }
            guard let t = teacher.graph.value(named: name), teacher.graph.outputs.contains(t) else {
                throw IngotError(.invalidArgument, location: "distill", "the teacher graph has no output '\(name)'")
            }
        }
    }

    /// The batch of update `step`: epoch e = step / count is a shuffle seeded by (seed, e).
    func batchIndex(at step: Int) -> Int {
        let count = batches.count, epoch = step / count
        var rng = SplitMix64(seed: settings.seed &+ UInt64(epoch) &* 0x9E37_79B9)
        var order = Array(0..<count)
        order.shuffle(using: &rng)
        return order[step % count]
    }

    /// Loss of the student on batch `index` (and, when `seed`, its gradient seeds).
    func loss(batch index: Int) throws -> (Double, [ValueID: [Float]]) {
        let batch = batches[index]
        let targets: [[Float]]
        if let cached = teacherCache[index] {
            targets = cached
        } else {
            try teacher.forward(batch.inputs)
            targets = objective.outputNames.map { teacher.values(of: teacher.graph.value(named: $0)!)! }
            let bytes = targets.reduce(0) { $0 + $1.count * 4 }
            if cacheBytes + bytes <= cacheLimit {
                teacherCache[index] = targets
                cacheBytes += bytes
            }
        }
        try student.forward(batch.inputs)
        let g = student.graph
        switch objective {
        case .embeddings(let embedding, let hidden, let weight, let mask):
            let e = g.value(named: embedding)!
            let width = student.shape(of: e)!.last!
            let (l1, g1) = Losses.cosine(student: student.values(of: e)!, teacher: targets[0], width: width)
            var seeds = [e: g1]
            var total = Double(l1)
            if let hidden, weight > 0 {
                let h = g.value(named: hidden)!
                guard let m = batch.inputs[mask] else {
                    throw IngotError(.invalidArgument, location: "distill", "the batch has no '\(mask)' input")
                }
                let hs = student.shape(of: h)!
                let (l2, g2) = Losses.maskedMSE(student: student.values(of: h)!, teacher: targets[1], width: hs.last!, mask: m.values)
                seeds[h] = g2.map { $0 * weight }
                total += Double(weight * l2)
            }
            return (total, seeds)
        case .logits(let name, let temperature):
            let y = g.value(named: name)!
            let vocab = student.shape(of: y)!.last!
            let (l, gl) = Losses.kl(student: student.values(of: y)!, teacher: targets[0], vocab: vocab, temperature: temperature)
            return (Double(l), [y: gl])
        }
    }

    public func run() throws -> DistillationResult {
        var optimizer = AdamW(weightDecay: settings.weightDecay)
        var curve: [CurvePoint] = []
        var firstLoss: Double?
        var start = 0
        var resumedAt: Int?
        let names = student.trainable.sorted().map { student.graph.values[$0].name }
        if settings.resume, let path = settings.checkpointPath {
            let ckp = try TrainingCheckpoint.load(path: path)
            guard ckp.seed == settings.seed else {
                throw IngotError(.invalidArgument, file: path, location: "seed", "checkpoint seed \(ckp.seed), this run's seed \(settings.seed)")
            }
            guard ckp.step <= settings.steps else {
                throw IngotError(.invalidArgument, file: path, location: "step", "checkpoint at step \(ckp.step), beyond steps=\(settings.steps)")
            }
            guard ckp.tensors.map(\.name) == names else {
                let missing = Set(names).symmetricDifference(ckp.tensors.map(\.name)).sorted().prefix(3)
                throw IngotError(.invalidArgument, file: path, location: "tensors",
                                 "\(ckp.tensors.count) tensors, the student trains \(names.count); differing: \(missing.joined(separator: ", "))")
            }
            for (id, t) in zip(student.trainable.sorted(), ckp.tensors) {
                guard t.values.count == student.parameters[id]!.count else {
                    throw IngotError(.shape, file: path, location: "tensor '\(t.name)'",
                                     "\(t.values.count) values, the student's has \(student.parameters[id]!.count)")
                }
                student.parameters[id] = t.values
                optimizer.m[id] = t.m
                optimizer.v[id] = t.v
            }
            optimizer.step = ckp.step
            curve = ckp.curve
            firstLoss = ckp.curve.first?.loss
            start = ckp.step
            resumedAt = ckp.step
            log("distill: resumed from \(path) at step \(ckp.step)")
        }
        let decayed = Set(student.trainable.filter { (student.graph.type(of: ValueID($0)).shape.rank) >= 2 })
        let logEvery = max(1, settings.steps / 50)
        var intervalLoss = 0.0, intervalCount = 0, lastLoss = firstLoss ?? 0
        for step in start..<max(start, settings.lastStep) {
            let (loss, seeds) = try self.loss(batch: batchIndex(at: step))
            guard loss.isFinite else {
                throw IngotError(.invalidArgument, location: "distill step \(step + 1)", "the loss is \(loss); lower lr (now \(settings.schedule.peak))")
            }
            if firstLoss == nil { firstLoss = loss }
            lastLoss = loss
            try student.backward(seeds: seeds)
            var grads = student.gradients.filter { student.trainable.contains($0.key) }
            let norm = clipGlobalNorm(&grads, maxNorm: settings.clip)
            let lr = settings.schedule.rate(at: step)
            optimizer.apply(to: &student.parameters, gradients: grads, learningRate: lr, decayed: decayed)
            intervalLoss += loss
            intervalCount += 1
            let done = step + 1
            if done % logEvery == 0 || done == settings.lastStep {
                curve.append(CurvePoint(step: done, loss: intervalLoss / Double(intervalCount)))
                log("distill step \(done)/\(settings.steps) loss \(formatFixed(intervalLoss / Double(intervalCount), 6)) lr \(lr) grad-norm \(formatFixed(Double(norm), 4))")
                intervalLoss = 0
                intervalCount = 0
            }
            if let path = settings.checkpointPath, done % settings.checkpointEvery == 0 || done == settings.lastStep {
                try checkpoint(step: done, curve: curve, optimizer: optimizer, names: names).save(path: path)
            }
        }
        return DistillationResult(curve: curve, firstLoss: firstLoss ?? 0, lastLoss: lastLoss, resumedAt: resumedAt)
    }

    func checkpoint(step: Int, curve: [CurvePoint], optimizer: AdamW, names: [String]) -> TrainingCheckpoint {
        let ids = student.trainable.sorted()
        let zeros: (Int) -> [Float] = { [Float](repeating: 0, count: $0) }
        let tensors = zip(ids, names).map { id, name in
            let p = student.parameters[id]!
            return TrainingCheckpoint.TensorState(name: name, values: p, m: optimizer.m[id] ?? zeros(p.count), v: optimizer.v[id] ?? zeros(p.count))
        }
        return TrainingCheckpoint(step: step, seed: settings.seed, curve: curve, tensors: tensors)
    }
}

extension DistillationObjective {
    /// Graph outputs the objective reads, in the order the teacher's targets are kept.
    var outputNames: [String] {
        switch self {
        case .embeddings(let e, let h, let w, _): return h != nil && w > 0 ? [e, h!] : [e]
        case .logits(let name, _): return [name]
        }
    }
}
