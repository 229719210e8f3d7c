// The .ingot format: round trips, determinism, forward compatibility, a corruption corpus
// (every byte flip, truncations, lying fields) and crash safety of the writer.
import Foundation
import XCTest
import IngotCore
import IngotTestSupport
@testable import IngotArtifact

struct SampleTensor {
    var name: String
    var dtype: DType
    var shape: [Int]
    var bytes: [UInt8]
}

func sampleTensors(seed: UInt64 = 1) -> [SampleTensor] {
    var state = seed
    func next() -> UInt8 {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return UInt8(truncatingIfNeeded: state >> 33)
    }
    let incompressible = (0..<(64 * 129 * 4)).map { _ in next() }
    let sparse = (0..<(8192 * 4)).map { i in i % 16 == 0 ? next() : 0 }
    return [
        SampleTensor(name: "dense", dtype: .f32, shape: [64, 129], bytes: incompressible),
        SampleTensor(name: "sparse", dtype: .f32, shape: [8192], bytes: sparse),
        SampleTensor(name: "empty", dtype: .f32, shape: [0, 3], bytes: []),
        SampleTensor(name: "scalar", dtype: .i32, shape: [], bytes: [1, 2, 3, 4]),
        SampleTensor(name: "half", dtype: .f16, shape: [3, 5], bytes: (0..<30).map { _ in next() }),
        SampleTensor(name: "bytes.i8", dtype: .i8, shape: [7], bytes: [1, 255, 3, 4, 5, 6, 7]),
    ]
}

@discardableResult
func writeSample(_ path: String, options: ArtifactWriteOptions = .init(), extraSections: [(ArtifactSectionKind, Bool)] = []) throws -> ArtifactSummary {
    let w = try ArtifactWriter(path: path, options: options)
    for t in sampleTensors() {
        try t.bytes.withUnsafeBytes { try w.addTensor(name: t.name, dtype: t.dtype, shape: t.shape, bytes: $0) }
    }
    try w.addSection(.graph, payload: Array("graph payload".utf8), required: true)
    try w.addSection(.metadata, payload: Array(String(repeating: "{\"k\": 1}", count: 50).utf8), required: false)
    for (kind, required) in extraSections {
        try w.addSection(kind, payload: [1, 2, 3], required: required)
    }
    return try w.commit()
}

final class ArtifactRoundTripTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws { dir = try TempDirectory.make("artifact") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func testEveryTensorComesBackBitIdentical() throws {
        let path = dir.appendingPathComponent("a.ingot").path
        let summary = try writeSample(path)
        XCTAssertEqual(summary.tensorCount, 6)
        let r = try ArtifactReader(path: path, verify: .full)
        XCTAssertEqual(r.tensors.map(\.name), sampleTensors().map(\.name))
        for t in sampleTensors() {
            let info = try XCTUnwrap(r.tensorInfo(t.name))
            XCTAssertEqual(info.shape, t.shape)
            XCTAssertEqual(info.dtype, t.dtype)
            let buffer = try r.tensor(t.name)
            XCTAssertTrue(buffer.byteArray == t.bytes, t.name)
            XCTAssertEqual(Int(bitPattern: buffer.raw.baseAddress) % 64, 0, "\(t.name) is 64-byte aligned")
        }
        XCTAssertEqual(try r.payload(.graph), Array("graph payload".utf8))
        XCTAssertNil(try r.payload(.tokenizer))
    }

    func testRawTensorsAreZeroCopyAndSparseOnesCompressed() throws {
        let path = dir.appendingPathComponent("a.ingot").path
        try writeSample(path)
        let r = try ArtifactReader(path: path)
        XCTAssertEqual(r.tensorInfo("dense")?.codec, .raw, "random bytes do not compress")
        XCTAssertEqual(r.tensorInfo("sparse")?.codec, .zstd, "15/16 zeros compress")
        let dense = try r.tensor("dense")
        let mapped = r.file.bytes
        XCTAssertTrue(dense.raw.baseAddress! >= mapped.baseAddress! && dense.raw.baseAddress! < mapped.baseAddress! + mapped.count,
                      "a raw tensor points into the mapping")
    }

