// PyTorchWriter: writes a state dict of contiguous tensors as torch.save does — the zip layout
// (STORED entries, data 64-byte aligned) or the legacy raw layout — so tests can turn a
// safetensors checkpoint (e.g. MiniLM, too large to commit as .bin) into a pytorch_model.bin.
// The pickle is protocol 2 with the opcodes torch's pickler emits for a state dict. Not used by
// the product (Ingot never writes checkpoints); it also builds deliberately broken pickles.

import Foundation
import IngotCore

public enum PyTorchWriter {
    public enum Layout: Sendable { case zip, legacy }

    /// torch storage class for a safetensors dtype string, and its element size.
    static func storage(_ dtype: String) -> (String, Int) {
        switch dtype {
        case "F32": return ("FloatStorage", 4)
        case "F16": return ("HalfStorage", 2)
        case "BF16": return ("BFloat16Storage", 2)
        case "F64": return ("DoubleStorage", 8)
        case "I8": return ("CharStorage", 1)
        case "U8": return ("ByteStorage", 1)
        case "I16": return ("ShortStorage", 2)
        case "I32": return ("IntStorage", 4)
        case "I64": return ("LongStorage", 8)
        case "BOOL": return ("BoolStorage", 1)
        default: fatalError("PyTorchWriter: no torch storage for dtype \(dtype)")
        }
    }

    public static func write(_ tensors: [TestTensor], to url: URL, layout: Layout) throws {
        let bytes: [UInt8]
        switch layout {
        case .zip: bytes = zipFile(tensors)
        case .legacy: bytes = legacyFile(tensors)
        }
        try Data(bytes).write(to: url)
    }

    /// The protocol-2 pickle of an OrderedDict name → tensor, one storage per tensor keyed "0", "1", ...
    public static func stateDictPickle(_ tensors: [TestTensor], legacyPersistentIDs: Bool) -> [UInt8] {
        var p = Pickler()
        p.proto()
        p.global("collections", "OrderedDict")
        p.op(0x29); p.op(0x52); p.put() // ) R
        var i = 0
        while i < tensors.count {
            p.op(0x28) // MARK: SETITEMS in batches of 1000, as pickle does
            for (k, t) in tensors[i..<min(i + 1000, tensors.count)].enumerated() {
                let key = String(i + k)
                let (storageName, size) = storage(t.dtype)
                p.string(t.name)
                p.global("torch._utils", "_rebuild_tensor_v2")
                p.op(0x28)
                p.op(0x28) // persistent id tuple
                p.string("storage")
                p.global("torch", storageName)
                p.string(key)
                p.string("cpu")
                p.int(t.bytes.count / size)
                if legacyPersistentIDs { p.op(0x4E) }
                p.op(0x74); p.put(); p.op(0x51) // t, BINPERSID
                p.int(0)
                p.tuple(t.shape)
                var strides = [Int](repeating: 1, count: t.shape.count)
                for d in stride(from: t.shape.count - 2, through: 0, by: -1) { strides[d] = strides[d + 1] * t.shape[d + 1] }
                p.tuple(strides)
                p.op(0x89) // False
                p.global("collections", "OrderedDict")
                p.op(0x29); p.op(0x52); p.put()
                p.op(0x74); p.put(); p.op(0x52); p.put() // t R
            }
            p.op(0x75)
            i += 1000
        }
        p.op(0x2E)
        return p.bytes
    }

    static func zipFile(_ tensors: [TestTensor]) -> [UInt8] {
        var entries: [(String, [UInt8])] = [("archive/data.pkl", stateDictPickle(tensors, legacyPersistentIDs: false)),
                                             ("archive/byteorder", Array("little".utf8))]
        for (i, t) in tensors.enumerated() { entries.append(("archive/data/\(i)", t.bytes)) }
        entries.append(("archive/version", Array("3\n".utf8)))
        return StoredZipWriter.archive(entries)
    }

