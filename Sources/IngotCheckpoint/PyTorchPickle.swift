// PyTorchPickle: a restricted unpickler for the pickles torch.save writes for a state dict
// (Formats/pytorch-pickle.md). It interprets protocol ≤ 2 opcodes into plain values and never
// calls, imports or constructs anything: a GLOBAL must be one of the few names a state dict
// uses (OrderedDict, the tensor and parameter rebuild functions, the typed storages), and each
// is only ever recognised, never run. Any other global, opcode or shape of call is refused,
// naming it and its offset. It does not know zip or legacy layouts (PyTorchCheckpoint does).

import IngotCore

/// A mutable list (APPEND targets it after it was memoized, so it is shared by reference).
final class PickleList {
    var items: [PickleValue] = []
}

/// A dict or OrderedDict, keys in insertion order.
final class PickleDict {
    var entries: [(key: PickleValue, value: PickleValue)] = []
}

/// Every list and dict the unpicklers of one file made. A hostile pickle can put a container
/// into itself (memo GET, then APPEND or SETITEM), a reference cycle ARC never frees; the file's
/// reader empties them all with `release()` once it has taken what it needs.
final class PickleArena {
    private var lists: [PickleList] = []
    private var dicts: [PickleDict] = []

    func list() -> PickleList {
        let l = PickleList()
        lists.append(l)
        return l
    }

    func dict() -> PickleDict {
        let d = PickleDict()
        dicts.append(d)
        return d
    }

    func release() {
        for l in lists { l.items = [] }
        for d in dicts { d.entries = [] }
        lists = []
        dicts = []
    }
}

/// The globals a state dict may name; nothing else is accepted.
enum PickleGlobal: Equatable {
    case orderedDict
    case rebuildTensorV2
    case rebuildParameter
    case storage(DType)

    static let allowed: [String: PickleGlobal] = [
        "collections.OrderedDict": .orderedDict,
        "torch._utils._rebuild_tensor_v2": .rebuildTensorV2,
        "torch._utils._rebuild_parameter": .rebuildParameter,
        "torch.FloatStorage": .storage(.f32),
        "torch.HalfStorage": .storage(.f16),
        "torch.BFloat16Storage": .storage(.bf16),
        "torch.DoubleStorage": .storage(.f64),
        "torch.CharStorage": .storage(.i8),
        "torch.ByteStorage": .storage(.u8),
        "torch.ShortStorage": .storage(.i16),
        "torch.IntStorage": .storage(.i32),
        "torch.LongStorage": .storage(.i64),
        "torch.BoolStorage": .storage(.bool),
    ]

    var name: String { PickleGlobal.allowed.first { $0.value == self }!.key }
}

/// A storage named by a persistent id: ('storage', torch.XStorage, key, location, numel[, None]).
struct PickleStorage: Equatable {
    var dtype: DType
    var key: String
    var elementCount: Int
}

/// The arguments of `_rebuild_tensor_v2`, validated for sign and rank (not yet against the storage).
struct PickleTensor {
    var storage: PickleStorage
    var storageOffset: Int
    var shape: [Int]
    var strides: [Int]
}

indirect enum PickleValue {
    case none
    case bool(Bool)
    case int(Int)
    /// A LONG1 wider than 64 bits: little-endian two's complement bytes.
    case bigInt([UInt8])
    case float(Double)
    case string(String)
    case tuple([PickleValue])
    case list(PickleList)
    case dict(PickleDict)
    case global(PickleGlobal)
    case storage(PickleStorage)
    case tensor(PickleTensor)

    var kindName: String {
        switch self {
        case .none: return "None"
        case .bool: return "a bool"
        case .int, .bigInt: return "an int"
        case .float: return "a float"
        case .string: return "a string"
        case .tuple(let t): return "a tuple of \(t.count)"
        case .list: return "a list"
        case .dict: return "a dict"
        case .global(let g): return "the global \(g.name)"
        case .storage: return "a storage"
        case .tensor: return "a tensor"
        }
    }
}

struct RestrictedUnpickler {
    static let maxStack = 1 << 16
    static let maxMarkDepth = 64
    static let maxMemo = 1 << 20
    static let maxRank = 8