    func testCompressionOptions() throws {
        var never = ArtifactWriteOptions()
        never.compressTensors = .never
        var always = ArtifactWriteOptions()
        always.compressTensors = .always
        let a = dir.appendingPathComponent("never.ingot").path, b = dir.appendingPathComponent("always.ingot").path
        try writeSample(a, options: never)
        try writeSample(b, options: always)
        XCTAssertTrue(try ArtifactReader(path: a).tensors.allSatisfy { !$0.compressed })
        XCTAssertEqual(try ArtifactReader(path: b).tensors.filter { $0.decodedSize > 0 }.map(\.codec), [.zstd, .zstd, .zstd, .zstd, .zstd])
        XCTAssertNoThrow(try ArtifactReader(path: b, verify: .full))
    }

    func testTwoWritesAreByteIdentical() throws {
        let a = dir.appendingPathComponent("one.ingot"), b = dir.appendingPathComponent("two.ingot")
        try writeSample(a.path)
        try writeSample(b.path)
        XCTAssertEqual(try Data(contentsOf: a), try Data(contentsOf: b))
    }

    func testUnknownOptionalSectionIsSkippedUnknownRequiredIsRefused() throws {
        let ok = dir.appendingPathComponent("optional.ingot").path
        try writeSample(ok, extraSections: [(ArtifactSectionKind("XTRA"), false)])
        let r = try ArtifactReader(path: ok, verify: .full)
        XCTAssertEqual(r.sections.map(\.kind.description), ["TDAT", "TIDX", "GRPH", "META", "XTRA"])
        let bad = dir.appendingPathComponent("required.ingot").path
        try writeSample(bad, extraSections: [(ArtifactSectionKind("XTRA"), true)])
        XCTAssertThrowsError(try ArtifactReader(path: bad)) { error in
            let e = error as! IngotError
            XCTAssertEqual(e.kind, .unsupported)
            XCTAssertEqual(e.location, "section XTRA")
        }
    }

    func testHigherMajorVersionIsRefusedNamingBoth() throws {
        let path = dir.appendingPathComponent("v2.ingot").path
        try writeSample(path)
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        bytes[8] = 2
        bytes[10] = 0
        let checksum = XXH64.hash(Array(bytes[0..<56]))
        withUnsafeBytes(of: checksum.littleEndian) { for i in 0..<8 { bytes[56 + i] = $0[i] } }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try ArtifactReader(path: path)) { error in
            XCTAssertEqual((error as! IngotError).message, "format version 2.0, this reader reads 1.x; rebuild the artifact or upgrade ingot")
        }
    }

    func testWriterRejectsBadTensors() throws {
        let w = try ArtifactWriter(path: dir.appendingPathComponent("bad.ingot").path)
        XCTAssertThrowsError(try [UInt8](repeating: 0, count: 12).withUnsafeBytes { try w.addTensor(name: "x", dtype: .f32, shape: [2, 2], bytes: $0) }) { error in
            XCTAssertEqual((error as! IngotError).message, "12 bytes for shape [2, 2] of f32")
        }
        try [UInt8](repeating: 0, count: 4).withUnsafeBytes { try w.addTensor(name: "y", dtype: .f32, shape: [1], bytes: $0) }
        XCTAssertThrowsError(try [UInt8](repeating: 0, count: 4).withUnsafeBytes { try w.addTensor(name: "y", dtype: .f32, shape: [1], bytes: $0) })
        w.abort()
    }
}

final class ArtifactCorruptionTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws { dir = try TempDirectory.make("corrupt") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    /// Reads everything a runtime would read; throws on any detected problem.
    func readAll(_ path: String, _ verification: ArtifactVerification) throws {
        let r = try ArtifactReader(path: path, verify: verification)
        for s in r.sections where s.kind != .tensorData { _ = try r.payload(s.kind) }
        for t in r.tensors { _ = try r.tensor(t.name) }
    }

