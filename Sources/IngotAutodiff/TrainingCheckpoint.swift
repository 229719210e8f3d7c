// TrainingCheckpoint: a distillation run's state on disk so a stopped run resumes exactly:
// the step reached, the seed, the loss curve so far, and per trainable tensor its values
// and AdamW moments. Little-endian, checksummed, written to a temporary file and renamed
// (a crash never leaves a half-written checkpoint). Layout (Formats/passes.md, distill):
//
//   "INGOTCKP" u32 version=1  u64 step  u64 seed  u32 curve_points  u32 tensors
//   curve:   (u64 step, f64 loss) × curve_points
//   tensors: (u32 name_length, name UTF-8, u64 count, f32 value × count, f32 m × count, f32 v × count) × tensors
//   u64 XXH64 of everything before
//
// It does not decide when to save; the trainer does.

import IngotCore

#if canImport(Glibc)
import Glibc
#endif

public struct TrainingCheckpoint: Sendable, Equatable {
    public struct TensorState: Sendable, Equatable {
        public var name: String
        public var values: [Float]
        public var m: [Float]
        public var v: [Float]

        public init(name: String, values: [Float], m: [Float], v: [Float]) {
            self.name = name
            self.values = values
            self.m = m
            self.v = v
        }
    }

    public static let magic = Array("INGOTCKP".utf8)
    public static let version: UInt32 = 1

    public var step: Int
    public var seed: UInt64
    public var curve: [CurvePoint]
    public var tensors: [TensorState]

    public init(step: Int, seed: UInt64, curve: [CurvePoint], tensors: [TensorState]) {
        self.step = step
        self.seed = seed
        self.curve = curve
        self.tensors = tensors
    }

    public func encoded() -> [UInt8] {
        var w = ByteWriter()
        w.append(Self.magic)
        w.u32(Self.version)
        w.u64(UInt64(step))
        w.u64(seed)
        w.u32(UInt32(curve.count))
        w.u32(UInt32(tensors.count))
        for p in curve { w.u64(UInt64(p.step)); w.f64(p.loss) }
        for t in tensors {
            w.string(t.name)
            w.u64(UInt64(t.values.count))
            for array in [t.values, t.m, t.v] { array.withUnsafeBytes { w.append($0) } }
        }
        w.u64(XXH64.hash(w.bytes))
        return w.bytes
    }

    public static func decode(_ bytes: UnsafeRawBufferPointer, file: String) throws -> TrainingCheckpoint {
        guard bytes.count >= 8 + 4 + 8 + 8 + 4 + 4 + 8 else {
            throw IngotError(.format, file: file, location: "header", "\(bytes.count) bytes; a checkpoint has at least 44")
        }
        let stored = bytes.loadUnaligned(fromByteOffset: bytes.count - 8, as: UInt64.self).littleEndian
        let body = UnsafeRawBufferPointer(rebasing: bytes[0..<(bytes.count - 8)])
        var r = ByteReader(body, file: file)
        guard Array(try r.bytes(8, "magic")) == magic else {
            throw IngotError(.format, file: file, location: "magic", "not an Ingot training checkpoint (expected INGOTCKP)")
        }
        let actual = XXH64.hash(body)
        guard actual == stored else {
            throw IngotError(.checksum, file: file, location: "checksum",
                             "stored \(String(stored, radix: 16)), computed \(String(actual, radix: 16)): the file is corrupt")
        }
        let version = try r.u32("version")
        guard version == Self.version else {
            throw IngotError(.format, file: file, location: "version", "value \(version), expected \(Self.version)")
        }
        let step = try r.count64("step", max: Int(Int32.max))
        let seed = try r.u64("seed")
        let points = try r.count32("curve_points", max: r.remaining / 16)
        let count = try r.count32("tensors", max: r.remaining / 12)
        var curve: [CurvePoint] = []
        for i in 0..<points {
            curve.append(CurvePoint(step: try r.count64("curve[\(i)].step", max: Int(Int32.max)), loss: try r.f64("curve[\(i)].loss")))
        }
        var tensors: [TensorState] = []
        for i in 0..<count {
            let name = try r.string("tensors[\(i)].name")
            let n = try r.count64("tensors[\(i)].count", max: r.remaining / 12)
            var arrays: [[Float]] = []
            for part in ["values", "m", "v"] {
                let raw = try r.bytes(n * 4, "tensors[\(i)].\(part)")
                arrays.append((0..<n).map { Float(bitPattern: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self).littleEndian) })
            }
            tensors.append(TensorState(name: name, values: arrays[0], m: arrays[1], v: arrays[2]))
        }
        guard r.remaining == 0 else {
            throw IngotError(.format, file: file, location: "end", "\(r.remaining) bytes after the last tensor")
        }
        return TrainingCheckpoint(step: step, seed: seed, curve: curve, tensors: tensors)
    }

    public static func load(path: String) throws -> TrainingCheckpoint {
        let file = try MappedFile(path: path)
        return try decode(file.bytes, file: path)
    }

    /// Writes `path` atomically: a temporary file beside it, fsync, rename.
    public func save(path: String) throws {
        let bytes = encoded()
        let tmp = path + ".tmp-\(getpid())"
        InterruptCleanup.register(tmp)
        defer { InterruptCleanup.unregister(tmp) }
        guard let f = fopen(tmp, "wb") else {
            throw IngotError(.io, file: path, "cannot create \(tmp): \(String(cString: strerror(errno)))")
        }
        let written = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, f) }
        let synced = fflush(f) == 0 && fsync(fileno(f)) == 0
        let closed = fclose(f)
        guard written == bytes.count, synced, closed == 0, rename(tmp, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(tmp)
            throw IngotError(.io, file: path, "cannot write the checkpoint: \(reason)")
        }
    }
}

/// One point of a training curve: the mean loss over the updates up to `step`.
public struct CurvePoint: Sendable, Equatable {
    public var step: Int
    public var loss: Double
    public init(step: Int, loss: Double) {
        self.step = step
        self.loss = loss
    }
}
