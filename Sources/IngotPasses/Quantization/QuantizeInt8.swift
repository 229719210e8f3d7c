// quantize: int8 weights for linear layers (and optionally embeddings / the LM head), with
// run-time activation quantization (dynamic per token, static from calibration, or none:
// weight-only), SmoothQuant scaling, per-layer sensitivity and accuracy-aware mixed
// precision (--max-drop). It rewrites nodes one for one; it never copies model code. The
// int8 kernels themselves are in IngotKernels; this pass only decides and converts.

import IngotCore
import IngotIR

#if canImport(Glibc)
import Glibc
#endif

extension Pass {
    /// Runs after `fuse` when both are given (it quantizes the fused linears, so Q/K/V share
    /// one int8 GEMM). Without a calibrator it can only run dynamic or weight-only mode with
    /// no smoothing, sensitivity or budget.
    ///
    ///     @w: f32[N, K]                                          @w.q8: i8[N, K]   @w.q8.scales: f32[N, K/g]
    ///     %y = linear(%x, @w, @b) {activation = gelu}       →   %y = linear_int8(%x, @w.q8, @w.q8.scales, @b)
    ///                                                                 {group = g, activation = gelu, mode = dynamic, …}
    ///     %e = gather(@table, %ids)                          →   %e = gather_int8(@table.q8, @table.q8.scales, %ids) {group = g}
    ///
    /// w ≈ q·scale per (row, group of g inputs), |q| ≤ 127 (≤ 63 with weight-bits=7); x·wᵀ ≈ Σ_g scale_x·scale_w·(q_x·q_w)_g.
    public static let quantize = Pass(
        name: "quantize", summary: "int8 weights (+ int8 activations), calibration, sensitivity, mixed precision",
        positional: "type",
        options: [
            PassOption("type", .choice(["int8"]), default: "int8", "target type"),
            PassOption("mode", .choice(["dynamic", "static", "weight-only"]), default: "dynamic",
                       "activations: int8 per token at run time, int8 with calibrated scales, or float"),
            PassOption("group", .choice(["0", "32", "64", "128"]), default: "0", "inputs per weight scale; 0 = one per output channel"),
            PassOption("weight-bits", .choice(["auto", "8", "7"]), default: "auto",
                       "weight magnitude ≤ 127 or ≤ 63; 7 lets `pack` use the packed u8 × s7 kernel; auto: 7 for the encoder recipe below, else 8"),
            PassOption("scale-type", .choice(["f32", "f16"]), default: "f32", "precision the scales are rounded to"),
            PassOption("embeddings", .choice(["int8", "f32"]), default: "int8", "embedding tables (gather)"),
            PassOption("lm-head", .choice(["int8", "f32"]), default: "int8", "the output projection of a language model"),
            PassOption("calibrate", .choice(["minmax", "percentile", "mse"]), default: "minmax", "static mode: activation range estimator"),
            PassOption("percentile", .number(90...100), default: "99.99", "percentile for --calibrate percentile"),
            PassOption("smooth", .numberOrAuto(0...1), default: "auto",
                       "SmoothQuant alpha; 0 disables; auto: 0.5 for the encoder recipe below, else 0"),
            PassOption("sensitivity", .flag, default: "false", "measure each layer's output error alone (needs calibration)"),
            PassOption("max-drop", .numberOrAuto(0...1), default: "auto",
                       "output-error budget; the most sensitive layers widen to 8 bits, then stay float, until it holds; auto: 0.00105 for the encoder recipe below, else 1 (no budget)"),
            PassOption("min-inputs", .integer(1...1_000_000), default: "64", "linears with fewer inputs (K) stay float"),
            PassOption("search", .choice(["fast", "exhaustive"]), default: "fast",
                       "fast: sensitivity on a subset of the calibration data, widening candidates screened on it; exhaustive: every measurement on all of it"),
        ],
        needsCalibration: { try QuantizeSettings($0).needsCalibration },
        needsLater: { try QuantizeSettings($0).weightBits == "7" ? [("pack", "weight-bits=7 exists for the packed kernel")] : [] },
        implies: { try QuantizeSettings($0).impliesPack ? [.pack] : [] },
        body: { g, options, context in try Int8Quantizer(settings: QuantizeSettings(options), context: context).run(&g) })
}

