// LCG: a seeded 64-bit linear congruential generator for deterministic benchmark inputs
// (Knuth's MMIX constants). Not for statistics or anything that needs good randomness.

struct LCG {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    /// Uniform in [-1, 1) from the top 24 bits of the next state.
    mutating func nextSigned() -> Float {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Float(state >> 40) * (2 / Float(1 << 24)) - 1
    }
}