    static func legacyFile(_ tensors: [TestTensor]) -> [UInt8] {
        var out: [UInt8] = []
        var magic = Pickler()
        magic.proto()
        magic.op(0x8A); magic.u8(10); magic.bytes += [0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19]
        magic.op(0x2E)
        out += magic.bytes
        var version = Pickler()
        version.proto(); version.int(1001); version.op(0x2E)
        out += version.bytes
        var info = Pickler()
        info.proto()
        info.op(0x7D); info.put(); info.op(0x28)
        info.string("protocol_version"); info.int(1001)
        info.string("little_endian"); info.op(0x88)
        info.string("type_sizes"); info.op(0x7D); info.put(); info.op(0x28)
        info.string("short"); info.int(2); info.string("int"); info.int(4); info.string("long"); info.int(4)
        info.op(0x75); info.op(0x75); info.op(0x2E)
        out += info.bytes
        out += stateDictPickle(tensors, legacyPersistentIDs: true)
        var keys = Pickler()
        keys.proto()
        keys.op(0x5D); keys.put()
        if !tensors.isEmpty {
            keys.op(0x28)
            for i in tensors.indices { keys.string(String(i)) }
            keys.op(0x65)
        }
        keys.op(0x2E)
        out += keys.bytes
        for t in tensors {
            let (_, size) = storage(t.dtype)
            withUnsafeBytes(of: Int64(t.bytes.count / size).littleEndian) { out += $0 }
            out += t.bytes
        }
        return out
    }
}

/// Protocol-2 pickle opcodes, with a memo of globals as Python's pickler keeps one.
public struct Pickler {
    public var bytes: [UInt8] = []
    private var memoCount = 0
    private var globals: [String: Int] = [:]

    public init() {}

    public mutating func op(_ code: UInt8) { bytes.append(code) }
    public mutating func u8(_ v: UInt8) { bytes.append(v) }
    public mutating func proto() { bytes += [0x80, 2] }

    /// BINPUT / LONG_BINPUT of the next memo index.
    public mutating func put() {
        if memoCount < 256 { bytes += [0x71, UInt8(memoCount)] } else { bytes.append(0x72); le32(UInt32(memoCount)) }
        memoCount += 1
    }

    mutating func get(_ index: Int) {
        if index < 256 { bytes += [0x68, UInt8(index)] } else { bytes.append(0x6A); le32(UInt32(index)) }
    }

    mutating func le32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }

    /// GLOBAL module\nname\n, memoized; later uses are BINGETs.
    public mutating func global(_ module: String, _ name: String) {
        if let index = globals[module + "." + name] { get(index); return }
        bytes.append(0x63)
        bytes += Array((module + "\n" + name + "\n").utf8)
        globals[module + "." + name] = memoCount
        put()
    }

    public mutating func string(_ s: String) {
        bytes.append(0x58)
        le32(UInt32(s.utf8.count))
        bytes += Array(s.utf8)
        put()
    }

    public mutating func int(_ v: Int) {
        if v >= 0 && v < 256 { bytes += [0x4B, UInt8(v)] }
        else if v >= 0 && v < 65536 { bytes.append(0x4D); withUnsafeBytes(of: UInt16(v).littleEndian) { bytes += $0 } }
        else if v >= Int(Int32.min) && v <= Int(Int32.max) { bytes.append(0x4A); withUnsafeBytes(of: Int32(v).littleEndian) { bytes += $0 } }
        else {
            var raw = withUnsafeBytes(of: Int64(v).littleEndian) { Array($0) }
            while raw.count > 1, (raw[raw.count - 1] == 0 && raw[raw.count - 2] & 0x80 == 0) || (raw[raw.count - 1] == 0xFF && raw[raw.count - 2] & 0x80 != 0) { raw.removeLast() }
            bytes += [0x8A, UInt8(raw.count)] + raw
        }
    }

    /// A tuple of ints: EMPTY_TUPLE, TUPLE1/2/3, or MARK … TUPLE.
    public mutating func tuple(_ values: [Int]) {
        switch values.count {
        case 0: bytes.append(0x29); return
        case 1...3:
            for v in values { int(v) }
            bytes.append([0x85, 0x86, 0x87][values.count - 1])
        default:
            bytes.append(0x28)
            for v in values { int(v) }
            bytes.append(0x74)
        }
        put()
    }
}

