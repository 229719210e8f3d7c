// Optimizer: AdamW (decoupled weight decay), the learning-rate schedule (linear warm-up,
// then cosine, linear or constant) and global-norm gradient clipping. Float only; the
// state is what a checkpoint saves. It does not choose which tensors train.

import RealModule

public struct AdamW: Sendable {
    public var beta1: Float = 0.9
    public var beta2: Float = 0.999
    public var epsilon: Float = 1e-8
    public var weightDecay: Float
    /// First and second moments by parameter (value index).
    public var m: [Int: [Float]] = [:]
    public var v: [Int: [Float]] = [:]
    /// Updates applied so far.
    public var step: Int = 0

    public init(weightDecay: Float) { self.weightDecay = weightDecay }

    /// p ← p − lr · (m̂ / (√v̂ + ε) + λ·p); decay only on `decayed` (matrices, not biases or norms).
    public mutating func apply(to params: inout [Int: [Float]], gradients: [Int: [Float]], learningRate lr: Float, decayed: Set<Int>) {
        step += 1
        let c1 = 1 - Float.pow(beta1, step), c2 = 1 - Float.pow(beta2, step)
        for (id, g) in gradients {
            guard var p = params[id] else { continue }
            var mi = m[id] ?? [Float](repeating: 0, count: g.count)
            var vi = v[id] ?? [Float](repeating: 0, count: g.count)
            let decay = decayed.contains(id) ? weightDecay : 0
            for i in g.indices {
                mi[i] = beta1 * mi[i] + (1 - beta1) * g[i]
                vi[i] = beta2 * vi[i] + (1 - beta2) * g[i] * g[i]
                p[i] -= lr * ((mi[i] / c1) / ((vi[i] / c2).squareRoot() + epsilon) + decay * p[i])
            }
            m[id] = mi
            v[id] = vi
            params[id] = p
        }
    }
}

public struct LearningRateSchedule: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable { case cosine, linear, constant }
    public var kind: Kind
    public var peak: Float
    public var warmup: Int
    public var total: Int

    public init(kind: Kind, peak: Float, warmup: Int, total: Int) {
        self.kind = kind
        self.peak = peak
        self.warmup = warmup
        self.total = total
    }

    /// The rate of update `step` (0-based): linear warm-up to the peak, then the decay to 0 at `total`.
    public func rate(at step: Int) -> Float {
        if step < warmup { return peak * Float(step + 1) / Float(warmup) }
        let span = max(total - warmup, 1)
        let progress = min(Float(step - warmup) / Float(span), 1)
        switch kind {
        case .constant: return peak
        case .linear: return peak * (1 - progress)
        case .cosine: return peak * (1 + Float.cos(Float.pi * progress)) / 2
        }
    }
}

/// Scales all gradients by min(1, maxNorm / ‖g‖₂); returns the norm before clipping.
@discardableResult
public func clipGlobalNorm(_ gradients: inout [Int: [Float]], maxNorm: Float) -> Float {
    var ss: Double = 0
    for g in gradients.values { for x in g { ss += Double(x) * Double(x) } }
    let norm = Float(ss.squareRoot())
    guard maxNorm > 0, norm > maxNorm else { return norm }
    let scale = maxNorm / (norm + 1e-6)
    for key in Array(gradients.keys) { gradients[key] = gradients[key]!.map { $0 * scale } }
    return norm
}
