// Core types: checksums, half-precision conversion, bounds-checked reads.
import XCTest
@testable import IngotCore

final class XXH64Tests: XCTestCase {
    func testPublishedVectors() {
        XCTAssertEqual(XXH64.hash([UInt8]()), 0xEF46_DB37_51D8_E999)
        XCTAssertEqual(XXH64.hash(Array("a".utf8)), 0xD24E_C4F1_A98C_6E5B)
        XCTAssertEqual(XXH64.hash(Array("abc".utf8)), 0x44BC_2CF5_AD77_0999)
        XCTAssertEqual(XXH64.hash(Array("Nobody inspects the spammish repetition".utf8)), 0xFBCE_A83C_8A37_8BF1)
    }

    func testStreamingEqualsOneShot() {
        var rng = SystemRandomNumberGenerator()
        let data = (0..<1000).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let whole = XXH64.hash(data)
        for split in [0, 1, 7, 31, 32, 33, 64, 500, 999, 1000] {
            var s = XXH64()
            s.update(Array(data[..<split]))
            s.update(Array(data[split...]))
            XCTAssertEqual(s.finalize(), whole, "split at \(split)")
        }
    }
}

final class HalfTests: XCTestCase {
    func testRoundTripAllHalves() {
        for bits in UInt16.min...UInt16.max {
            let f = floatFromHalfBits(bits)
            if f.isNaN { continue }
            XCTAssertEqual(halfBitsFromFloat(f), bits, "bits \(bits)")
            XCTAssertEqual(f, Float(Float16(bitPattern: bits)))
        }
    }

    func testRoundingMatchesFloat16() {
        for f: Float in [0.1, -3.14159, 65504, 65520, 1e-8, 6e-5, -2.5e-7, 1e10] {
            XCTAssertEqual(halfBitsFromFloat(f), Float16(f).bitPattern, "\(f)")
        }
    }

    func testBFloat16() {
        XCTAssertEqual(floatFromBFloat16Bits(bfloat16BitsFromFloat(1.0)), 1.0)
        XCTAssertEqual(bfloat16BitsFromFloat(1.00390625), 0x3F80) // ties to even
        XCTAssertEqual(floatFromBFloat16Bits(0xC040), -3.0)
    }
}

final class ByteReaderTests: XCTestCase {
    func testTruncationNamesFieldAndOffsets() throws {
        let bytes: [UInt8] = [1, 0, 0, 0, 2, 0]
        try bytes.withUnsafeBytes { raw in
            var r = ByteReader(raw, file: "x.bin")
            XCTAssertEqual(try r.u32("header.version"), 1)
            XCTAssertThrowsError(try r.u32("header.count")) { error in
                let e = error as! IngotError
                XCTAssertEqual(e.kind, .format)
                XCTAssertEqual(e.description, "x.bin: header.count: truncated: needs 4 bytes at offset 4, only 2 left (file size 6)")
            }
        }
    }

    func testCountLimit() throws {
        var w = ByteWriter()
        w.u64(1 << 40)
        try w.bytes.withUnsafeBytes { raw in
            var r = ByteReader(raw)
            XCTAssertThrowsError(try r.count64("tensor_count", max: 1_000_000)) { error in
                XCTAssertEqual((error as! IngotError).description, "tensor_count: value 1099511627776, expected at most 1000000")
            }
        }
    }

    func testShapeProductOverflow() {
        XCTAssertNil(Shape.checkedProduct([1 << 40, 1 << 40]))
        XCTAssertEqual(Shape(fixed: [2, 3, 4]).elementCount, 24)
        XCTAssertEqual(Shape(["batch", "seq", 384]).description, "[batch, seq, 384]")
        XCTAssertEqual(Shape(["batch", 384]).resolved(["batch": 3]), [3, 384])
    }
}

final class TensorBufferTests: XCTestCase {
    func testImpossibleAllocationThrowsInsteadOfTrapping() {
        XCTAssertThrowsError(try TensorBuffer(uninitializedByteCount: Int.max / 2))
        XCTAssertThrowsError(try TensorBuffer(uninitializedByteCount: -1))
        XCTAssertEqual(try TensorBuffer(uninitializedByteCount: 100).byteCount, 100)
    }
}