    let path: String
    /// What the pickle is, for errors: "data.pkl", "pickle 4 of the legacy layout".
    let what: String
    /// The pickle's bytes start at this file offset (offsets in errors are file offsets).
    let baseOffset: Int
    var reader: ByteReader
    private var stack: [PickleValue] = []
    private var marks: [Int] = []
    private var memo: [Int: PickleValue] = [:]
    /// Every storage seen, by key: a key named twice must name the same dtype and size.
    private(set) var storages: [String: PickleStorage] = [:]
    /// Where the lists and dicts are made (the caller releases it).
    let arena: PickleArena

    /// Reads one pickle starting at `offset` of `bytes` (the whole file or a zip entry).
    init(_ bytes: UnsafeRawBufferPointer, offset: Int, baseOffset: Int = 0, path: String, what: String,
         arena: PickleArena = PickleArena()) {
        self.path = path
        self.what = what
        self.baseOffset = baseOffset
        self.arena = arena
        reader = ByteReader(bytes, offset: offset, file: path)
    }

    /// Offset just past the STOP of the last pickle read.
    var offset: Int { reader.offset }

    private func fail(_ op: String, _ at: Int, _ message: String, kind: IngotError.Kind = .format) -> IngotError {
        IngotError(kind, file: path, location: "\(what): opcode \(op) at offset \(baseOffset + at)", message)
    }

    private mutating func push(_ v: PickleValue, _ op: String, _ at: Int) throws {
        guard stack.count < RestrictedUnpickler.maxStack else {
            throw fail(op, at, "stack depth \(stack.count + 1), expected at most \(RestrictedUnpickler.maxStack)")
        }
        stack.append(v)
    }

    private mutating func pop(_ op: String, _ at: Int) throws -> PickleValue {
        guard stack.count > (marks.last ?? 0) else {
            throw fail(op, at, "needs a value on the stack, found none\(marks.isEmpty ? "" : " above the mark")")
        }
        return stack.removeLast()
    }

    private mutating func popToMark(_ op: String, _ at: Int) throws -> [PickleValue] {
        guard let m = marks.popLast() else { throw fail(op, at, "needs a MARK, found none") }
        let items = Array(stack[m...])
        stack.removeSubrange(m...)
        return items
    }

    private mutating func top(_ op: String, _ at: Int) throws -> PickleValue {
        guard let v = stack.last, stack.count > (marks.last ?? 0) else {
            throw fail(op, at, "needs a value on the stack, found none")
        }
        return v
    }

    private mutating func memoPut(_ index: Int, _ op: String, _ at: Int) throws {
        guard index < RestrictedUnpickler.maxMemo else {
            throw fail(op, at, "memo index \(index), expected below \(RestrictedUnpickler.maxMemo)")
        }
        memo[index] = try top(op, at)
    }

    private mutating func memoGet(_ index: Int, _ op: String, _ at: Int) throws {
        guard let v = memo[index] else { throw fail(op, at, "memo index \(index) was never stored") }
        try push(v, op, at)
    }

    private mutating func line(_ op: String, _ at: Int) throws -> String {
        var bytes: [UInt8] = []
        while true {
            let b = try reader.u8("\(what): opcode \(op) at offset \(baseOffset + at): text line")
            if b == 0x0A { break }
            bytes.append(b)
            guard bytes.count <= 256 else { throw fail(op, at, "a module or name line longer than 256 bytes") }
        }
        guard let s = String(validating: bytes, as: UTF8.self) else { throw fail(op, at, "a line that is not UTF-8") }
        return s
    }