/// One quantizable node and how it will be converted.
struct QuantizationSite {
    enum Kind: String { case linear, lmHead = "lm_head", embedding }
    var node: Int
    var kind: Kind
    var weight: ValueID
    var group: Int
    /// Largest |q|: 127 (8-bit) or 63 (7-bit, for the packed kernel).
    var limit: Float = 127
    var inputScale: Float = 0
    var smooth: [Float]?
}

/// The quantize pass's options, read once by type. `smooth`, `max-drop` and `weight-bits`
/// may be `auto`; `resolved(encoder:calibrated:passesAfter:)` turns them into values.
struct QuantizeSettings {
    /// `mode` as written, for messages.
    let modeName: String
    let mode: Int8ActivationMode
    /// Inputs per weight scale; 0: one scale per output channel.
    let group: Int
    /// `weight-bits` as written: auto, 8 or 7.
    let weightBits: String
    /// weight-bits=7: |q| ≤ 63 for the packed u8 × s7 kernel.
    var sevenBitWeights: Bool
    let f16Scales: Bool
    let quantizeEmbeddings: Bool
    let floatLMHead: Bool
    /// Static mode's activation range estimator: minmax, percentile or mse.
    let calibrate: String
    let percentile: Double
    /// SmoothQuant alpha as written; nil: auto.
    let smoothOption: Double?
    /// SmoothQuant alpha; 0 disables.
    var smooth: Double
    let sensitivity: Bool
    /// `max-drop` as written; nil: auto.
    let maxDropOption: Double?
    var maxDrop: Double
    let minInputs: Int
    /// search=exhaustive: every sensitivity and widening candidate measured on all the calibration data.
    let exhaustive: Bool

    /// The encoder recipe the `auto` values stand for (Formats/passes.md, "Defaults"): chosen by
    /// a sweep on MiniLM's dev sentences.
    static let recipeSmooth = 0.5
    static let recipeMaxDrop = 0.00105

    init(_ options: PassOptions) throws {
        modeName = try options["mode"]
        switch modeName {
        case "static": mode = .static
        case "weight-only": mode = .weightOnly
        default: mode = .dynamic
        }
        group = try options.int("group")
        weightBits = try options["weight-bits"]
        sevenBitWeights = weightBits == "7"
        f16Scales = try options["scale-type"] == "f16"
        quantizeEmbeddings = try options["embeddings"] == "int8"
        floatLMHead = try options["lm-head"] == "f32"
        calibrate = try options["calibrate"]
        percentile = try options.double("percentile")
        smoothOption = try options.numberOrAuto("smooth")
        smooth = smoothOption ?? 0
        sensitivity = try options.flag("sensitivity")
        maxDropOption = try options.numberOrAuto("max-drop")
        maxDrop = maxDropOption ?? 1
        minInputs = try options.int("min-inputs")
        exhaustive = try options["search"] == "exhaustive"
    }

    /// What the options as written need; `auto` values use calibration data when there is some.
    var needsCalibration: Bool { mode == .static || (smoothOption ?? 0) > 0 || sensitivity || (maxDropOption ?? 1) < 1 }

    /// Dynamic per-channel layers with `weight-bits=auto` may become 7-bit, so a `pack` step
    /// follows unless one is listed.
    var impliesPack: Bool { weightBits == "auto" && mode == .dynamic && group == 0 }

    /// The `auto` values for this graph: an encoder (a graph with an `embedding` output) in
    /// dynamic per-channel mode with calibration data gets the measured recipe (smooth 0.5,
    /// max-drop 0.00105, 7-bit weights when a `pack` without `eight-bit=u7` follows and a
    /// budget holds the error); everything else gets smooth 0, no budget, 8-bit weights
    /// (language models: weight-only or dynamic as `mode` says).
    func resolved(encoder: Bool, calibrated: Bool, passesAfter: [PassInvocation]) -> QuantizeSettings {
        var r = self
        let recipe = encoder && calibrated && mode == .dynamic && group == 0
        r.smooth = smoothOption ?? (recipe ? Self.recipeSmooth : 0)
        r.maxDrop = maxDropOption ?? (recipe ? Self.recipeMaxDrop : 1)
        if weightBits == "auto" {
            let packKeepsEightBit = passesAfter.contains { $0.pass.name == Pass.pack.name && $0.options.values["eight-bit"] == "keep" }
            r.sevenBitWeights = recipe && packKeepsEightBit && r.maxDrop < 1
        }
        return r
    }
}