    func testEverySingleByteFlipIsDetected() throws {
        let path = dir.appendingPathComponent("x.ingot").path
        var small = ArtifactWriteOptions()
        small.compressTensors = .always
        let w = try ArtifactWriter(path: path, options: small)
        try [UInt8](repeating: 7, count: 256).withUnsafeBytes { try w.addTensor(name: "t", dtype: .f32, shape: [64], bytes: $0) }
        try w.addSection(.graph, payload: Array("g".utf8), required: true)
        try w.commit()
        let original = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let corrupt = dir.appendingPathComponent("c.ingot")
        var undetectedUnderStructure = 0
        for i in 0..<original.count {
            var bytes = original
            bytes[i] ^= 0x5A
            try Data(bytes).write(to: corrupt)
            XCTAssertThrowsError(try readAll(corrupt.path, .full), "flip at byte \(i) of \(original.count) not detected")
            if (try? readAll(corrupt.path, .structure)) != nil { undetectedUnderStructure += 1 }
        }
        // Without the digest only alignment padding can change unnoticed.
        XCTAssertLessThan(undetectedUnderStructure, original.count / 2)
    }

    func testTruncationAtManyLengths() throws {
        let path = dir.appendingPathComponent("x.ingot").path
        try writeSample(path)
        let original = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let corrupt = dir.appendingPathComponent("t.ingot")
        for n in Array(0..<80) + stride(from: 80, to: original.count, by: 97).map({ $0 }) + [original.count - 1] {
            try Data(original[0..<n]).write(to: corrupt)
            XCTAssertThrowsError(try ArtifactReader(path: corrupt.path), "length \(n)") { error in
                XCTAssertTrue([.format, .checksum].contains((error as! IngotError).kind))
            }
        }
    }

    func testLyingSectionTableIsNamed() throws {
        let path = dir.appendingPathComponent("x.ingot").path
        try writeSample(path)
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let tableOffset = Int(bytes[24..<32].withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        // Second entry (TIDX): stored_size → huge; fix the header so only the lie remains.
        let entry = tableOffset + 56
        withUnsafeBytes(of: UInt64(1 << 40).littleEndian) { for i in 0..<8 { bytes[entry + 24 + i] = $0[i] } }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try ArtifactReader(path: path)) { error in
            XCTAssertEqual((error as! IngotError).location, "section TIDX offset/stored_size")
        }
    }

    /// Issue 14, crash 1: section_table_offset = 0xFFFFFFFFFFFFFFC0 with the header checksum
    /// recomputed made `offset + table size` overflow (SIGILL in every command).
    func testSectionTableOffsetNear2To64IsAnErrorNotATrap() throws {
        let path = dir.appendingPathComponent("x.ingot").path
        try writeSample(path)
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        withUnsafeBytes(of: UInt64(0xFFFF_FFFF_FFFF_FFC0).littleEndian) { for i in 0..<8 { bytes[24 + i] = $0[i] } }
        let checksum = bytes.withUnsafeBytes { XXH64.hash(UnsafeRawBufferPointer(rebasing: $0[0..<56])) }
        withUnsafeBytes(of: checksum.littleEndian) { for i in 0..<8 { bytes[56 + i] = $0[i] } }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try ArtifactReader(path: path)) { error in
            let e = error as! IngotError
            XCTAssertEqual(e.kind, .format)
            XCTAssertEqual(e.location, "header.section_table_offset")
            XCTAssertTrue(e.message.contains("18446744073709551552"), e.message)
        }
    }

    func testNotAnArtifact() throws {
        let path = dir.appendingPathComponent("x.ingot")
        try Data("hello, world — not an artifact at all, just text that is long enough for a header........".utf8).write(to: path)
        XCTAssertThrowsError(try ArtifactReader(path: path.path)) { error in
            XCTAssertEqual((error as! IngotError).location, "header.magic")
        }
    }
}

final class ArtifactCrashSafetyTests: XCTestCase {
    func testAbandonedWriterLeavesNothingAndKeepsThePreviousFile() throws {
        let dir = try TempDirectory.make("crash")
        let path = dir.appendingPathComponent("model.ingot").path
        try writeSample(path)
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        do {
            let w = try ArtifactWriter(path: path)
            try [UInt8](repeating: 1, count: 1 << 16).withUnsafeBytes { try w.addTensor(name: "big", dtype: .u8, shape: [1 << 16], bytes: $0) }
            XCTAssertTrue(FileManager.default.fileExists(atPath: w.temporaryPath))
            // Dropped without commit, as when a build fails midway.
        }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), before)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["model.ingot"])
    }

    func testFailedCommitRemovesTheTemporaryFile() throws {
        let dir = try TempDirectory.make("crash")
        let w = try ArtifactWriter(path: dir.appendingPathComponent("m.ingot").path)
        XCTAssertThrowsError(try w.addSection(.tensorIndex, payload: [], required: true))
        w.abort()
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), [])
    }

    func testUnwritableDestinationIsAnIOError() {
        XCTAssertThrowsError(try ArtifactWriter(path: "/nonexistent-dir/m.ingot")) { error in
            XCTAssertEqual((error as! IngotError).kind, .output)
        }
    }
}

