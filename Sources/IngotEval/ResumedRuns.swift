// Resumed runs: the ModelCalibrator's cheaper way to measure a sentence-encoder candidate that
// matches the float reference in its first nodes (a sensitivity candidate quantizes one
// layer). The reference's activations at the first differing node are kept per batch, and
// only the candidate's nodes from there on run. The result is the same numbers a whole run
// gives: the same kernels on the same batches. It does not handle language-model windows
// (KV caches), and it does not decide which candidates to measure.

import IngotCore
import IngotIR
import IngotRuntime

/// The reference graph's activations at one cut (a node index) for every batch of one item
/// set: the values live there (read by a later node or a graph output), by name.
struct ResumePoint {
    var graph: Int
    var items: [Int]
    var cut: Int
    /// Per batch of 16 items: the live values at `cut`.
    var batches: [[String: HostTensor]]

    var elementCount: Int { batches.reduce(0) { $0 + $1.values.reduce(0) { $0 + $1.elementCount } } }
}

extension ModelCalibrator {
    /// Embeddings of `items` from `candidate`, running only its nodes from the first one that
    /// differs from `base` (the reference, or a candidate measured before) on the base's
    /// activations there; nil when nothing can be skipped or a value at the cut is not f32 or i32.
    func resumedOutputs(base: Graph, candidate: Graph, items: [Int]) throws -> [[Float]]? {
        guard case .sentences(let sentences) = data else { return nil }
        let cut = firstDifferingNode(base, candidate)
        guard cut > 0, cut < candidate.nodes.count,
              let embedding = candidate.outputs.first(where: { candidate[$0].name == "embedding" }),
              candidate.type(of: embedding).dtype == .f32 else { return nil }
        let needed = liveValues(candidate, from: cut, outputs: [embedding])
        let baseLive = Set(liveValues(base, from: cut, outputs: base.outputs).map { base[$0].name })
        guard needed.allSatisfy({ baseLive.contains(candidate[$0].name) }),
              !needed.contains(embedding) else { return nil }
        guard let point = try resumePoint(base: base, items: items, cut: cut, sentences: sentences) else { return nil }
        var suffix = candidate
        suffix.nodes = Array(candidate.nodes[cut...])
        suffix.inputs = needed
        suffix.outputs = [embedding]
        suffix.compact()
        let session = try models.model(suffix, label: "candidate graph (from node \(cut))").makeSession()
        var out: [[Float]] = []
        for (b, state) in point.batches.enumerated() {
            var inputs: [String: HostTensor] = [:]
            for id in needed { inputs[candidate[id].name] = state[candidate[id].name] }
            let result = try session.run(inputs: inputs)["embedding"]!
            let width = result.shape[1], flat = result.floats!
            let rows = min(16, items.count - b * 16)
            out += (0..<rows).map { Array(flat[($0 * width)..<(($0 + 1) * width)]) }
        }
        resumedRuns += 1
        return out
    }

    /// The base's live values at `cut` on `items`: advanced from the latest kept point at or
    /// before `cut` (same graph and items), else from the graph inputs; kept for later cuts.
    func resumePoint(base: Graph, items: [Int], cut: Int, sentences: [[Int32]]) throws -> ResumePoint? {
        let live = liveValues(base, from: cut, outputs: base.outputs)
        guard live.allSatisfy({ base.type(of: $0).dtype == .f32 || base.type(of: $0).dtype == .i32 }) else { return nil }
        let key = base.text.hashValue
        resumePoints.removeAll { $0.graph != key }
        var point: ResumePoint
        if let kept = resumePoints.filter({ $0.items == items && $0.cut <= cut }).max(by: { $0.cut < $1.cut }) {
            point = kept
        } else {
            let chosen = items.map { sentences[$0] }
            point = ResumePoint(graph: key, items: items, cut: 0,
                                batches: stride(from: 0, to: chosen.count, by: 16).map { encoderInputs(Array(chosen[$0..<min(chosen.count, $0 + 16)])) })
        }
        guard point.cut < cut else { return point }
        // The base's nodes point.cut..<cut: inputs are what they read from before, outputs what is live at `cut`.
        let produced = Set(base.nodes[point.cut..<cut].flatMap(\.outputs))
        let outputs = live.filter { produced.contains($0) }
        var segment = base
        segment.nodes = Array(base.nodes[point.cut..<cut])
        segment.inputs = liveValues(base, from: point.cut, to: cut, outputs: outputs)
        segment.outputs = outputs
        segment.compact()
        let session = outputs.isEmpty ? nil : try models.model(segment, label: "base graph (nodes \(point.cut)..<\(cut))").makeSession()
        point.batches = try point.batches.map { state in
            var next: [String: HostTensor] = [:]
            if let session {
                var inputs: [String: HostTensor] = [:]
                for id in segment.inputs { inputs[segment[id].name] = state[segment[id].name] }
                next = try session.run(inputs: inputs)
            }
            for id in live where !produced.contains(id) { next[base[id].name] = state[base[id].name] }
            return next
        }
        point.cut = cut
        resumePoints.append(point)
        // Keep at most `maxResumeFloats` values: drop the points furthest along first (widenings
        // come in sensitivity order, sensitivities in program order).
        while resumePoints.count > 1, resumePoints.reduce(0, { $0 + $1.elementCount }) > maxResumeFloats {
            guard let far = resumePoints.indices.filter({ resumePoints[$0].cut != cut || resumePoints[$0].items != items })
                .max(by: { resumePoints[$0].cut < resumePoints[$1].cut }) else { break }
            resumePoints.remove(at: far)
        }
        return point
    }