struct Int8Quantizer {
    let settings: QuantizeSettings
    let context: PassContext
    /// Candidate graphs' int8 weights, shared by every measurement (nil: compute per graph).
    var memo: QuantizationMemo?
    var mode: Int8ActivationMode { settings.mode }

    init(settings: QuantizeSettings, context: PassContext, memo: QuantizationMemo? = nil) {
        self.settings = settings
        self.context = context
        self.memo = memo
    }

    /// Resolves the `auto` options for `g`, then quantizes.
    func run(_ g: inout Graph) throws -> PassRecord {
        let encoder = g.outputs.contains { g[$0].name == "embedding" }
        let resolved = settings.resolved(encoder: encoder, calibrated: context.calibrator != nil, passesAfter: context.passesAfter)
        return try Int8Quantizer(settings: resolved, context: context, memo: QuantizationMemo()).quantize(&g)
    }

    /// Calibration items the fast search measures sensitivity and screens widening on: a
    /// quarter of them, at least 16 (all of them when there are fewer).
    static func subsetSize(of count: Int) -> Int { min(count, max(16, count / 4)) }

    func quantize(_ g: inout Graph) throws -> PassRecord {
        if settings.needsCalibration && context.calibrator == nil {
            throw IngotError(.invalidArgument, location: "pass 'quantize'",
                             "mode=\(settings.modeName), smooth, sensitivity and max-drop need calibration data (--calibration FILE)")
        }
        var phases: [(String, Double)] = []
        var phaseStart = monotonicSeconds()
        func endPhase(_ name: String) {
            let now = monotonicSeconds()
            phases.append((name, now - phaseStart))
            phaseStart = now
        }
        var sites = findSites(g)
        if settings.sevenBitWeights { for i in sites.indices where sites[i].kind != .embedding { sites[i].limit = 63 } }
        if let calibrator = context.calibrator, mode == .static || settings.smooth > 0 {
            let inputs = Array(Set(sites.filter { $0.kind != .embedding }.map { g.nodes[$0.node].inputs[0] }))
            context.log("quantize: calibrating \(inputs.count) activation inputs")
            let stats = try calibrator.statistics(of: inputs, in: g)
            for i in sites.indices where sites[i].kind != .embedding {
                guard let s = stats[g.nodes[sites[i].node].inputs[0]] else { continue }
                try calibrate(&sites[i], stats: s, in: g)
            }
            endPhase("statistics")
        }

        var layers: [LayerRecord] = []
        var keptFloat: Set<Int> = []
        var measurements = 0, subsetMeasurements = 0
        let float = g
        if let calibrator = context.calibrator, settings.sensitivity || settings.maxDrop < 1 {
            let count = calibrator.sampleCount
            let subset = settings.exhaustive || count == 0 ? nil : Self.subsetSize(of: count)
            // `base`: a candidate measured before that `candidate` matches up to some node (the
            // calibrator may run it from there); nil: the float reference.
            func fullError(_ candidate: Graph, base: Graph? = nil) throws -> Double {
                measurements += 1
                guard let base else { return try calibrator.outputError(reference: float, candidate: candidate) }
                return try calibrator.outputError(reference: float, candidate: candidate, samples: nil, base: base)
            }
            func subsetError(_ candidate: Graph, base: Graph? = nil) throws -> Double {
                guard let subset else { return try fullError(candidate, base: base) }
                subsetMeasurements += 1
                guard let base else { return try calibrator.outputError(reference: float, candidate: candidate, samples: subset) }
                return try calibrator.outputError(reference: float, candidate: candidate, samples: subset, base: base)
            }
            // Every site's int8 weights once, layers in parallel; each candidate below reuses them.
            try prepare(sites, in: float)
            endPhase("weights")
            var sensitivity: [Int: Double] = [:]
            for (i, site) in sites.enumerated() {
                context.log("quantize: sensitivity \(i + 1)/\(sites.count) \(float[site.weight].name)")
                sensitivity[site.node] = try subsetError(try measured(float, sites: [site]))
            }
            endPhase("sensitivity")
            let budget = settings.maxDrop
            if budget < 1 {
                func candidate() throws -> Graph {
                    try measured(float, sites: sites.filter { !keptFloat.contains($0.node) })
                }
                var current = try candidate()
                var error = try fullError(current)
                let ranked = sites.indices.sorted { (sensitivity[sites[$0].node] ?? 0) > (sensitivity[sites[$1].node] ?? 0) }
                // With 7-bit weights the most sensitive layers first go back to 8 bits (the s8 × s8
                // kernel, or packed with 7-bit codes after `pack:eight-bit=u7`; still int8) — each
                // kept only if the output error falls — and only then to float. The fast search
                // first measures a widening on the subset and confirms on all the data only the
                // ones that lower the subset error; every kept change is confirmed on all of it.
                // A widening differs from the current graph from its layer on, which is where
                // the calibrator may start running it.
                var widened = 0
                var currentSubsetError = subset != nil && error > budget ? try subsetError(current) : 0
                for i in ranked where error > budget && sites[i].limit < 127 {
                    sites[i].limit = 127
                    let next = try candidate()
                    if subset != nil {
                        let screened = try subsetError(next, base: current)
                        guard screened < currentSubsetError else {
                            sites[i].limit = 63
                            continue
                        }
                        let wider = try fullError(next, base: current)
                        if wider < error {
                            error = wider
                            currentSubsetError = screened
                            current = next
                            widened += 1
                            context.log("quantize: \(widened) layer(s) at 8 bits, output error \(error)")
                        } else {
                            sites[i].limit = 63
                        }
                        continue
                    }
                    let wider = try fullError(next, base: current)
                    if wider < error {
                        error = wider
                        current = next
                        widened += 1
                        context.log("quantize: \(widened) layer(s) at 8 bits, output error \(error)")
                    } else {
                        sites[i].limit = 63
                    }
                }
                endPhase("widening")
                var k = 0
                while error > budget, k < ranked.count {
                    keptFloat.insert(sites[ranked[k]].node)
                    k += 1
                    error = try fullError(try candidate())
                    context.log("quantize: \(k) layer(s) kept float, output error \(error)")
                }
                endPhase("keep_float")
            }
            for site in sites {
                layers.append(LayerRecord(name: float[site.weight].name, kind: site.kind.rawValue,
                                          dtype: keptFloat.contains(site.node) ? "f32" : site.limit < 127 ? "int8 (7-bit)" : "int8",
                                          quantError: try weightError(site, in: float), sensitivity: sensitivity[site.node],
                                          keptFloat: keptFloat.contains(site.node)))
            }
        } else {
            for site in sites {
                layers.append(LayerRecord(name: float[site.weight].name, kind: site.kind.rawValue, dtype: site.limit < 127 ? "int8 (7-bit)" : "int8",
                                          quantError: try weightError(site, in: float)))
            }
        }
        let chosen = sites.filter { !keptFloat.contains($0.node) }
        let bytesBefore = Set(chosen.map(\.weight)).reduce(0) { $0 + (float.type(of: $1).shape.elementCount ?? 0) * float.type(of: $1).dtype.byteSize }
        g = try Int8Quantizer(settings: settings, context: context).converted(float, sites: chosen)
        endPhase("convert")
        let quantizedWeights = Set(chosen.map(\.weight))
        let bytesAfter = quantizedWeights.reduce(0) { total, w in
            let n = float.type(of: w).shape.elementCount ?? 0
            let site = chosen.first { $0.weight == w }!
            return total + n + n / site.group * (settings.f16Scales ? 2 : 4)
        }
        var stats: [(String, Double)] = [
            ("layers_quantized", Double(chosen.count)),
            ("layers_kept_float", Double(keptFloat.count)),
            ("layers_7bit", Double(chosen.filter { $0.limit < 127 }.count)),
            ("weight_bytes_before", Double(bytesBefore)),
            ("weight_bytes_after", Double(bytesAfter)),
            ("bytes_saved", Double(bytesBefore - bytesAfter)),
        ]
        if measurements + subsetMeasurements > 0 {
            stats += [("measurements", Double(measurements)), ("subset_measurements", Double(subsetMeasurements))]
        }
        var record = PassRecord(name: "quantize", stats: stats, layers: layers)
        record.phases = phases
        return record
    }

