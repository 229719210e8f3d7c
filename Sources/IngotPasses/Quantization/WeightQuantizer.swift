// WeightQuantizer: symmetric int8 quantization of weight rows at build time — per output
// channel (one scale per row) or block-wise (one scale per `group` consecutive inputs) —
// plus the activation-range estimators static mode calibrates with (min-max, percentile,
// MSE-optimal clipping). Pure arithmetic on arrays; it touches no graph.

/// Quantized rows: q[n, k] in [-limit, limit] and scales[n, k/group] with w ≈ q · scale.
public struct QuantizedRows: Sendable {
    public var values: [Int8]
    public var scales: [Float]
}

public enum WeightQuantizer {
    /// scale = max|w| / limit per (row, group); q = round-half-even(w / scale); an all-zero group
    /// gets scale 0. limit is 127 (8-bit) or 63 (7-bit, what the packed kernel takes).
    public static func quantize(_ w: [Float], rows n: Int, cols k: Int, group: Int, limit: Float = 127) -> QuantizedRows {
        let groups = k / group
        var q = [Int8](repeating: 0, count: n * k)
        var scales = [Float](repeating: 0, count: n * groups)
        for r in 0..<n {
            for g in 0..<groups {
                let base = r * k + g * group
                var m: Float = 0
                for j in 0..<group { m = max(m, abs(w[base + j])) }
                let scale = m / limit
                scales[r * groups + g] = scale
                guard scale > 0 else { continue }
                let inv = 1 / scale
                for j in 0..<group {
                    q[base + j] = Int8(max(-limit, min(limit, (w[base + j] * inv).rounded(.toNearestOrEven))))
                }
            }
        }
        return QuantizedRows(values: q, scales: scales)
    }

    /// ‖w − dequantized‖₂ / ‖w‖₂.
    public static func relativeError(_ w: [Float], _ q: QuantizedRows, cols k: Int, group: Int) -> Double {
        let groups = k / group
        var num = 0.0, den = 0.0
        for i in w.indices {
            let r = i / k, g = (i % k) / group
            let d = Double(w[i]) - Double(q.values[i]) * Double(q.scales[r * groups + g])
            num += d * d
            den += Double(w[i]) * Double(w[i])
        }
        return den > 0 ? (num / den).squareRoot() : 0
    }

    /// Static activation scale from samples of |x|: the clip value divided by 127.
    public static func activationScale(_ samples: [Float], method: String, percentile: Double) -> Float {
        let mags = samples.map { abs($0) }
        guard let maxAbs = mags.max(), maxAbs > 0 else { return 1 }
        switch method {
        case "percentile":
            let sorted = mags.sorted()
            let rank = min(sorted.count - 1, max(0, Int((percentile / 100 * Double(sorted.count)).rounded(.up)) - 1))
            return max(sorted[rank], maxAbs * 1e-3) / 127
        case "mse":
            // Clip values from max|x| down to 5% of it; keep the one with the least squared error.
            var best = (Double.infinity, maxAbs)
            for step in 0..<40 {
                let clip = maxAbs * (1 - Float(step) * 0.95 / 39)
                let scale = clip / 127
                var err = 0.0
                for x in samples {
                    let q = max(-127, min(127, (x / scale).rounded(.toNearestOrEven)))
                    let d = Double(x - q * scale)
                    err += d * d
                }
                if err < best.0 { best = (err, clip) }
            }
            return best.1 / 127
        default:
            return maxAbs / 127
        }
    }
}