/// Issue 14: a section table edited with recomputed checksums must not size a buffer from
/// its untrusted numbers; memory follows the bytes a frame actually holds.
final class ArtifactSectionSizeTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws { dir = try TempDirectory.make("section-size") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    /// The sample artifact's bytes and the offset of the section table entry of `kind`.
    func sample() throws -> (bytes: [UInt8], entry: (String) -> Int) {
        let path = dir.appendingPathComponent("x.ingot").path
        try writeSample(path)
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let tableOffset = Int(bytes[24..<32].withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        let count = Int(bytes[32..<36].withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) })
        return (bytes, { kind in
            (0..<count).map { tableOffset + 56 * $0 }.first { bytes[$0..<$0 + 4].elementsEqual(kind.utf8) }!
        })
    }

    func put(_ value: UInt64, at offset: Int, in bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { for i in 0..<8 { bytes[offset + i] = $0[i] } }
    }

    /// Recomputes the digest (which covers the section table) and the header checksum, as
    /// someone editing the file on purpose would.
    func resign(_ bytes: inout [UInt8]) {
        put(bytes.withUnsafeBytes { XXH64.hash(UnsafeRawBufferPointer(rebasing: $0[64...])) }, at: 40, in: &bytes)
        put(bytes.withUnsafeBytes { XXH64.hash(UnsafeRawBufferPointer(rebasing: $0[0..<56])) }, at: 56, in: &bytes)
    }

    func write(_ bytes: [UInt8], _ name: String) throws -> String {
        let url = dir.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url.path
    }

    func testDecodedSizeOf2To30IsRefusedFromTheTableBeforeAnySectionIsRead() throws {
        for kind in ["TIDX", "GRPH"] {
            var (bytes, entry) = try sample()
            put(1 << 30, at: entry(kind) + 32, in: &bytes)
            resign(&bytes)
            let path = try write(bytes, "\(kind).ingot")
            for verification in [ArtifactVerification.structure, .full] {
                XCTAssertThrowsError(try ArtifactReader(path: path, verify: verification)) { error in
                    let e = error as! IngotError
                    XCTAssertEqual(e.kind.exitCode, 65)
                    XCTAssertEqual(e.description, "\(path): section \(kind).decoded_size: value 1073741824, expected at most 67108864 (the largest section other than TDAT)")
                }
            }
        }
    }

    func testFrameSizeDisagreeingWithTheTableIsRefusedBeforeAllocating() throws {
        var (bytes, entry) = try sample()
        let at = entry("TIDX")
        let stored = bytes[(at + 24)..<(at + 32)].withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
        let declared = bytes[(at + 32)..<(at + 40)].withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
        // Within the section cap and the zstd expansion bound, so only the frame can tell.
        let claimed = stored * 16_384
        put(claimed, at: at + 32, in: &bytes)
        resign(&bytes)
        let path = try write(bytes, "frame.ingot")
        XCTAssertThrowsError(try ArtifactReader(path: path)) { error in
            let e = error as! IngotError
            XCTAssertEqual(e.kind.exitCode, 65)
            XCTAssertEqual(e.description, "\(path): section TIDX: zstd frame declares content size \(declared), the section table \(claimed)")
        }
        // The same section through the decoder's seam: refused with nothing reserved.
        let file = try MappedFile(path: path)
        let info = ArtifactSectionInfo(kind: .tensorIndex, required: true, codec: .zstd,
                                       offset: Int(bytes[(at + 16)..<(at + 24)].withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }),
                                       storedSize: Int(stored), decodedSize: Int(claimed),
                                       storedChecksum: bytes[(at + 40)..<(at + 48)].withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) },
                                       decodedChecksum: 0)
        var reserved = 0
        XCTAssertThrowsError(try ArtifactReader.decode(info, in: file, path: path, reservedBytes: &reserved))
        XCTAssertEqual(reserved, 0)
    }

    func testDecodedSizeBeyondZstdsExpansionIsRefusedFromTheTable() throws {
        var (bytes, entry) = try sample()
        let at = entry("META")
        let stored = bytes[(at + 24)..<(at + 32)].withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
        put(stored * 32_768 + 32_768, at: at + 32, in: &bytes)
        resign(&bytes)
        let path = try write(bytes, "ratio.ingot")
        XCTAssertThrowsError(try ArtifactReader(path: path)) { error in
            XCTAssertEqual((error as! IngotError).description,
                           "\(path): section META.decoded_size: value \(stored * 32_768 + 32_768), expected at most 32768 × its stored_size \(stored) (the most a zstd frame can expand)")
        }
    }

    /// A hand-made frame that declares 40 MiB and holds one raw block of 1,500 bytes.
    func testFrameDeclaringMoreThanItHoldsCostsOnlyWhatItHolds() throws {
        let declared = 40 << 20
        var frame: [UInt8] = [0x28, 0xB5, 0x2F, 0xFD, 0xA0]       // magic; single segment, 4-byte content size
        withUnsafeBytes(of: UInt32(declared).littleEndian) { frame += $0 }
        let header = UInt32(1500 << 3)                            // raw block, not the last
        frame += [UInt8(header & 0xFF), UInt8((header >> 8) & 0xFF), UInt8(header >> 16)]
        frame += [UInt8](repeating: 0x41, count: 1500)
        let path = try write(frame, "frame.bin")
        let info = ArtifactSectionInfo(kind: .graph, required: true, codec: .zstd, offset: 0, storedSize: frame.count,
                                       decodedSize: declared, storedChecksum: frame.withUnsafeBytes { XXH64.hash($0) }, decodedChecksum: 0)
        var reserved = 0
        XCTAssertThrowsError(try ArtifactReader.decode(info, in: try MappedFile(path: path), path: path, reservedBytes: &reserved)) { error in
            let e = error as! IngotError
            XCTAssertEqual(e.kind.exitCode, 65)
            XCTAssertEqual(e.description, "\(path): section GRPH: zstd frame ends after 1500 of its 41943040 bytes (truncated)")
        }
        XCTAssertGreaterThan(reserved, 0)
        XCTAssertLessThanOrEqual(reserved, 1 << 17, "the output grew with the 1,500 bytes produced, not the 40 MiB declared")
    }

    func testFullVerificationChecksTheDigestBeforeDecodingSections() throws {
        var (bytes, entry) = try sample()
        let at = entry("TIDX")
        let stored = bytes[(at + 24)..<(at + 32)].withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
        put(stored * 16_384, at: at + 32, in: &bytes)
        // Only the header checksum is fixed: the digest no longer covers the edited table.
        put(bytes.withUnsafeBytes { XXH64.hash(UnsafeRawBufferPointer(rebasing: $0[0..<56])) }, at: 56, in: &bytes)
        let path = try write(bytes, "digest.ingot")
        XCTAssertThrowsError(try ArtifactReader(path: path, verify: .full)) { error in
            XCTAssertEqual((error as! IngotError).location, "header.digest")
        }
        XCTAssertThrowsError(try ArtifactReader(path: path, verify: .structure)) { error in
            XCTAssertEqual((error as! IngotError).location, "section TIDX")
        }
    }

    func testTensorCountBeyondTheIndexBytesIsRefusedBeforeReserving() throws {
        var w = ByteWriter()
        w.u32(1_000_000)
        w.append([UInt8](repeating: 0, count: 400))
        let tdat = ArtifactSectionInfo(kind: .tensorData, required: true, codec: .raw, offset: 64, storedSize: 0,
                                       decodedSize: 0, storedChecksum: 0, decodedChecksum: 0)
        XCTAssertThrowsError(try w.bytes.withUnsafeBytes { try ArtifactReader.parseIndex($0, tdat: tdat, path: "t.ingot") }) { error in
            XCTAssertEqual((error as! IngotError).description, "t.ingot: TIDX.tensor_count: value 1000000, expected at most 9")
        }
    }
}