    /// Runs the pickle to its STOP and returns the value left on the stack.
    mutating func load() throws -> PickleValue {
        while true {
            let at = reader.offset
            let code = try reader.u8("\(what): opcode at offset \(baseOffset + at)")
            let field = "\(what): operand of opcode 0x\(String(code, radix: 16)) at offset \(baseOffset + at)"
            switch code {
            case 0x80: // PROTO
                let version = try reader.u8(field)
                guard version <= 2 else {
                    throw fail("PROTO", at, "protocol \(version), expected 2 or lower (torch.save writes protocol 2)", kind: .unsupported)
                }
            case 0x2E: // STOP '.'
                guard marks.isEmpty, stack.count == 1 else {
                    throw fail("STOP", at, "\(stack.count) values and \(marks.count) marks on the stack, expected exactly one value")
                }
                return stack.removeLast()
            case 0x28: // MARK '('
                guard marks.count < RestrictedUnpickler.maxMarkDepth else {
                    throw fail("MARK", at, "mark depth \(marks.count + 1), expected at most \(RestrictedUnpickler.maxMarkDepth)")
                }
                marks.append(stack.count)
            case 0x30: _ = try pop("POP", at) // '0'
            case 0x31: _ = try popToMark("POP_MARK", at) // '1'
            case 0x32: try push(try top("DUP", at), "DUP", at) // '2'
            case 0x4E: try push(.none, "NONE", at) // 'N'
            case 0x88: try push(.bool(true), "NEWTRUE", at)
            case 0x89: try push(.bool(false), "NEWFALSE", at)
            case 0x4A: try push(.int(Int(try reader.i32(field))), "BININT", at) // 'J'
            case 0x4B: try push(.int(Int(try reader.u8(field))), "BININT1", at) // 'K'
            case 0x4D: try push(.int(Int(try reader.u16(field))), "BININT2", at) // 'M'
            case 0x8A: // LONG1
                let n = Int(try reader.u8(field))
                let raw = Array(try reader.bytes(n, field))
                if n <= 8 {
                    var v: UInt64 = 0
                    for (i, b) in raw.enumerated() { v |= UInt64(b) << (8 * UInt64(i)) }
                    if n > 0, n < 8, raw[n - 1] & 0x80 != 0 { v |= ~0 << (8 * UInt64(n)) }
                    try push(.int(Int(Int64(bitPattern: v))), "LONG1", at)
                } else {
                    try push(.bigInt(raw), "LONG1", at)
                }
            case 0x47: // BINFLOAT 'G' (big-endian)
                try push(.float(Double(bitPattern: UInt64(bigEndian: try reader.read(UInt64.self, field).littleEndian))), "BINFLOAT", at)
            case 0x58: // BINUNICODE 'X'
                let n = Int(try reader.u32(field))
                try push(.string(try reader.utf8(n, field)), "BINUNICODE", at)
            case 0x55: // SHORT_BINSTRING 'U'
                let n = Int(try reader.u8(field))
                try push(.string(try reader.utf8(n, field)), "SHORT_BINSTRING", at)
            case 0x54: // BINSTRING 'T'
                let n = Int(try reader.i32(field))
                guard n >= 0 else { throw fail("BINSTRING", at, "length \(n), expected ≥ 0") }
                try push(.string(try reader.utf8(n, field)), "BINSTRING", at)
            case 0x29: try push(.tuple([]), "EMPTY_TUPLE", at) // ')'
            case 0x74: try push(.tuple(try popToMark("TUPLE", at)), "TUPLE", at) // 't'
            case 0x85: try push(.tuple([try pop("TUPLE1", at)]), "TUPLE1", at)
            case 0x86:
                let b = try pop("TUPLE2", at), a = try pop("TUPLE2", at)
                try push(.tuple([a, b]), "TUPLE2", at)
            case 0x87:
                let c = try pop("TUPLE3", at), b = try pop("TUPLE3", at), a = try pop("TUPLE3", at)
                try push(.tuple([a, b, c]), "TUPLE3", at)
            case 0x5D: try push(.list(arena.list()), "EMPTY_LIST", at) // ']'
            case 0x6C: // LIST 'l'
                let list = arena.list()
                list.items = try popToMark("LIST", at)
                try push(.list(list), "LIST", at)
            case 0x61: // APPEND 'a'
                let v = try pop("APPEND", at)
                guard case .list(let list) = try top("APPEND", at) else {
                    throw fail("APPEND", at, "target is \(try top("APPEND", at).kindName), expected a list")
                }
                list.items.append(v)
            case 0x65: // APPENDS 'e'
                let items = try popToMark("APPENDS", at)
                guard case .list(let list) = try top("APPENDS", at) else {
                    throw fail("APPENDS", at, "target is \(try top("APPENDS", at).kindName), expected a list")
                }
                list.items.append(contentsOf: items)
            case 0x7D: try push(.dict(arena.dict()), "EMPTY_DICT", at) // '}'
            case 0x64: // DICT 'd'
                let items = try popToMark("DICT", at)
                let dict = arena.dict()
                try setItems(dict, items, "DICT", at)
                try push(.dict(dict), "DICT", at)
            case 0x73: // SETITEM 's'
                let v = try pop("SETITEM", at), k = try pop("SETITEM", at)
                guard case .dict(let dict) = try top("SETITEM", at) else {
                    throw fail("SETITEM", at, "target is \(try top("SETITEM", at).kindName), expected a dict")
                }
                try setItems(dict, [k, v], "SETITEM", at)
            case 0x75: // SETITEMS 'u'
                let items = try popToMark("SETITEMS", at)
                guard case .dict(let dict) = try top("SETITEMS", at) else {
                    throw fail("SETITEMS", at, "target is \(try top("SETITEMS", at).kindName), expected a dict")
                }
                try setItems(dict, items, "SETITEMS", at)
            case 0x63: // GLOBAL 'c'
                let module = try line("GLOBAL", at), name = try line("GLOBAL", at)
                let qualified = module + "." + name
                guard let g = PickleGlobal.allowed[qualified] else {
                    throw fail("GLOBAL", at, "global \(qualified) is not allowed: a state-dict pickle names only "
                                + PickleGlobal.allowed.keys.sorted().joined(separator: ", ") + " (Ingot never runs code from a checkpoint)")
                }
                try push(.global(g), "GLOBAL", at)
            case 0x52: // REDUCE 'R'
                let args = try pop("REDUCE", at), callable = try pop("REDUCE", at)
                try push(try reduce(callable, args, at), "REDUCE", at)
            case 0x62: // BUILD 'b'
                let state = try pop("BUILD", at)
                let target = try top("BUILD", at)
                // An OrderedDict from Module.state_dict() carries `_metadata` (versions) as its state.
                guard case .dict = target else {
                    throw fail("BUILD", at, "target is \(target.kindName), expected an OrderedDict")
                }
                switch state {
                case .dict, .none: break
                case .bool, .int, .bigInt, .float, .string, .tuple, .list, .global, .storage, .tensor:
                    throw fail("BUILD", at, "state is \(state.kindName), expected a dict of attributes")
                }
            case 0x51: // BINPERSID 'Q'
                let pid = try pop("BINPERSID", at)
                try push(.storage(try persistentStorage(pid, at)), "BINPERSID", at)
            case 0x71: try memoPut(Int(try reader.u8(field)), "BINPUT", at) // 'q'
            case 0x72: try memoPut(Int(try reader.u32(field)), "LONG_BINPUT", at) // 'r'
            case 0x68: try memoGet(Int(try reader.u8(field)), "BINGET", at) // 'h'
            case 0x6A: try memoGet(Int(try reader.u32(field)), "LONG_BINGET", at) // 'j'
            default:
                throw fail(opcodeName(code), at, "not in the accepted subset (protocol 2 opcodes a state dict uses; Formats/pytorch-pickle.md)")
            }
        }
    }