    /// Quantizes every site's weights into the memo, sites in parallel (context.parallelFor).
    func prepare(_ sites: [QuantizationSite], in g: Graph) throws {
        guard let memo else { return }
        let failures = FailureBox()
        context.parallelFor(sites.count) { i in
            do { _ = try memo.rows(self.memoKey(sites[i]), { try self.quantizedRows(sites[i], in: g) }) } catch { failures.record(error) }
        }
        if let error = failures.first { throw error }
    }

    func memoKey(_ site: QuantizationSite) -> String {
        "\(site.weight.index)|\(site.group)|\(site.limit)|" + (site.smooth == nil ? "-" : "\(site.node)")
    }

    /// The site's weights (smoothed when it is) quantized with its group and limit.
    func quantizedRows(_ site: QuantizationSite, in g: Graph) throws -> QuantizedRows {
        let w = try g.floats(of: site.weight)
        let k = g.type(of: site.weight).shape[1].fixedValue!
        var q = WeightQuantizer.quantize(scaled(w, k: k, smooth: site.smooth), rows: w.count / k, cols: k, group: site.group, limit: site.limit)
        if settings.f16Scales { q.scales = q.scales.map { floatFromHalfBits(halfBitsFromFloat($0)) } }
        return q
    }

    func groupSize(k: Int) -> Int? {
        let g = settings.group
        if g == 0 { return k }
        return k % g == 0 ? g : nil
    }

