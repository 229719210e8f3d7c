// Q5_K dequantization against values computed here from the ggml block layout (ggml-common.h
// block_q5_K, dequantize_row_q5_K): two hand-built 256-weight blocks with known sub-block
// scales and mins (6 bits each, including the high bits packed into bytes 0–7 of `scales`)
// and known 5-bit quants (low nibbles in `qs`, fifth bits in `qh`). It does not test Q4_K.
import Foundation
import XCTest
import IngotCore
import IngotTestSupport
@testable import IngotCheckpoint

final class GGUFQ5KTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws { dir = try TempDirectory.make("gguf-q5k") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    /// One Q5_K block as ggml lays it out: d (f16), dmin (f16), scales[12], qh[32], qs[128].
    /// `scales` and `mins`: 8 sub-blocks of 32 weights, 0…63; `quants`: 256 values, 0…31.
    func block(d: Float, dmin: Float, scales: [UInt8], mins: [UInt8], quants: [UInt8]) -> [UInt8] {
        // 12 scale bytes: sub-blocks 0–3 keep scale and min in bytes j and j + 4 (low 6 bits);
        // sub-blocks 4–7 keep their low 4 bits in byte j + 4 (scale low nibble, min high
        // nibble) and their top 2 bits in the top 2 bits of bytes j − 4 (scale) and j (min).
        var packed = [UInt8](repeating: 0, count: 12)
        for j in 0..<4 {
            packed[j] = scales[j]
            packed[j + 4] = mins[j]
        }
        for j in 4..<8 {
            packed[j + 4] = (scales[j] & 0x0F) | ((mins[j] & 0x0F) << 4)
            packed[j - 4] |= (scales[j] >> 4) << 6
            packed[j] |= (mins[j] >> 4) << 6
        }
        // Weights 64g + l (l < 32) use the low nibble of qs[32g + l] and bit 2g of qh[l];
        // weights 64g + 32 + l the high nibble and bit 2g + 1.
        var qh = [UInt8](repeating: 0, count: 32), qs = [UInt8](repeating: 0, count: 128)
        for g in 0..<4 {
            for l in 0..<32 {
                let low = quants[64 * g + l], high = quants[64 * g + 32 + l]
                qs[32 * g + l] = (low & 0x0F) | ((high & 0x0F) << 4)
                if low & 0x10 != 0 { qh[l] |= 1 << (2 * g) }
                if high & 0x10 != 0 { qh[l] |= 1 << (2 * g + 1) }
            }
        }
        return half(d) + half(dmin) + packed + qh + qs
    }

    func testQ5_KValuesOfTwoBlocks() throws {
        // Scales and mins above 15 exercise the high bits; quants cover 0…31 in both halves.
        let scales: [[UInt8]] = [[1, 17, 33, 63, 5, 40, 20, 63], [63, 0, 2, 31, 48, 16, 9, 1]]
        let mins: [[UInt8]] = [[0, 9, 31, 63, 2, 50, 16, 7], [5, 63, 1, 32, 0, 17, 45, 60]]
        let quants: [[UInt8]] = [(0..<256).map { UInt8(($0 * 7 + 3) % 32) }, (0..<256).map { UInt8(31 - $0 % 32) }]
        let d: [Float] = [0.5, 0.125], dmin: [Float] = [0.25, 2]
        var bytes: [UInt8] = []
        var expected: [Float] = []
        for b in 0..<2 {
            bytes += block(d: d[b], dmin: dmin[b], scales: scales[b], mins: mins[b], quants: quants[b])
            for i in 0..<256 {
                let sub = i / 32
                expected.append(d[b] * Float(scales[b][sub]) * Float(quants[b][i]) - dmin[b] * Float(mins[b][sub]))
            }
        }
        XCTAssertEqual(bytes.count, 2 * 176)
        let got = try dequantized(bytes, count: 512)
        XCTAssertEqual(got.count, 512)
        for i in 0..<512 where got[i] != expected[i] {
            XCTFail("weight \(i) (block \(i / 256), sub-block \(i % 256 / 32)): \(got[i]), expected \(expected[i])")
        }
        // Spot values worked by hand. Block 0, weight 0: quant 3, sub-block 0 (scale 1, min 0).
        XCTAssertEqual(got[0], 0.5 * 1 * 3)
        // Block 0, weight 255: quant (255·7 + 3) % 32 = 28, sub-block 7 (scale 63, min 7).
        XCTAssertEqual(got[255], 0.5 * 63 * 28 - 0.25 * 7)
        // Block 1, weight 96 (sub-block 3: scale 31, min 32): quant 31 − 0 = 31, fifth bit set.
        XCTAssertEqual(got[256 + 96], 0.125 * 31 * 31 - 2 * 32)
    }

    func testQ5_KFifthBitAlone() throws {
        // Every low nibble 0, only the fifth bit of weight 0 of each 32-weight half set:
        // those weights are 16 · d · scale − dmin · min, the others −dmin · min.
        var quants = [UInt8](repeating: 0, count: 256)
        for sub in 0..<8 { quants[32 * sub] = 16 }
        let scales: [UInt8] = [1, 2, 3, 4, 5, 6, 7, 8], mins: [UInt8] = [8, 7, 6, 5, 4, 3, 2, 1]
        let got = try dequantized(block(d: 1, dmin: 0.5, scales: scales, mins: mins, quants: quants), count: 256)
        for sub in 0..<8 {
            XCTAssertEqual(got[32 * sub], 16 * Float(scales[sub]) - 0.5 * Float(mins[sub]), "sub-block \(sub)")
            XCTAssertEqual(got[32 * sub + 1], -0.5 * Float(mins[sub]), "sub-block \(sub)")
        }
    }

    func dequantized(_ bytes: [UInt8], count: Int) throws -> [Float] {
        var b = GGUFBuilder()
        b.tensors = [("w", [UInt64(count)], GGMLType.q5_K.rawValue, bytes)]
        let url = dir.appendingPathComponent("q5k.gguf")
        try Data(b.bytes()).write(to: url)
        let f = try GGUFFile(path: url.path)
        return try f.dequantize(f.tensors[0]).toArray(of: Float.self)
    }
}