    private func setItems(_ dict: PickleDict, _ items: [PickleValue], _ op: String, _ at: Int) throws {
        guard items.count % 2 == 0 else { throw fail(op, at, "\(items.count) values after the mark, expected key/value pairs") }
        for i in stride(from: 0, to: items.count, by: 2) {
            switch items[i] {
            case .string, .int, .bool, .none: break
            case .bigInt, .float, .tuple, .list, .dict, .global, .storage, .tensor:
                throw fail(op, at, "key \(items[i].kindName), expected a string or int")
            }
            dict.entries.append((items[i], items[i + 1]))
        }
    }

    private func reduce(_ callable: PickleValue, _ args: PickleValue, _ at: Int) throws -> PickleValue {
        guard case .global(let g) = callable else {
            throw fail("REDUCE", at, "callable is \(callable.kindName), expected an allowed global")
        }
        guard case .tuple(let a) = args else { throw fail("REDUCE", at, "arguments are \(args.kindName), expected a tuple") }
        switch g {
        case .orderedDict:
            guard a.isEmpty else { throw fail("REDUCE", at, "collections.OrderedDict with \(a.count) arguments, expected ()") }
            return .dict(arena.dict())
        case .rebuildTensorV2:
            // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
            guard a.count == 6 || a.count == 7 else {
                throw fail("REDUCE", at, "_rebuild_tensor_v2 with \(a.count) arguments, expected 6 or 7")
            }
            guard case .storage(let storage) = a[0] else { throw fail("REDUCE", at, "_rebuild_tensor_v2 argument 0 is \(a[0].kindName), expected a storage") }
            guard case .int(let offset) = a[1], offset >= 0 else {
                throw fail("REDUCE", at, "_rebuild_tensor_v2 storage_offset is \(describe(a[1])), expected an int ≥ 0")
            }
            let shape = try intTuple(a[2], "size", at)
            let strides = try intTuple(a[3], "stride", at)
            guard shape.count == strides.count else {
                throw fail("REDUCE", at, "_rebuild_tensor_v2 size has \(shape.count) dimensions and stride \(strides.count), expected equal")
            }
            guard case .bool = a[4] else { throw fail("REDUCE", at, "_rebuild_tensor_v2 requires_grad is \(a[4].kindName), expected a bool") }
            try emptyHooks(a[5], "_rebuild_tensor_v2", at)
            if a.count == 7 {
                switch a[6] {
                case .dict, .none: break
                case .bool, .int, .bigInt, .float, .string, .tuple, .list, .global, .storage, .tensor:
                    throw fail("REDUCE", at, "_rebuild_tensor_v2 metadata is \(a[6].kindName), expected a dict")
                }
            }
            return .tensor(PickleTensor(storage: storage, storageOffset: offset, shape: shape, strides: strides))
        case .rebuildParameter:
            // (data, requires_grad, backward_hooks)
            guard a.count == 3, case .tensor = a[0], case .bool = a[1] else {
                throw fail("REDUCE", at, "_rebuild_parameter with (\(a.map(\.kindName).joined(separator: ", "))), expected (a tensor, a bool, an empty OrderedDict)")
            }
            try emptyHooks(a[2], "_rebuild_parameter", at)
            return a[0]
        case .storage(let dtype):
            throw fail("REDUCE", at, "a call of \(PickleGlobal.storage(dtype).name), expected it only as the storage type of a persistent id")
        }
    }