    func findSites(_ g: Graph) -> [QuantizationSite] {
        var sites: [QuantizationSite] = []
        let gathered = Set(g.nodes.compactMap { node -> ValueID? in
            if case .gather = node.op { return node.inputs[0] } else { return nil }
        })
        for (i, node) in g.nodes.enumerated() {
            if case .gather = node.op {
                let table = node.inputs[0]
                guard settings.quantizeEmbeddings, g.isConstant(table), g.type(of: table).dtype == .f32,
                      let h = g.type(of: table).shape[1].fixedValue, let group = groupSize(k: h) else { continue }
                sites.append(QuantizationSite(node: i, kind: .embedding, weight: table, group: group))
                continue
            }
            guard let view = LinearView(node, in: g), g.type(of: view.weight).dtype == .f32,
                  let sizes = g.type(of: view.weight).shape.fixedSizes, sizes[1] >= settings.minInputs,
                  let group = groupSize(k: sizes[1]) else { continue }
            let isHead = gathered.contains(view.weight) || node.outputs.contains { g.outputs.contains($0) && g[$0].name == "logits" }
            if isHead && settings.floatLMHead { continue }
            sites.append(QuantizationSite(node: i, kind: isHead ? .lmHead : .linear, weight: view.weight, group: group))
        }
        return sites
    }

    /// Static scale and SmoothQuant factors from activation statistics.
    func calibrate(_ site: inout QuantizationSite, stats: ActivationStatistics, in g: Graph) throws {
        let alpha = Float(settings.smooth)
        var samples = stats.samples
        if alpha > 0 {
            let w = try g.floats(of: site.weight)
            let k = g.type(of: site.weight).shape[1].fixedValue!
            let n = w.count / k
            var wMax = [Float](repeating: 0, count: k)
            for r in 0..<n { for j in 0..<k { wMax[j] = max(wMax[j], abs(w[r * k + j])) } }
            let s = (0..<k).map { j -> Float in
                let a = max(stats.channelMaxAbs[j], 1e-5), b = max(wMax[j], 1e-5)
                let v = powf(a, alpha) / powf(b, 1 - alpha)
                return v.isFinite && v > 0 ? v : 1
            }
            site.smooth = s
            for i in samples.indices { samples[i] /= s[i % k] }
        }
        if mode == .static {
            site.inputScale = WeightQuantizer.activationScale(samples, method: settings.calibrate, percentile: settings.percentile)
        }
    }