/// A zip archive of STORED entries whose data starts on 64-byte boundaries (torch's alignment).
public enum StoredZipWriter {
    public static func archive(_ entries: [(String, [UInt8])]) -> [UInt8] {
        var out: [UInt8] = []
        var central: [UInt8] = []
        func le16(_ v: Int, _ into: inout [UInt8]) { withUnsafeBytes(of: UInt16(v).littleEndian) { into += $0 } }
        func le32(_ v: UInt32, _ into: inout [UInt8]) { withUnsafeBytes(of: v.littleEndian) { into += $0 } }
        for (name, data) in entries {
            let nameBytes = Array(name.utf8)
            let offset = out.count
            let crc = data.withUnsafeBytes { crc32Of($0) }
            // Header 30 bytes + name + extra (tag, length, zero padding) so the data is 64-byte aligned.
            var pad = (64 - (offset + 30 + nameBytes.count + 4) % 64) % 64
            if pad < 0 { pad += 64 }
            le32(0x0403_4B50, &out); le16(20, &out); le16(0, &out); le16(0, &out); le16(0, &out); le16(0x21, &out)
            le32(crc, &out); le32(UInt32(data.count), &out); le32(UInt32(data.count), &out)
            le16(nameBytes.count, &out); le16(4 + pad, &out)
            out += nameBytes
            le16(0x4246, &out); le16(pad, &out); out += [UInt8](repeating: 0, count: pad)
            out += data
            le32(0x0201_4B50, &central); le16(20, &central); le16(20, &central); le16(0, &central); le16(0, &central)
            le16(0, &central); le16(0x21, &central)
            le32(crc, &central); le32(UInt32(data.count), &central); le32(UInt32(data.count), &central)
            le16(nameBytes.count, &central); le16(0, &central); le16(0, &central); le16(0, &central); le16(0, &central)
            le32(0, &central); le32(UInt32(offset), &central)
            central += nameBytes
        }
        let cdOffset = out.count
        out += central
        le32(0x0605_4B50, &out); le16(0, &out); le16(0, &out); le16(entries.count, &out); le16(entries.count, &out)
        le32(UInt32(central.count), &out); le32(UInt32(cdOffset), &out); le16(0, &out)
        return out
    }

    static func crc32Of(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for b in bytes {
            crc ^= UInt32(b)
            for _ in 0..<8 { crc = crc & 1 != 0 ? 0xEDB8_8320 ^ (crc >> 1) : crc >> 1 }
        }
        return crc ^ 0xFFFF_FFFF
    }
}

/// The fixtures real torch made in Fixtures/pytorch (README there): each folder's expected.json
/// lists every tensor as torch saw it — dtype, shape and its contiguous bytes.
public enum PyTorchFixtures {
    public static var root: URL { TestPaths.fixtures.appendingPathComponent("pytorch") }

    /// The tensors of `folder`/expected.json in name order, as contiguous TestTensors.
    public static func expectedTensors(_ folder: String) throws -> [TestTensor] {
        let url = root.appendingPathComponent(folder).appendingPathComponent("expected.json")
        let json = try JSONValue.parse([UInt8](try Data(contentsOf: url)), file: url.path)
        let names = ["float32": "F32", "float16": "F16", "bfloat16": "BF16", "float64": "F64", "int8": "I8", "uint8": "U8",
                     "int16": "I16", "int32": "I32", "int64": "I64", "bool": "BOOL"]
        return try (json.object ?? []).map { name, entry in
            guard let torchType = entry["dtype"]?.string, let dtype = names[torchType], let shape = entry["shape"]?.array,
                  let hex = entry["bytes"]?.string else {
                throw IngotError(.format, file: url.path, location: name, "expected dtype, shape and bytes")
            }
            var bytes: [UInt8] = []
            var digits = Array(hex.utf8)[...]
            while digits.count >= 2 {
                bytes.append(UInt8(String(decoding: digits.prefix(2), as: UTF8.self), radix: 16)!)
                digits = digits.dropFirst(2)
            }
            return TestTensor(name: name, dtype: dtype, shape: shape.map { $0.int! }, bytes: bytes)
        }.sorted { $0.name < $1.name }
    }
}