    private func describe(_ v: PickleValue) -> String {
        if case .int(let n) = v { return String(n) }
        return v.kindName
    }

    private func intTuple(_ v: PickleValue, _ what: String, _ at: Int) throws -> [Int] {
        guard case .tuple(let items) = v, items.count <= RestrictedUnpickler.maxRank else {
            throw fail("REDUCE", at, "_rebuild_tensor_v2 \(what) is \(v.kindName), expected a tuple of at most \(RestrictedUnpickler.maxRank) ints")
        }
        return try items.enumerated().map { i, item in
            guard case .int(let n) = item, n >= 0, n <= Int(Int32.max) * 2 else {
                throw fail("REDUCE", at, "_rebuild_tensor_v2 \(what)[\(i)] is \(describe(item)), expected an int in 0...\(Int(Int32.max) * 2)")
            }
            return n
        }
    }

    private func emptyHooks(_ v: PickleValue, _ function: String, _ at: Int) throws {
        guard case .dict(let d) = v, d.entries.isEmpty else {
            throw fail("REDUCE", at, "\(function) backward_hooks is \(v.kindName), expected an empty OrderedDict")
        }
    }

    private mutating func persistentStorage(_ pid: PickleValue, _ at: Int) throws -> PickleStorage {
        let expected = "('storage', torch.<Type>Storage, key, location, numel)"
        guard case .tuple(let t) = pid, t.count == 5 || t.count == 6 else {
            throw fail("BINPERSID", at, "persistent id is \(pid.kindName), expected \(expected)")
        }
        guard case .string("storage") = t[0] else { throw fail("BINPERSID", at, "persistent id tag is \(t[0].kindName), expected 'storage'") }
        guard case .global(.storage(let dtype)) = t[1] else {
            throw fail("BINPERSID", at, "storage type is \(t[1].kindName), expected one of the torch.<Type>Storage globals")
        }
        guard case .string(let key) = t[2], !key.isEmpty, key.utf8.count <= 64 else {
            throw fail("BINPERSID", at, "storage key is \(t[2].kindName), expected a non-empty string of at most 64 bytes")
        }
        guard case .string = t[3] else { throw fail("BINPERSID", at, "storage location is \(t[3].kindName), expected a string such as 'cpu'") }
        guard case .int(let numel) = t[4], numel >= 0, numel <= Int.max / 8 else {
            throw fail("BINPERSID", at, "storage '\(key)' size is \(describe(t[4])), expected an int in 0...\(Int.max / 8)")
        }
        if t.count == 6 {
            guard case .none = t[5] else {
                throw fail("BINPERSID", at, "storage '\(key)' view metadata is \(t[5].kindName), expected None (storage views are not supported)", kind: .unsupported)
            }
        }
        let storage = PickleStorage(dtype: dtype, key: key, elementCount: numel)
        if let prior = storages[key], prior != storage {
            throw fail("BINPERSID", at, "storage '\(key)' named as \(numel) × \(dtype), earlier as \(prior.elementCount) × \(prior.dtype)")
        }
        storages[key] = storage
        return storage
    }
}