    func weightError(_ site: QuantizationSite, in g: Graph) throws -> Double? {
        guard g.constant(site.weight)?.source != nil else { return nil }
        let w = try g.floats(of: site.weight)
        let k = g.type(of: site.weight).shape[1].fixedValue!
        if let memo, !settings.f16Scales {
            let q = try memo.rows(memoKey(site)) { try quantizedRows(site, in: g) }
            return WeightQuantizer.relativeError(scaled(w, k: k, smooth: site.smooth), q, cols: k, group: site.group)
        }
        let q = WeightQuantizer.quantize(scaled(w, k: k, smooth: site.smooth), rows: w.count / k, cols: k, group: site.group, limit: site.limit)
        return WeightQuantizer.relativeError(scaled(w, k: k, smooth: site.smooth), q, cols: k, group: site.group)
    }

    /// w[:, j] · s[j]: the weight side of SmoothQuant.
    func scaled(_ w: [Float], k: Int, smooth: [Float]?) -> [Float] {
        guard let s = smooth else { return w }
        return w.enumerated().map { $0.element * s[$0.offset % k] }
    }

    /// The graph the calibrator measures: converted, then packed as a later `pack` step will
    /// (with 7-bit weights `pack` always follows), since packing changes the activation
    /// quantization to asymmetric u8 — measuring the unpacked form would misstate the error.
    func measured(_ base: Graph, sites: [QuantizationSite]) throws -> Graph {
        var g = try converted(base, sites: sites)
        if let pack = context.passesAfter.first(where: { $0.pass.name == Pass.pack.name }) {
            _ = try Pass.packInt8(&g, packEightBit: try pack.options["eight-bit"] == "u7", memo: memo?.packs)
        } else if sites.contains(where: { $0.limit < 127 }) {
            _ = try Pass.packInt8(&g, packEightBit: false, memo: memo?.packs)
        }
        return g
    }

    /// A copy of `g` with the given sites converted to int8.
    func converted(_ base: Graph, sites: [QuantizationSite]) throws -> Graph {
        var g = base
        var made: [String: (ValueID, ValueID)] = [:]
        let f16Scales = settings.f16Scales
        for site in sites {
            let limit = site.limit
            let w = site.weight
            let sizes = g.type(of: w).shape.fixedSizes!
            let (n, k) = (sizes[0], sizes[1])
            let smooth = site.smooth
            let key = "\(w.index)|\(site.group)|\(limit)|\(smooth.map { $0.count } ?? 0)|\(site.node)"
            let shareKey = smooth == nil ? "\(w.index)|\(site.group)|\(limit)" : key
            let (qID, sID): (ValueID, ValueID)
            if let existing = made[shareKey] {
                (qID, sID) = existing
            } else if let memo {
                let (q, s) = memo.sources(memoKey(site), name: g[w].name) { [self] in try quantizedRows(site, in: base) }
                qID = g.addConstant(g.freshName(g[w].name + ".q8"), TensorType(.i8, Shape(fixed: [n, k])), source: q)
                sID = g.addConstant(g.freshName(g[w].name + ".q8.scales"), TensorType(.f32, Shape(fixed: [n, k / site.group])), source: s)
                made[shareKey] = (qID, sID)
            } else {
                let group = site.group
                let box = QuantizedBox { [self] buffers in
                    let floats = try Graph.floats(buffers[0], dtype: .f32, name: "weight")
                    var q = WeightQuantizer.quantize(scaled(floats, k: k, smooth: smooth), rows: n, cols: k, group: group, limit: limit)
                    if f16Scales { q.scales = q.scales.map { floatFromHalfBits(halfBitsFromFloat($0)) } }
                    return q
                }
                qID = g.addDerivedConstant(g[w].name + ".q8", TensorType(.i8, Shape(fixed: [n, k])), parents: [w],
                                           origin: "int8 of \(g[w].name)", compute: { TensorBuffer(array: try box.get($0).values) })
                sID = g.addDerivedConstant(g[w].name + ".q8.scales", TensorType(.f32, Shape(fixed: [n, k / group])), parents: [w],
                                           origin: "int8 scales of \(g[w].name)", compute: { TensorBuffer(array: try box.get($0).scales) })
                made[shareKey] = (qID, sID)
            }
            let node = g.nodes[site.node]
            switch site.kind {
            case .embedding:
                g.nodes[site.node] = Node(op: .gatherInt8(group: site.group), inputs: [qID, sID, node.inputs[1]], outputs: node.outputs)
            case .linear, .lmHead:
                let view = LinearView(node, in: g)!
                var inputs = [view.x, qID, sID]
                if let b = view.bias { inputs.append(b) }
                if let s = smooth {
                    inputs.append(g.addConstant(g.freshName(g[w].name + ".smooth"), TensorType(.f32, Shape(fixed: [k])),
                                                source: ConstantSource(origin: "SmoothQuant factors", buffer: TensorBuffer(array: s))))
                }
                let attrs = Int8LinearAttributes(group: site.group, activation: view.activation, mode: mode,
                                                 inputScale: mode == .static ? site.inputScale : 0, smoothed: smooth != nil)
                g.nodes[site.node] = Node(op: .linearInt8(attrs), inputs: inputs, outputs: node.outputs)
            }
        }
        g.compact()
        return g
    }
}

