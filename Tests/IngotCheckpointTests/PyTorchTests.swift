// PyTorch .bin reader: the zip and legacy files real torch wrote (Fixtures/pytorch) read as
// torch saw them, the test writer's files read identically, and hostile pickles — forbidden
// globals, opcodes outside the subset, lying sizes, truncations, byte flips — are refused
// with an error naming the problem, never a trap.
import Foundation
import XCTest
import IngotCore
import IngotTestSupport
@testable import IngotCheckpoint

final class PyTorchCheckpointTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws { dir = try TempDirectory.make("pt") }
    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: dir)
        try? FileManager.default.removeItem(at: scratch)
    }

    static let torchFiles = [("mixed", "zip/mixed.bin"), ("mixed", "legacy/mixed.bin"),
                             ("tiny-bert", "zip/pytorch_model.bin"), ("tiny-bert", "legacy/pytorch_model.bin")]

    func fixture(_ relative: String) -> String { PyTorchFixtures.root.appendingPathComponent(relative).path }

    func write(_ bytes: [UInt8], _ name: String = "t.bin") throws -> String {
        let url = dir.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url.path
    }

    /// For the thousands of mutated files: a RAM-backed file when /dev/shm exists (the disk
    /// costs milliseconds per small write), else a file in the test folder.
    lazy var scratch: URL = FileManager.default.fileExists(atPath: "/dev/shm")
        ? URL(fileURLWithPath: "/dev/shm/ingot-pt-\(UUID().uuidString).bin") : dir.appendingPathComponent("scratch.bin")

    func writeScratch(_ bytes: [UInt8]) throws -> String {
        try Data(bytes).write(to: scratch)
        return scratch.path
    }

    /// Every tensor's name, dtype, shape and row-major bytes.
    func contents(_ c: PyTorchCheckpoint) throws -> [String] {
        try c.tensors.map { t in "\(t.name) \(t.dtype) \(t.shape) \(try c.buffer(t.name).byteArray)" }
    }

    func testRealTorchFilesReadAsTorchSavedThem() throws {
        for (folder, file) in Self.torchFiles {
            let expected = try PyTorchFixtures.expectedTensors(folder)
            let c = try PyTorchCheckpoint(path: fixture(folder + "/" + file))
            XCTAssertEqual(c.layout, file.hasPrefix("zip") ? .zip : .legacy)
            XCTAssertEqual(c.tensorNames, expected.map(\.name), file)
            for e in expected {
                let t = try XCTUnwrap(c.tensor(named: e.name))
                XCTAssertEqual(t.dtype.description, e.dtype.lowercased(), "\(file) \(e.name)")
                XCTAssertEqual(t.shape, e.shape, "\(file) \(e.name)")
                XCTAssertEqual(try c.buffer(e.name).byteArray, e.bytes, "\(file) \(e.name)")
            }
        }
        let mixed = try PyTorchCheckpoint(path: fixture("mixed/zip/mixed.bin"))
        XCTAssertFalse(try XCTUnwrap(mixed.tensor(named: "f32_strided")).isContiguous)
        XCTAssertEqual(try XCTUnwrap(mixed.tensor(named: "f32_offset_view")).storageOffset, 5)
        XCTAssertEqual(try mixed.floats("f32_strided").toArray(of: Float.self), [0, 1, 2, 3, 4, 5]) // arange(12)·0.5 as [3, 4], every other column
        XCTAssertEqual(try mixed.floats("f16").toArray(of: Float.self), [1, -2.5, 65504, Float(Float16(0.0001))])
        XCTAssertEqual(try mixed.floats("bf16").toArray(of: Float.self)[0..<3], [1, -3, 0.125])
        XCTAssertEqual(try mixed.floats("i64").toArray(of: Float.self), [-1, 0, Float(1 << 40)])
        XCTAssertEqual(try mixed.floats("scalar").toArray(of: Float.self), [3.5])
        XCTAssertEqual(try mixed.floats("empty").byteCount, 0)
        XCTAssertEqual(try mixed.floats("parameter").toArray(of: Float.self), [0.25, 0.75])
        let bert = try PyTorchCheckpoint(path: PyTorchFixtures.root.appendingPathComponent("tiny-bert/zip").path + "/pytorch_model.bin")
        XCTAssertFalse(try XCTUnwrap(bert.tensor(named: "encoder.layer.0.intermediate.dense.weight")).isContiguous)
    }

    /// The writer that turns MiniLM into a .bin for the build tests produces files the reader
    /// reads exactly as it reads the real torch files of the same tensors.
    func testWriterOutputReadsLikeRealTorch() throws {
        for (folder, file) in Self.torchFiles {
            let real = try PyTorchCheckpoint(path: fixture(folder + "/" + file))
            let layout: PyTorchWriter.Layout = file.hasPrefix("zip") ? .zip : .legacy
            let url = dir.appendingPathComponent("w.bin")
            try PyTorchWriter.write(try PyTorchFixtures.expectedTensors(folder), to: url, layout: layout)
            let written = try PyTorchCheckpoint(path: url.path)
            XCTAssertEqual(written.layout, real.layout)
            XCTAssertEqual(try contents(written), try contents(real), file)
        }
    }

    func assertRefused(_ path: String, _ kind: IngotError.Kind, _ fragments: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try PyTorchCheckpoint(path: path), file: file, line: line) { error in
            guard let e = error as? IngotError else { return XCTFail("\(error)", file: file, line: line) }
            XCTAssertEqual(e.kind, kind, e.description, file: file, line: line)
            XCTAssertEqual(e.file, path, file: file, line: line)
            for f in fragments { XCTAssertTrue(e.description.contains(f), "'\(f)' not in: \(e.description)", file: file, line: line) }
        }
    }

    func testHostileTorchFilesAreRefusedNamingTheProblem() {
        assertRefused(fixture("hostile/os-system.bin"), .format, ["os-system/data.pkl: opcode GLOBAL at offset", "global posix.system is not allowed"])
        assertRefused(fixture("hostile/os-system-legacy.bin"), .format, ["legacy pickle 4 (state dict): opcode GLOBAL", "global posix.system is not allowed"])
        assertRefused(fixture("hostile/plain-pickle.bin"), .format, ["legacy pickle 1 (magic number): opcode GLOBAL at offset 2", "global posix.system is not allowed"])
        assertRefused(fixture("hostile/truncated.bin"), .format, ["zip end of central directory", "not found"])
        assertRefused(fixture("hostile/huge-string.bin"), .format, ["archive/data.pkl: operand of opcode 0x58 at offset", "truncated: needs 4294967295 bytes"])
    }

    func testEveryTruncationIsRefused() throws {
        for (folder, file) in [("mixed", "zip/mixed.bin"), ("mixed", "legacy/mixed.bin")] {
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: fixture(folder + "/" + file))))
            for n in 0..<bytes.count {
                let path = try writeScratch(Array(bytes[0..<n]))
                XCTAssertThrowsError(try PyTorchCheckpoint(path: path), "\(file) cut to \(n) bytes") { error in
                    XCTAssertNotEqual((error as? IngotError)?.kind, .internal, "\(error)")
                }
            }
        }
    }

    /// Every single-byte change either reads (a changed value) or is refused with a user-data
    /// error, when opening or when loading each tensor; none traps.
    func testByteFlipsNeverTrap() throws {
        for (folder, file) in [("mixed", "zip/mixed.bin"), ("mixed", "legacy/mixed.bin")] {
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: fixture(folder + "/" + file))))
            var refused = 0
            for i in 0..<bytes.count {
                var changed = bytes
                changed[i] ^= 0x5A
                let path = try writeScratch(changed)
                do {
                    let c = try PyTorchCheckpoint(path: path)
                    for name in c.tensorNames { _ = try c.floats(name) }
                } catch let e as IngotError {
                    XCTAssertNotEqual(e.kind, .internal, e.description)
                    refused += 1
                }
            }
            XCTAssertGreaterThan(refused, bytes.count / 4, file)
        }
    }

    /// A zip checkpoint around a hand-written pickle and storages.
    func zipCheckpoint(_ pickle: [UInt8], storages: [(String, [UInt8])] = []) throws -> String {
        try write(StoredZipWriter.archive([("archive/data.pkl", pickle)] + storages.map { ("archive/data/" + $0.0, $0.1) }))
    }

    /// {"w": tensor(storage "0" of `numel` floats, offset, size, stride)}
    func tensorPickle(numel: Int, offset: Int, size: [Int], stride: [Int], storage: String = "FloatStorage") -> [UInt8] {
        var p = Pickler()
        p.proto()
        p.op(0x7D); p.put(); p.string("w")
        p.global("torch._utils", "_rebuild_tensor_v2")
        p.op(0x28); p.op(0x28)
        p.string("storage"); p.global("torch", storage); p.string("0"); p.string("cpu"); p.int(numel)
        p.op(0x74); p.op(0x51)
        p.int(offset); p.tuple(size); p.tuple(stride); p.op(0x89)
        p.global("collections", "OrderedDict"); p.op(0x29); p.op(0x52)
        p.op(0x74); p.op(0x52); p.op(0x73); p.op(0x2E)
        return p.bytes
    }

    func testTensorsAreCheckedAgainstTheirStorage() throws {
        let four = [UInt8](repeating: 0, count: 16)
        XCTAssertEqual(try PyTorchCheckpoint(path: try zipCheckpoint(tensorPickle(numel: 4, offset: 0, size: [2, 2], stride: [2, 1]), storages: [("0", four)])).tensorNames, ["w"])
        assertRefused(try zipCheckpoint(tensorPickle(numel: 4, offset: 1, size: [2, 2], stride: [2, 1]), storages: [("0", four)]), .format,
                      ["tensor 'w'", "storage offset 1, size [2, 2], stride [2, 1] (last element 4)", "inside storage '0' of 4 × f32"])
        assertRefused(try zipCheckpoint(tensorPickle(numel: 4, offset: 0, size: [2, 3], stride: [1, Int(Int32.max) * 2]), storages: [("0", four)]), .format,
                      ["tensor 'w'", "last element"])
        assertRefused(try zipCheckpoint(tensorPickle(numel: 4, offset: 0, size: [4], stride: [1]), storages: [("0", [0, 0])]), .format,
                      ["zip entry 'archive/data/0'", "value 2 bytes, expected 16 (4 × f32"])
        assertRefused(try zipCheckpoint(tensorPickle(numel: 4, offset: 0, size: [4], stride: [1])), .format, ["storage '0'", "no zip entry archive/data/0"])
        assertRefused(try zipCheckpoint(tensorPickle(numel: Int.max / 4, offset: 0, size: [4], stride: [1]), storages: [("0", four)]), .format,
                      ["storage '0' size is \(Int.max / 4)"])
        assertRefused(try zipCheckpoint(tensorPickle(numel: 4, offset: 0, size: [4], stride: [1], storage: "UntypedStorage"), storages: [("0", four)]), .format,
                      ["global torch.UntypedStorage is not allowed"])
    }

    func testOpcodesAndStackLimits() throws {
        func refused(_ pickle: [UInt8], _ kind: IngotError.Kind = .format, _ fragments: [String], line: UInt = #line) throws {
            assertRefused(try zipCheckpoint(pickle), kind, fragments, line: line)
        }
        try refused([0x80, 0x04, 0x7D, 0x2E], .unsupported, ["opcode PROTO at offset", "protocol 4, expected 2 or lower"])
        try refused([0x80, 0x02, 0x69] + Array("os\nsystem\n".utf8) + [0x2E], .format, ["opcode INST at offset", "not in the accepted subset"])
        try refused([0x80, 0x02, 0x93, 0x2E], .format, ["opcode STACK_GLOBAL"])
        try refused([0x80, 0x02, 0x68, 0x07, 0x2E], .format, ["opcode BINGET", "memo index 7 was never stored"])
        try refused([0x80, 0x02, 0x4E, 0x72, 0xFF, 0xFF, 0xFF, 0x7F, 0x2E], .format, ["LONG_BINPUT", "memo index 2147483647"])
        try refused([0x80, 0x02] + [UInt8](repeating: 0x28, count: 65) + [0x2E], .format, ["opcode MARK", "mark depth 65"])
        try refused([0x80, 0x02] + [UInt8](repeating: 0x4E, count: (1 << 16) + 1) + [0x2E], .format, ["opcode NONE", "stack depth 65537"])
        try refused([0x80, 0x02, 0x52, 0x2E], .format, ["opcode REDUCE", "needs a value on the stack"])
        try refused([0x80, 0x02, 0x4E, 0x4E, 0x2E], .format, ["opcode STOP", "2 values"])
        try refused([0x80, 0x02, 0x5D, 0x2E], .format, ["state dict", "a list, expected a dict"])
        try refused([0x80, 0x02, 0x63] + Array("collections\nOrderedDict\n".utf8) + [0x4B, 0x01, 0x85, 0x52, 0x2E], .format,
                    ["REDUCE", "collections.OrderedDict with 1 arguments"])
        try refused([0x80, 0x02, 0x63] + Array("torch\nFloatStorage\n".utf8) + [0x29, 0x52, 0x2E], .format,
                    ["REDUCE", "a call of torch.FloatStorage"])
        try refused([0x80, 0x02, 0x7D, 0x58, 1, 0, 0, 0, 0x61, 0x4E, 0x73, 0x2E], .format, ["state dict['a']", "None, expected a tensor"])
    }

    /// Found by fuzz-pytorch (a leak): a list put into itself (EMPTY_LIST, BINPUT 0, BINGET 0,
    /// APPEND) and a dict holding itself form reference cycles; the arena's release breaks them,
    /// and the checkpoint reader releases its arena, so the containers are freed.
    func testSelfContainingContainersAreFreed() throws {
        weak var list: PickleList?
        weak var dict: PickleDict?
        do {
            let arena = PickleArena()
            let pickle: [UInt8] = [0x80, 0x02, 0x5D, 0x71, 0x00, 0x68, 0x00, 0x61, 0x2E]
            let value = try pickle.withUnsafeBytes { bytes in
                var u = RestrictedUnpickler(bytes, offset: 0, path: "self.pkl", what: "test", arena: arena)
                return try u.load()
            }
            guard case .list(let l) = value, l.items.count == 1, case .list(let inner) = l.items[0], inner === l else {
                return XCTFail("expected a list holding itself, got \(value.kindName)")
            }
            list = l
            let dictPickle: [UInt8] = [0x80, 0x02, 0x7D, 0x71, 0x00, 0x58, 1, 0, 0, 0, 0x61, 0x68, 0x00, 0x73, 0x2E]
            let d = try dictPickle.withUnsafeBytes { bytes in
                var u = RestrictedUnpickler(bytes, offset: 0, path: "self.pkl", what: "test", arena: arena)
                return try u.load()
            }
            guard case .dict(let dv) = d, dv.entries.count == 1 else { return XCTFail("expected a dict, got \(d.kindName)") }
            dict = dv
            arena.release()
        }
        XCTAssertNil(list, "the self-containing list outlived its arena")
        XCTAssertNil(dict, "the self-containing dict outlived its arena")
        // Through the checkpoint reader: refused (a list is not a state dict), nothing kept.
        assertRefused(try zipCheckpoint([0x80, 0x02, 0x5D, 0x71, 0x00, 0x68, 0x00, 0x61, 0x2E]), .format, ["a list, expected a dict"])
    }

    func testZipIntegrityIsChecked() throws {
        let tensors = [TestTensor.f32("w", [4])]
        let url = dir.appendingPathComponent("ok.bin")
        try PyTorchWriter.write(tensors, to: url, layout: .zip)
        var bytes = [UInt8](try Data(contentsOf: url))
        let c = try PyTorchCheckpoint(path: url.path)
        let t = try XCTUnwrap(c.tensor(named: "w"))
        XCTAssertEqual(t.storageBytes.lowerBound % 64, 0, "torch aligns storages to 64 bytes")
        // A changed storage byte: the CRC-32 refuses the tensor when it is loaded.
        bytes[t.storageBytes.lowerBound] ^= 1
        let flipped = try write(bytes, "flip.bin")
        let opened = try PyTorchCheckpoint(path: flipped)
        XCTAssertThrowsError(try opened.floats("w")) { error in
            XCTAssertEqual((error as? IngotError)?.kind, .checksum)
            XCTAssertTrue("\(error)".contains("storage '0' of tensor 'w': CRC-32"), "\(error)")
        }
        // A deflated entry is refused naming it.
        bytes[t.storageBytes.lowerBound] ^= 1
        let central = try XCTUnwrap((0..<(bytes.count - 4)).first { bytes[$0] == 0x50 && bytes[$0 + 1] == 0x4B && bytes[$0 + 2] == 1 && bytes[$0 + 3] == 2 })
        bytes[central + 10] = 8
        assertRefused(try write(bytes, "deflate.bin"), .unsupported, ["zip entry 'archive/data.pkl'.compression", "value 8 (deflate), expected 0 (stored)"])
    }

    func testTarLayoutIsRefusedAsUnsupported() throws {
        var bytes = [UInt8](repeating: 0, count: 1024)
        for (i, b) in "ustar".utf8.enumerated() { bytes[257 + i] = b }
        assertRefused(try write(bytes), .unsupported, ["a tar archive"])
    }
}
