// PyTorchCheckpoint: the tensors of a torch.save'd state dict (`pytorch_model.bin`) without
// running any of its code (Formats/pytorch-pickle.md). Two layouts: the zip archive torch
// writes by default (`<prefix>/data.pkl` + one STORED entry per storage) and the legacy raw
// layout (`_use_new_zipfile_serialization=False`: five pickles then the storages). The pickle
// goes through RestrictedUnpickler; every tensor is checked against its storage's length. Data
// stays in the memory map; a non-contiguous tensor is copied into row-major order when loaded.
// It does not read the pre-1.0 tar layout, big-endian checkpoints or storage views.

import IngotCore
import Synchronization

public struct PyTorchTensorInfo: Sendable, Equatable {
    public var name: String
    public var dtype: DType
    /// Row-major, outermost first.
    public var shape: [Int]
    /// In elements, one per dimension.
    public var strides: [Int]
    /// In elements, from the start of the storage.
    public var storageOffset: Int
    public var storageKey: String
    /// Absolute byte range of the whole storage in the file.
    public var storageBytes: Range<Int>

    public var elementCount: Int { shape.reduce(1, *) }
    public var byteCount: Int { elementCount * dtype.byteSize }

    /// Row-major with no gaps (dimensions of size 1 may have any stride).
    public var isContiguous: Bool {
        var expected = 1
        for d in stride(from: shape.count - 1, through: 0, by: -1) where shape[d] != 1 {
            if strides[d] != expected { return false }
            expected *= shape[d]
        }
        return true
    }
}

public final class PyTorchCheckpoint: @unchecked Sendable {
    public enum Layout: String, Sendable { case zip, legacy }

    public static let maxTensors = 1 << 20
    /// The legacy layout's first pickle: torch.serialization's MAGIC_NUMBER as LONG1 bytes.
    static let legacyMagic: [UInt8] = [0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19]
    static let legacyProtocol = 1001

    public let path: String
    public let file: MappedFile
    public let layout: Layout
    /// Sorted by name.
    public let tensors: [PyTorchTensorInfo]
    private let index: [String: Int]
    /// Zip only: the CRC-32 of each storage entry, checked once when a tensor of it is first loaded.
    private let storageCRC: [String: UInt32]
    private let verified = Mutex<Set<String>>([])

    public var tensorNames: [String] { tensors.map(\.name) }

