// reconstruct: layer-wise reconstruction after pruning — refits the weights each pruned
// linear layer kept so that, on calibration activations, its outputs match the unpruned
// teacher's: per output row j with kept inputs S_j,
//
//     minimize ‖X_s[:, S_j] · v − X_t · w_t,j‖² + λ‖v − w_j[S_j]‖²
//     ⇒ (G[S,S] + λI) v = (X_sᵀ X_t · w_t,j)[S] + λ w_j[S],   G = X_sᵀ X_s
//
// solved by Cholesky (LAPACK sposv in OpenBLAS). X_s are the pruned model's inputs to the
// layer, X_t the teacher's; the zero pattern is kept. λ = damping · mean(diag G).

import CBLAS
import IngotCore
import IngotIR

extension Pass {
    /// Runs right after `prune` (its teacher is the graph before prune). Needs calibration.
    ///
    ///     %y = linear(%x, @w.pruned, @b)   →   %y = linear(%x, @w.pruned.refit, @b)
    public static let reconstruct = Pass(
        name: "reconstruct", summary: "refit pruned layers' kept weights to the teacher's outputs (least squares)",
        options: [
            PassOption("damping", .number(1e-6...1), default: "0.01", "ridge λ as a fraction of the Gram matrix's mean diagonal"),
            PassOption("rows", .integer(64...1_000_000), default: "4096", "calibration rows per layer"),
        ],
        requires: ["prune"],
        needsCalibration: { _ in true },
        body: { g, options, context in try Reconstructor(options: options, context: context).run(&g) })
}

public struct LayerRefit: Sendable {
    public var weights: [Float]
    /// ‖X_s Wᵀ − X_t W_tᵀ‖ / ‖X_t W_tᵀ‖ before and after.
    public var errorBefore: Double
    public var errorAfter: Double
}

public struct Reconstructor {
    let options: PassOptions
    let context: PassContext

    func run(_ g: inout Graph) throws -> PassRecord {
        guard let calibrator = context.calibrator else {
            throw IngotError(.invalidArgument, location: "pass 'reconstruct'", "needs calibration data (--calibration FILE)")
        }
        guard let teacher = context.graphsBefore["prune"] else {
            throw IngotError(.invalidArgument, location: "pass 'reconstruct'", "needs 'prune' earlier in the pipeline")
        }
        // Pruned layers and their teacher counterparts, matched by the weight's original name.
        var pairs: [(node: Int, view: LinearView, teacherView: LinearView)] = []
        for (i, node) in g.nodes.enumerated() {
            guard let view = LinearView(node, in: g), g[view.weight].name.hasSuffix(".pruned") else { continue }
            let original = String(g[view.weight].name.dropLast(".pruned".count))
            guard let tw = teacher.value(named: original),
                  let tnode = teacher.nodes.first(where: { n in LinearView(n, in: teacher).map { $0.weight == tw } ?? false }),
                  let tview = LinearView(tnode, in: teacher) else { continue }
            pairs.append((i, view, tview))
        }
        guard !pairs.isEmpty else {
            throw IngotError(.invalidArgument, location: "pass 'reconstruct'", "no pruned linear layers to refit (prune=structured is refit by distill)")
        }
        let maxRows = try options.int("rows")
        let damping = Float(try options.double("damping"))
        let teacherRows = try calibrator.rows(of: Array(Set(pairs.map(\.teacherView.x))), in: teacher, maxRows: maxRows)
        var records: [LayerRecord] = []
        var before = 0.0, after = 0.0
        // In program order, one group of layers sharing an input at a time: each group sees
        // the inputs produced by the layers already refit before it.
        var done: Set<Int> = []
        for pair in pairs where !done.contains(pair.node) {
            let group = pairs.filter { $0.view.x == pair.view.x && !done.contains($0.node) }
            let xs = try calibrator.rows(of: [pair.view.x], in: g, maxRows: maxRows)[pair.view.x] ?? []
            for member in group {
                done.insert(member.node)
                context.log("reconstruct \(g[member.view.weight].name)")
                guard let xt = teacherRows[member.teacherView.x], !xs.isEmpty else { continue }
                let w = try g.floats(of: member.view.weight), wt = try teacher.floats(of: member.teacherView.weight)
                let k = g.type(of: member.view.weight).shape[1].fixedValue!
                let refit = try Reconstructor.refit(pruned: w, teacher: wt, xs: xs, xt: xt, k: k, damping: damping)
                before += refit.errorBefore
                after += refit.errorAfter
                let name = g[member.view.weight].name + ".refit"
                let c = g.addConstant(g.freshName(name), g.type(of: member.view.weight),
                                      source: ConstantSource(origin: "least-squares refit of \(g[member.view.weight].name)",
                                                             buffer: TensorBuffer(array: refit.weights)))
                g.nodes[member.node].inputs[1] = c
                records.append(LayerRecord(name: name, kind: "linear", dtype: "f32", quantError: refit.errorAfter,
                                           sparsity: Double(refit.weights.reduce(0) { $0 + ($1 == 0 ? 1 : 0) }) / Double(refit.weights.count)))
            }
        }
        g.compact()
        return PassRecord(name: "reconstruct", stats: [
            ("layers_refit", Double(records.count)),
            ("mean_output_error_before", before / Double(max(records.count, 1))),
            ("mean_output_error_after", after / Double(max(records.count, 1))),
        ], layers: records)
    }