/// The pickle opcode name for errors (every protocol, so refused opcodes are named too).
func opcodeName(_ code: UInt8) -> String {
    let names: [UInt8: String] = [
        0x28: "MARK", 0x2E: "STOP", 0x30: "POP", 0x31: "POP_MARK", 0x32: "DUP", 0x46: "FLOAT", 0x49: "INT",
        0x4A: "BININT", 0x4B: "BININT1", 0x4C: "LONG", 0x4D: "BININT2", 0x4E: "NONE", 0x50: "PERSID",
        0x51: "BINPERSID", 0x52: "REDUCE", 0x53: "STRING", 0x54: "BINSTRING", 0x55: "SHORT_BINSTRING",
        0x56: "UNICODE", 0x58: "BINUNICODE", 0x61: "APPEND", 0x62: "BUILD", 0x63: "GLOBAL", 0x64: "DICT",
        0x7D: "EMPTY_DICT", 0x65: "APPENDS", 0x67: "GET", 0x68: "BINGET", 0x69: "INST", 0x6A: "LONG_BINGET",
        0x6C: "LIST", 0x5D: "EMPTY_LIST", 0x6F: "OBJ", 0x70: "PUT", 0x71: "BINPUT", 0x72: "LONG_BINPUT",
        0x73: "SETITEM", 0x74: "TUPLE", 0x29: "EMPTY_TUPLE", 0x75: "SETITEMS", 0x47: "BINFLOAT",
        0x80: "PROTO", 0x81: "NEWOBJ", 0x82: "EXT1", 0x83: "EXT2", 0x84: "EXT4", 0x85: "TUPLE1", 0x86: "TUPLE2",
        0x87: "TUPLE3", 0x88: "NEWTRUE", 0x89: "NEWFALSE", 0x8A: "LONG1", 0x8B: "LONG4", 0x42: "BINBYTES",
        0x43: "SHORT_BINBYTES", 0x8C: "SHORT_BINUNICODE", 0x8D: "BINUNICODE8", 0x8E: "BINBYTES8",
        0x8F: "EMPTY_SET", 0x90: "ADDITEMS", 0x91: "FROZENSET", 0x92: "NEWOBJ_EX", 0x93: "STACK_GLOBAL",
        0x94: "MEMOIZE", 0x95: "FRAME", 0x96: "BYTEARRAY8", 0x97: "NEXT_BUFFER", 0x98: "READONLY_BUFFER",
    ]
    return names[code] ?? "0x" + String(code, radix: 16)
}
