// SoftmaxFixture: one attention head's score matrix for a 128-token sentence, [128, n] with
// n keys, and a work copy the softmax kernels overwrite. Each timed iteration starts from a
// fresh copy (copied outside the timed region), because repeated in-place softmax flattens
// the rows toward equal values, which changes the cost of libm's exp in the reference twin.
// It does not check the softmax results; the kernel tests do.

struct SoftmaxFixture {
    let rows: Int
    let n: Int
    /// Scores [rows, n], uniform in ±8 (scaled q·k products of a trained head span a few units).
    let scores: UnsafeMutablePointer<Float>
    /// Work copy [rows, n] the kernels normalize in place.
    let work: UnsafeMutablePointer<Float>

    var label: String { "softmax rows\(rows) n\(n)" }

    init(rows: Int, n: Int, seed: UInt64) {
        self.rows = rows
        self.n = n
        var generator = LCG(seed: seed)
        scores = .allocate(capacity: rows * n)
        for i in 0..<rows * n { scores[i] = 8 * generator.nextSigned() }
        work = .allocate(capacity: rows * n)
        work.initialize(from: scores, count: rows * n)
    }

    func restore() {
        work.update(from: scores, count: rows * n)
    }
}