    /// w, wt: [n, k]; xs, xt: [rows, k] (the same calibration rows through student and teacher).
    public static func refit(pruned w: [Float], teacher wt: [Float], xs: [Float], xt: [Float], k: Int, damping: Float) throws -> LayerRefit {
        let n = w.count / k, rows = min(xs.count, xt.count) / k
        // G = X_sᵀ X_s [k, k]; C = X_sᵀ X_t [k, k]; R = C · W_tᵀ [k, n].
        var gram = [Float](repeating: 0, count: k * k), cross = [Float](repeating: 0, count: k * k)
        var r = [Float](repeating: 0, count: k * n)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(k), Int32(k), Int32(rows), 1, xs, Int32(k), xs, Int32(k), 0, &gram, Int32(k))
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(k), Int32(k), Int32(rows), 1, xs, Int32(k), xt, Int32(k), 0, &cross, Int32(k))
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(k), Int32(n), Int32(k), 1, cross, Int32(k), wt, Int32(k), 0, &r, Int32(n))
        var meanDiag: Float = 0
        for i in 0..<k { meanDiag += gram[i * k + i] }
        let lambda = max(damping * meanDiag / Float(k), 1e-8)
        var out = w
        for j in 0..<n {
            let support = (0..<k).filter { w[j * k + $0] != 0 }
            let s = support.count
            guard s > 0 else { continue }
            var a = [Float](repeating: 0, count: s * s), b = [Float](repeating: 0, count: s)
            for (p, ip) in support.enumerated() {
                for (q, iq) in support.enumerated() { a[p * s + q] = gram[ip * k + iq] }
                a[p * s + p] += lambda
                b[p] = r[ip * n + j] + lambda * w[j * k + ip]
            }
            var info: Int32 = 0, nn = Int32(s), one: Int32 = 1, lda = Int32(s)
            var uplo = Int8(UInt8(ascii: "U"))
            sposv_(&uplo, &nn, &one, &a, &lda, &b, &lda, &info)
            guard info == 0 else { continue } // not positive definite: keep the pruned row
            for (p, ip) in support.enumerated() { out[j * k + ip] = b[p] }
        }
        func error(_ weights: [Float]) -> Double {
            var y = [Float](repeating: 0, count: rows * n), t = y
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(n), Int32(k), 1, xs, Int32(k), weights, Int32(k), 0, &y, Int32(n))
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(n), Int32(k), 1, xt, Int32(k), wt, Int32(k), 0, &t, Int32(n))
            var num = 0.0, den = 0.0
            for i in y.indices { let d = Double(y[i] - t[i]); num += d * d; den += Double(t[i]) * Double(t[i]) }
            return den > 0 ? (num / den).squareRoot() : 0
        }
        return LayerRefit(weights: out, errorBefore: error(w), errorAfter: error(out))
    }
}
