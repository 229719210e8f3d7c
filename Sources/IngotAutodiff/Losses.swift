// Losses: the distillation objectives and their gradients with respect to the student's
// outputs. Encoders: 1 − cosine of sentence embeddings and the mean squared error of hidden
// states over real (unpadded) tokens; language models: KL divergence of next-token
// distributions at a temperature. Each returns (loss, ∂loss/∂student). No optimisation here.

import RealModule

public enum Losses {
    /// mean over rows of (1 − cos(s_r, t_r)); s, t [rows, width].
    public static func cosine<T: TrainingScalar>(student s: [T], teacher t: [T], width w: Int) -> (T, [T]) {
        let rows = s.count / w
        var loss: T = 0
        var g = [T](repeating: 0, count: s.count)
        for r in 0..<rows {
            var dot: T = 0, ss: T = 0, tt: T = 0
            for j in 0..<w {
                dot += s[r * w + j] * t[r * w + j]
                ss += s[r * w + j] * s[r * w + j]
                tt += t[r * w + j] * t[r * w + j]
            }
            let ns = max(ss.squareRoot(), T(1e-12)), nt = max(tt.squareRoot(), T(1e-12))
            let c = dot / (ns * nt)
            loss += 1 - c
            // ∂c/∂s = t/(|s||t|) − c·s/|s|²
            for j in 0..<w { g[r * w + j] = -(t[r * w + j] / (ns * nt) - c * s[r * w + j] / (ns * ns)) / T(rows) }
        }
        return (loss / T(rows), g)
    }

    /// Σ over unmasked tokens of ‖s − t‖² / (tokens · width); s, t [batch, seq, width], mask [batch, seq].
    public static func maskedMSE<T: TrainingScalar>(student s: [T], teacher t: [T], width w: Int, mask: [Int32]) -> (T, [T]) {
        let valid = mask.filter { $0 != 0 }.count
        let scale = 1 / T(max(valid, 1) * w)
        var loss: T = 0
        var g = [T](repeating: 0, count: s.count)
        for (token, m) in mask.enumerated() where m != 0 {
            for j in 0..<w {
                let d = s[token * w + j] - t[token * w + j]
                loss += d * d * scale
                g[token * w + j] = 2 * d * scale
            }
        }
        return (loss, g)
    }

    /// τ² · mean over rows of KL(softmax(t/τ) ‖ softmax(s/τ)); s, t [rows, vocab].
    /// ∂/∂s = τ · (softmax(s/τ) − softmax(t/τ)) / rows.
    public static func kl<T: TrainingScalar>(student s: [T], teacher t: [T], vocab v: Int, temperature tau: T) -> (T, [T]) {
        let rows = s.count / v
        var loss: T = 0
        var g = [T](repeating: 0, count: s.count)
        for r in 0..<rows {
            var ms = -T.infinity, mt = -T.infinity
            for j in 0..<v { ms = max(ms, s[r * v + j] / tau); mt = max(mt, t[r * v + j] / tau) }
            var zs: T = 0, zt: T = 0
            for j in 0..<v { zs += T.exp(s[r * v + j] / tau - ms); zt += T.exp(t[r * v + j] / tau - mt) }
            let lzs = T.log(zs), lzt = T.log(zt)
            var kl: T = 0
            for j in 0..<v {
                let lps = s[r * v + j] / tau - ms - lzs, lpt = t[r * v + j] / tau - mt - lzt
                let pt = T.exp(lpt)
                kl += pt * (lpt - lps)
                g[r * v + j] = tau * (T.exp(lps) - pt) / T(rows)
            }
            loss += kl
        }
        return (tau * tau * loss / T(rows), g)
    }
}
