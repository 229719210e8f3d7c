// PackedInt8Layout: the weight layout `linear_int8_packed` reads (Formats/ops.md) and the one
// function that produces it from row-major int8 weights. It is arithmetic on arrays: the
// `pack` pass calls it at build time, tests call it to feed the kernels; the runtime only
// reads packed bytes and never repacks.

public enum PackedInt8Layout {
    /// Output columns per panel and inputs per block: one 64-byte block holds 16 columns × 4 inputs.
    public static let panel = 16
    public static let inputBlock = 4
    /// Largest input dimension: keeps Σ q·w (q ≤ 255, |w| ≤ 63) and zero·colsum exact in int32.
    public static let maxInputs = 65536
    /// Activation codes and weight bounds that keep every vpmaddubsw pair sum below 2^15:
    /// input_bits 8 → codes 0...255 with |w| ≤ 63 (2·255·63); input_bits 7 → codes 0...127
    /// with |w| ≤ 127 (2·127·127). The first is for 7-bit weights, the second for 8-bit ones.
    public static func maxWeight(inputBits: Int) -> Int8 { inputBits == 8 ? 63 : 127 }
    public static func inputLevels(inputBits: Int) -> Int32 { inputBits == 8 ? 255 : 127 }
    public static let inputBitsAllowed = [7, 8]

    /// Packed shape [⌈N/16⌉, ⌈K/4⌉, 64] for a weight of N outputs and K inputs.
    public static func shape(outputs n: Int, inputs k: Int) -> [Int] {
        [(n + panel - 1) / panel, (k + inputBlock - 1) / inputBlock, panel * inputBlock]
    }

    /// w[N, K] row-major → (packed bytes, colsums[N]). Byte ((p·⌈K/4⌉ + b)·16 + c)·4 + t holds
    /// w[16p + c, 4b + t], 0 where the row or input is past the end; colsums[n] = Σ_k w[n, k].
    public static func pack(_ w: [Int8], outputs n: Int, inputs k: Int) -> (packed: [Int8], colsums: [Int32]) {
        let s = shape(outputs: n, inputs: k)
        let (panels, blocks) = (s[0], s[1])
        var packed = [Int8](repeating: 0, count: panels * blocks * 64)
        var colsums = [Int32](repeating: 0, count: n)
        for row in 0..<n {
            let (p, c) = (row / panel, row % panel)
            var sum: Int32 = 0
            for col in 0..<k {
                let v = w[row * k + col]
                sum += Int32(v)
                let (b, t) = (col / inputBlock, col % inputBlock)
                packed[((p * blocks + b) * panel + c) * inputBlock + t] = v
            }
            colsums[row] = sum
        }
        return (packed, colsums)
    }

    /// colsums[n] = Σ_k w[n, k] of row-major w[N, K]: what `pack` returns beside the bytes.
    public static func rowSums(_ w: [Int8], outputs n: Int, inputs k: Int) -> [Int32] {
        (0..<n).map { row in w[row * k..<(row + 1) * k].reduce(Int32(0)) { $0 + Int32($1) } }
    }

    /// The inverse of `pack` for the first n rows and k inputs (tests and `ingot inspect`).
    public static func unpack(_ packed: [Int8], outputs n: Int, inputs k: Int) -> [Int8] {
        let blocks = shape(outputs: n, inputs: k)[1]
        var w = [Int8](repeating: 0, count: n * k)
        for row in 0..<n {
            for col in 0..<k {
                w[row * k + col] = packed[(((row / panel) * blocks + col / inputBlock) * panel + row % panel) * inputBlock + col % inputBlock]
            }
        }
        return w
    }
}