    /// The graph inputs Encoder.run builds for one batch: right-padded ids, the mask, zero
    /// token types, positions.
    func encoderInputs(_ batch: [[Int32]]) -> [String: HostTensor] {
        let padID = models.tokenizerSpec?.specialTokens["pad"] ?? 0
        let seq = batch.map(\.count).max()!
        var ids = [Int32](), mask = [Int32](), positions = [Int32]()
        for row in batch {
            ids += row + [Int32](repeating: padID, count: seq - row.count)
            mask += [Int32](repeating: 1, count: row.count) + [Int32](repeating: 0, count: seq - row.count)
            positions += (0..<seq).map(Int32.init)
        }
        let shape = [batch.count, seq]
        return [
            "input_ids": HostTensor(shape: shape, ints: ids),
            "attention_mask": HostTensor(shape: shape, ints: mask),
            "token_type_ids": HostTensor(shape: shape, ints: [Int32](repeating: 0, count: ids.count)),
            "position_ids": HostTensor(shape: shape, ints: positions),
        ]
    }
}

/// Non-constant values that nodes from..<to (to: the end) read or `outputs` lists and that no
/// node in that range produces, in order of first use: what a run starting at `from` must be given.
func liveValues(_ g: Graph, from: Int, to: Int? = nil, outputs: [ValueID]) -> [ValueID] {
    let range = from..<(to ?? g.nodes.count)
    let constants = Set(g.constants.map(\.value))
    let produced = Set(g.nodes[range].flatMap(\.outputs))
    var seen: Set<ValueID> = []
    var live: [ValueID] = []
    for id in g.nodes[range].flatMap(\.inputs) + outputs where !constants.contains(id) && !produced.contains(id) {
        if seen.insert(id).inserted { live.append(id) }
    }
    return live
}

/// The index of the first node of `candidate` that is not the same computation as `reference`'s
/// node at that index: same op, and inputs and outputs of the same names and types, constants
/// from the same sources (or, up to 16 Ki elements, of the same bytes). The graph inputs must match by name and type (else 0).
func firstDifferingNode(_ reference: Graph, _ candidate: Graph) -> Int {
    guard reference.inputs.map({ reference[$0].name }) == candidate.inputs.map({ candidate[$0].name }),
          reference.inputs.map({ reference.type(of: $0) }) == candidate.inputs.map({ candidate.type(of: $0) }) else { return 0 }
    var referenceSources: [ValueID: ConstantSource] = [:], candidateSources: [ValueID: ConstantSource] = [:]
    for c in reference.constants { if let s = c.source { referenceSources[c.value] = s } }
    for c in candidate.constants { if let s = c.source { candidateSources[c.value] = s } }
    let referenceConstants = Set(reference.constants.map(\.value)), candidateConstants = Set(candidate.constants.map(\.value))
    func same(_ a: ValueID, _ b: ValueID) -> Bool {
        guard reference[a].name == candidate[b].name, reference.type(of: a) == candidate.type(of: b),
              referenceConstants.contains(a) == candidateConstants.contains(b) else { return false }
        guard referenceConstants.contains(a) else { return true }
        guard let s = referenceSources[a], let t = candidateSources[b] else { return false }
        if s === t { return true }
        // Small constants made afresh per graph (SmoothQuant factors): the same bytes.
        guard (reference.type(of: a).shape.elementCount ?? .max) <= 16384,
              let x = try? s.load(), let y = try? t.load() else { return false }
        return x.byteArray == y.byteArray
    }
    for i in 0..<min(reference.nodes.count, candidate.nodes.count) {
        let r = reference.nodes[i], c = candidate.nodes[i]
        guard r.op == c.op, r.inputs.count == c.inputs.count, r.outputs.count == c.outputs.count,
              zip(r.inputs, c.inputs).allSatisfy(same), zip(r.outputs, c.outputs).allSatisfy(same) else { return i }
    }
    return min(reference.nodes.count, candidate.nodes.count)
}