/// The int8 weights of the candidate graphs quantize measures, by (weight, group, limit,
/// smoothing): quantized once, and served as the same constant sources (so the packing memo
/// and every candidate model share them). It lives for one run of the pass.
final class QuantizationMemo: @unchecked Sendable {
    private var rows: [String: QuantizedRows] = [:]
    private var sources: [String: (ConstantSource, ConstantSource)] = [:]
    private let lock = PassLock()
    let packs = PackMemo()

    /// The memoized rows for `key`, computed (outside the lock, so keys compute in parallel) when new.
    func rows(_ key: String, _ compute: () throws -> QuantizedRows) throws -> QuantizedRows {
        lock.lock()
        let known = rows[key]
        lock.unlock()
        if let known { return known }
        let q = try compute()
        lock.lock()
        rows[key] = q
        lock.unlock()
        return q
    }

    /// Constant sources of the values and scales for `key`.
    func sources(_ key: String, name: String, _ compute: @escaping () throws -> QuantizedRows) -> (ConstantSource, ConstantSource) {
        lock.lock()
        defer { lock.unlock() }
        if let known = sources[key] { return known }
        let buffers = LazyBuffers { [weak self] in
            guard let self else { throw IngotError(.internal, location: "quantize", "a candidate weight was read after the pass ended") }
            let q = try self.rows(key, compute)
            return (TensorBuffer(array: q.values), TensorBuffer(array: q.scales))
        }
        let made = (ConstantSource(origin: "int8 of \(name)", loader: { try buffers.get().0 }),
                    ConstantSource(origin: "int8 scales of \(name)", loader: { try buffers.get().1 }))
        sources[key] = made
        return made
    }
}

/// A pair of buffers computed on first use and kept.
final class LazyBuffers: @unchecked Sendable {
    private let compute: () throws -> (TensorBuffer, TensorBuffer)
    private var value: (TensorBuffer, TensorBuffer)?
    private let lock = PassLock()

    init(_ compute: @escaping () throws -> (TensorBuffer, TensorBuffer)) { self.compute = compute }

    func get() throws -> (TensorBuffer, TensorBuffer) {
        lock.lock()
        defer { lock.unlock() }
        if let value { return value }
        let v = try compute()
        value = v
        return v
    }
}

/// The first error thrown by any of several parallel tasks.
final class FailureBox: @unchecked Sendable {
    private(set) var first: Error?
    private let lock = PassLock()

    func record(_ error: Error) {
        lock.lock()
        if first == nil { first = error }
        lock.unlock()
    }
}

/// Computes a weight's quantization once for both derived constants (values and scales).
final class QuantizedBox: @unchecked Sendable {
    private let compute: ([TensorBuffer]) throws -> QuantizedRows
    private var cached: QuantizedRows?
    private var served = 0
    private let lock = PassLock()

    init(_ compute: @escaping ([TensorBuffer]) throws -> QuantizedRows) { self.compute = compute }

    func get(_ parents: [TensorBuffer]) throws -> QuantizedRows {
        lock.lock()
        defer { lock.unlock() }
        if let c = cached {
            served += 1
            if served >= 2 { cached = nil; served = 0 }
            return c
        }
        let q = try compute(parents)
        cached = q
        served = 1
        return q
    }
}

/// A pthread mutex (Foundation-free).
final class PassLock: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    init() { pthread_mutex_init(&mutex, nil) }
    deinit { pthread_mutex_destroy(&mutex) }
    func lock() { pthread_mutex_lock(&mutex) }
    func unlock() { pthread_mutex_unlock(&mutex) }
}