    /// A `.bin` / `.pt` / `.pth` file, or a folder holding `pytorch_model.bin`.
    public init(path: String) throws {
        let filePath = PyTorchCheckpoint.isCheckpointFile(path) ? path : path + "/pytorch_model.bin"
        self.path = filePath
        file = try MappedFile(path: filePath)
        let bytes = file.bytes
        // Lists and dicts of every pickle below, emptied when this reader is done with them
        // (a hostile pickle's self-containing list would otherwise never be freed).
        let arena = PickleArena()
        defer { arena.release() }
        let root: PickleValue
        var storageRanges: [String: Range<Int>] = [:]
        var crcs: [String: UInt32] = [:]
        let storages: [String: PickleStorage]
        if StoredZip.looksLikeZip(bytes) {
            layout = .zip
            let zip = try StoredZip(bytes, path: filePath)
            let pickles = zip.entries.filter { $0.name.hasSuffix("/data.pkl") && $0.name.split(separator: "/", omittingEmptySubsequences: false).count == 2 }
            guard pickles.count == 1, let pickle = pickles.first else {
                throw IngotError(.format, file: filePath, location: "zip entries",
                                 "\(pickles.count) entries named <prefix>/data.pkl, expected exactly one (torch.save's zip layout)")
            }
            let prefix = String(pickle.name.dropLast("data.pkl".count))
            let byName = Dictionary(zip.entries.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
            try PyTorchCheckpoint.checkCRC(pickle, bytes, path: filePath)
            if let order = byName[prefix + "byteorder"] {
                try PyTorchCheckpoint.checkCRC(order, bytes, path: filePath)
                let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[order.dataRange]), as: UTF8.self)
                guard text == "little" else {
                    throw IngotError(.unsupported, file: filePath, location: "zip entry '\(order.name)'",
                                     "value \"\(text.prefix(16))\", expected \"little\" (big-endian checkpoints are not supported)")
                }
            }
            // The file up to the end of data.pkl, read from its start: offsets in errors are file offsets.
            var unpickler = RestrictedUnpickler(UnsafeRawBufferPointer(rebasing: bytes[0..<pickle.dataRange.upperBound]),
                                                offset: pickle.dataRange.lowerBound, path: filePath, what: pickle.name, arena: arena)
            root = try unpickler.load()
            storages = unpickler.storages
            for (key, storage) in storages {
                guard let entry = byName[prefix + "data/" + key] else {
                    throw IngotError(.format, file: filePath, location: "storage '\(key)'", "no zip entry \(prefix)data/\(key)")
                }
                let (bytesNeeded, overflow) = storage.elementCount.multipliedReportingOverflow(by: storage.dtype.byteSize)
                guard !overflow, entry.dataRange.count == bytesNeeded else {
                    throw IngotError.badField(file: filePath, "zip entry '\(entry.name)'", seen: "\(entry.dataRange.count) bytes",
                                              expected: "\(overflow ? "overflow" : String(bytesNeeded)) (\(storage.elementCount) × \(storage.dtype), as data.pkl names it)")
                }
                storageRanges[key] = entry.dataRange
                crcs[key] = entry.crc32
            }
        } else {
            layout = .legacy
            if bytes.count >= 262, Array(UnsafeRawBufferPointer(rebasing: bytes[257..<262])) == Array("ustar".utf8) {
                throw IngotError(.unsupported, file: filePath,
                                 "a tar archive (the pre-1.0 torch layout sys_info/pickle/storages/tensors); re-save it with a current torch.save")
            }
            var r = RestrictedUnpickler(bytes, offset: 0, path: filePath, what: "legacy pickle 1 (magic number)", arena: arena)
            let magic = try r.load()
            guard case .bigInt(let m) = magic, m == PyTorchCheckpoint.legacyMagic else {
                throw IngotError(.format, file: filePath, location: "legacy pickle 1 (magic number)",
                                 "value \(magic.kindName), expected torch's magic number 0x1950a86a20f9469cfc6c (not a torch.save file)")
            }
            r = RestrictedUnpickler(bytes, offset: r.offset, path: filePath, what: "legacy pickle 2 (protocol version)", arena: arena)
            let version = try r.load()
            guard case .int(PyTorchCheckpoint.legacyProtocol) = version else {
                throw IngotError(.unsupported, file: filePath, location: "legacy pickle 2 (protocol version)",
                                 "value \(version.kindName), expected \(PyTorchCheckpoint.legacyProtocol)")
            }
            r = RestrictedUnpickler(bytes, offset: r.offset, path: filePath, what: "legacy pickle 3 (sys_info)", arena: arena)
            let sysInfo = try r.load()
            guard case .dict(let info) = sysInfo,
                  let little = info.entries.first(where: { if case .string("little_endian") = $0.key { return true } else { return false } }) else {
                throw IngotError(.format, file: filePath, location: "legacy pickle 3 (sys_info)", "value \(sysInfo.kindName), expected a dict with little_endian")
            }
            guard case .bool(true) = little.value else {
                throw IngotError(.unsupported, file: filePath, location: "legacy pickle 3 (sys_info).little_endian",
                                 "value \(little.value.kindName), expected True (big-endian checkpoints are not supported)")
            }
            r = RestrictedUnpickler(bytes, offset: r.offset, path: filePath, what: "legacy pickle 4 (state dict)", arena: arena)
            root = try r.load()
            storages = r.storages
            var keysReader = RestrictedUnpickler(bytes, offset: r.offset, path: filePath, what: "legacy pickle 5 (storage keys)", arena: arena)
            let keysValue = try keysReader.load()
            guard case .list(let keyList) = keysValue else {
                throw IngotError(.format, file: filePath, location: "legacy pickle 5 (storage keys)", "value \(keysValue.kindName), expected a list of strings")
            }
            var data = ByteReader(bytes, offset: keysReader.offset, file: filePath)
            for item in keyList.items {
                guard case .string(let key) = item, let storage = storages[key] else {
                    throw IngotError(.format, file: filePath, location: "legacy pickle 5 (storage keys)",
                                     "entry \(item.kindName)\(caseString(item).map { " '\($0)'" } ?? ""), expected the key of a storage the state dict names")
                }
                guard storageRanges[key] == nil else {
                    throw IngotError(.format, file: filePath, location: "legacy storage '\(key)'", "listed twice")
                }
                let field = "legacy storage '\(key)'"
                let count = try data.i64(field + ".element count")
                guard count == Int64(storage.elementCount) else {
                    throw IngotError.badField(file: filePath, field + ".element count at offset \(data.offset - 8)", seen: String(count),
                                              expected: "\(storage.elementCount) (as the state dict names it)")
                }
                let (n, overflow) = storage.elementCount.multipliedReportingOverflow(by: storage.dtype.byteSize)
                guard !overflow else { throw IngotError.badField(file: filePath, field + ".element count", seen: String(count), expected: "a byte size without overflow") }
                try data.require(n, for: field + ".data")
                storageRanges[key] = data.offset..<(data.offset + n)
                try data.skip(n, for: field + ".data")
            }
            if let missing = storages.keys.sorted().first(where: { storageRanges[$0] == nil }) {
                throw IngotError(.format, file: filePath, location: "legacy pickle 5 (storage keys)", "storage '\(missing)' is named by a tensor but not listed")
            }
            guard data.remaining == 0 else {
                throw IngotError(.format, file: filePath, location: "legacy storages", "\(data.remaining) bytes after the last storage at offset \(data.offset)")
            }
        }
        storageCRC = crcs
        tensors = try PyTorchCheckpoint.stateDict(root, storageRanges: storageRanges, path: filePath)
        var index: [String: Int] = [:]
        for (i, t) in tensors.enumerated() { index[t.name] = i }
        self.index = index
    }

    /// True for a path naming a checkpoint file rather than a folder.
    public static func isCheckpointFile(_ path: String) -> Bool {
        path.hasSuffix(".bin") || path.hasSuffix(".pt") || path.hasSuffix(".pth")
    }

    static func checkCRC(_ entry: StoredZipEntry, _ bytes: UnsafeRawBufferPointer, path: String) throws {
        let crc = crc32(UnsafeRawBufferPointer(rebasing: bytes[entry.dataRange]))
        guard crc == entry.crc32 else {
            throw IngotError(.checksum, file: path, location: "zip entry '\(entry.name)'",
                             "CRC-32 \(hex32(crc)) of the \(entry.dataRange.count) stored bytes, expected \(hex32(entry.crc32)) (the central directory's)")
        }
    }

    /// The top-level dict (name → tensor) checked against the storages.
    static func stateDict(_ root: PickleValue, storageRanges: [String: Range<Int>], path: String) throws -> [PyTorchTensorInfo] {
        guard case .dict(let dict) = root else {
            throw IngotError(.format, file: path, location: "state dict", "the pickled object is \(root.kindName), expected a dict of name → tensor")
        }
        guard dict.entries.count <= maxTensors else {
            throw IngotError.badField(file: path, "state dict", seen: "\(dict.entries.count) entries", expected: "at most \(maxTensors)")
        }
        var seen = Set<String>()
        var out: [PyTorchTensorInfo] = []
        for (key, value) in dict.entries {
            guard case .string(let name) = key else {
                throw IngotError(.format, file: path, location: "state dict", "a key is \(key.kindName), expected a tensor name string")
            }
            guard case .tensor(let t) = value else {
                throw IngotError(.format, file: path, location: "state dict['\(name)']", "value is \(value.kindName), expected a tensor (a plain state dict)")
            }
            guard seen.insert(name).inserted else {
                throw IngotError(.format, file: path, location: "state dict['\(name)']", "appears twice")
            }
            let at = "tensor '\(name)'"
            guard let range = storageRanges[t.storage.key] else {
                throw IngotError(.internal, file: path, location: at, "storage '\(t.storage.key)' has no byte range")
            }
            guard let count = Shape.checkedProduct(t.shape) else {
                throw IngotError.badField(file: path, at + ".size", seen: "\(t.shape)", expected: "an element count that fits in memory")
            }
            if count > 0 {
                // The last element's index: offset + Σ (size − 1) · stride, inside the storage.
                var last = t.storageOffset
                for (size, stride) in zip(t.shape, t.strides) {
                    let (step, o1) = (size - 1).multipliedReportingOverflow(by: stride)
                    let (sum, o2) = last.addingReportingOverflow(step)
                    guard !o1, !o2 else {
                        throw IngotError.badField(file: path, at + ".stride", seen: "\(t.strides) with size \(t.shape) at offset \(t.storageOffset)",
                                                  expected: "an extent without overflow")
                    }
                    last = sum
                }
                guard last < t.storage.elementCount else {
                    throw IngotError.badField(file: path, at, seen: "storage offset \(t.storageOffset), size \(t.shape), stride \(t.strides) (last element \(last))",
                                              expected: "elements inside storage '\(t.storage.key)' of \(t.storage.elementCount) × \(t.storage.dtype)")
                }
            }
            out.append(PyTorchTensorInfo(name: name, dtype: t.storage.dtype, shape: t.shape, strides: t.strides,
                                         storageOffset: t.storageOffset, storageKey: t.storage.key, storageBytes: range))
        }
        return out.sorted { $0.name < $1.name }
    }

    public func tensor(named name: String) -> PyTorchTensorInfo? { index[name].map { tensors[$0] } }

    private func info(_ name: String) throws -> PyTorchTensorInfo {
        guard let t = tensor(named: name) else {
            throw IngotError(.format, file: path, location: "tensor '\(name)'", "not in the checkpoint")
        }
        if let expected = storageCRC[t.storageKey], !verified.withLock({ $0.contains(t.storageKey) }) {
            let crc = crc32(UnsafeRawBufferPointer(rebasing: file.bytes[t.storageBytes]))
            guard crc == expected else {
                throw IngotError(.checksum, file: path, location: "storage '\(t.storageKey)' of tensor '\(name)'",
                                 "CRC-32 \(hex32(crc)) of the \(t.storageBytes.count) stored bytes, expected \(hex32(expected)) (the zip central directory's)")
            }
            _ = verified.withLock { $0.insert(t.storageKey) }
        }
        return t
    }

    /// The tensor's bytes in row-major order: borrowed from the map when contiguous, else copied.
    public func buffer(_ name: String) throws -> TensorBuffer {
        let t = try info(name)
        let size = t.dtype.byteSize
        let storage = UnsafeRawBufferPointer(rebasing: file.bytes[t.storageBytes])
        if t.isContiguous {
            let start = t.storageOffset * size
            return TensorBuffer(borrowing: UnsafeRawBufferPointer(rebasing: storage[start..<(start + t.byteCount)]), owner: file)
        }
        let out = TensorBuffer(zeroedByteCount: t.byteCount)
        let dst = out.mutableRaw
        let rank = t.shape.count
        var position = [Int](repeating: 0, count: rank)
        var source = t.storageOffset
        for i in 0..<t.elementCount {
            dst.baseAddress!.advanced(by: i * size).copyMemory(from: storage.baseAddress!.advanced(by: source * size), byteCount: size)
            var d = rank - 1
            while d >= 0 {
                position[d] += 1
                source += t.strides[d]
                if position[d] < t.shape[d] { break }
                source -= t.strides[d] * position[d]
                position[d] = 0
                d -= 1
            }
        }
        return out
    }

    /// The tensor as float32: borrowed when stored as contiguous, aligned f32, else converted.
    public func floats(_ name: String) throws -> TensorBuffer {
        let t = try info(name)
        let stored = try buffer(name)
        if t.dtype == .f32 {
            if Int(bitPattern: stored.raw.baseAddress) % 4 == 0 { return stored }
            return TensorBuffer(copying: stored.raw)
        }
        return withExtendedLifetime(stored) { float32Copy(stored.raw, dtype: t.dtype, count: t.elementCount) }
    }

    /// Drops the mapped pages of a consumed tensor's storage (see MappedFile.dropPages).
    public func dropPages(_ name: String) {
        guard let t = tensor(named: name) else { return }
        file.dropPages(t.storageBytes)
    }
}

private func hex32(_ v: UInt32) -> String {
    let s = String(v, radix: 16)
    return "0x" + String(repeating: "0", count: 8 - s.count) + s
}

private func caseString(_ v: PickleValue) -> String? {
    if case .string(let s) = v { return s }
    return nil
}