/// Block-quantized tensors (format 1.2): stored and read back as they are; the writer and the
/// reader check their byte counts against shape ÷ block × block bytes, naming the tensor.
final class BlockQuantizedTensorTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws { dir = try TempDirectory.make("blockq") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func testBlockTensorsRoundTripAndTheWriterChecksTheirBytes() throws {
        let path = dir.appendingPathComponent("b.ingot").path
        let w = try ArtifactWriter(path: path)
        let k4 = (0..<(3 * 2 * 144)).map { UInt8(truncatingIfNeeded: $0 &* 37) }
        let q8 = (0..<(2 * 34)).map { UInt8(truncatingIfNeeded: $0 &* 11) }
        try k4.withUnsafeBytes { try w.addTensor(name: "w.q4_k", dtype: .q4_K, shape: [3, 512], bytes: $0) }
        try q8.withUnsafeBytes { try w.addTensor(name: "w.q8_0", dtype: .q8_0, shape: [2, 32], bytes: $0) }
        XCTAssertThrowsError(try [UInt8](repeating: 0, count: 2 * 18).withUnsafeBytes {
            try w.addTensor(name: "bad.tail", dtype: .q4_0, shape: [2, 48], bytes: $0)
        }, "48 is not a multiple of 32")
        XCTAssertThrowsError(try [UInt8](repeating: 0, count: 3 * 18).withUnsafeBytes {
            try w.addTensor(name: "bad.count", dtype: .q4_0, shape: [2, 64], bytes: $0)
        }) { error in
            XCTAssertEqual((error as! IngotError).location, "tensor 'bad.count'")
        }
        try w.addSection(.graph, payload: Array("g".utf8), required: true)
        try w.commit()
        let r = try ArtifactReader(path: path, verify: .full)
        XCTAssertEqual(r.formatVersion.minor, 2)
        XCTAssertEqual(r.tensors.map(\.dtype), [.q4_K, .q8_0])
        XCTAssertEqual(try r.tensor("w.q4_k").toArray(of: UInt8.self), k4)
        XCTAssertEqual(try r.tensor("w.q8_0").toArray(of: UInt8.self), q8)
    }

    /// The reader's index check on a one-entry TIDX payload: tensor "w" of q4_0 (code 10) with
    /// `shape` and `decoded` bytes, raw, at offset 64 of a 64 KiB TDAT.
    func parse(shape: [Int], decoded: Int) throws -> [ArtifactTensorInfo] {
        var w = ByteWriter()
        w.u32(1)
        w.string("w")
        w.u8(DType.q4_0.rawValue)
        w.u8(0)
        w.u8(UInt8(shape.count))
        w.u8(0)
        for d in shape { w.u64(UInt64(d)) }
        w.u64(64)
        w.u64(UInt64(decoded))
        w.u64(UInt64(decoded))
        w.u64(0)
        let tdat = ArtifactSectionInfo(kind: .tensorData, required: true, codec: .raw, offset: 64, storedSize: 1 << 16,
                                       decodedSize: 1 << 16, storedChecksum: 0, decodedChecksum: 0)
        return try w.bytes.withUnsafeBytes { try ArtifactReader.parseIndex($0, tdat: tdat, path: "x.ingot") }
    }

    func testReaderChecksBlockTensorsAgainstShapeAndBlockBytes() throws {
        XCTAssertEqual(try parse(shape: [2, 64], decoded: 72).first?.dtype, .q4_0, "2 rows × 2 blocks × 18 bytes")
        XCTAssertThrowsError(try parse(shape: [2, 36], decoded: 72)) { error in
            let e = error as! IngotError
            XCTAssertEqual(e.location, "tensor 'w'.dims")
            XCTAssertTrue(e.message.contains("[2, 36]") && e.message.contains("32"), e.message)
        }
        XCTAssertThrowsError(try parse(shape: [2, 64], decoded: 512)) { error in
            let e = error as! IngotError
            XCTAssertEqual(e.location, "tensor 'w'.decoded_size")
            XCTAssertTrue(e.message.contains("512") && e.message.contains("18 bytes per q4_0 block"), e.message)
        }
        XCTAssertThrowsError(try parse(shape: [], decoded: 18), "a block tensor needs rank ≥ 1")
    }
}
