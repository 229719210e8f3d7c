// GGUFBuilder: GGUF v3 bytes for tests, with metadata of any value type and tensors laid
// out packed at the alignment as llama.cpp writes them; `bytes` can make the header lie
// about offsets or dims. It does not validate anything.

import IngotCore

public struct GGUFBuilder {
    public var kv: [(String, UInt32, [UInt8])] = []
    public var tensors: [(String, [UInt64], UInt32, [UInt8])] = []
    public var alignment = 32
    public var version: UInt32 = 3

    public init() {}

    public static func str(_ s: String) -> [UInt8] {
        var w = ByteWriter()
        w.u64(UInt64(s.utf8.count))
        w.append(Array(s.utf8))
        return w.bytes
    }

    public mutating func add(_ key: String, type: UInt32, _ payload: [UInt8]) { kv.append((key, type, payload)) }
    public mutating func addU32(_ key: String, _ v: UInt32) { var w = ByteWriter(); w.u32(v); add(key, type: 4, w.bytes) }
    public mutating func addString(_ key: String, _ v: String) { add(key, type: 8, GGUFBuilder.str(v)) }

    /// Tensor data is laid out in order, each aligned.
    public func bytes(offsets: [UInt64]? = nil, dims: [[UInt64]]? = nil) -> [UInt8] {
        var w = ByteWriter()
        w.u32(0x4655_4747)
        w.u32(version)
        w.u64(UInt64(tensors.count))
        w.u64(UInt64(kv.count))
        for (k, t, p) in kv { w.append(GGUFBuilder.str(k)); w.u32(t); w.append(p) }
        var offset: UInt64 = 0
        var computed: [UInt64] = []
        for (i, (name, ne, type, data)) in tensors.enumerated() {
            w.append(GGUFBuilder.str(name))
            let shape = dims?[i] ?? ne
            w.u32(UInt32(shape.count))
            for d in shape { w.u64(d) }
            w.u32(type)
            // The header may lie (`offsets`); the data always sits at the natural offsets.
            w.u64(offsets?[i] ?? offset)
            computed.append(offset)
            offset = (offset + UInt64(data.count) + UInt64(alignment) - 1) / UInt64(alignment) * UInt64(alignment)
        }
        w.pad(to: alignment)
        let start = w.count
        for (i, (_, _, _, data)) in tensors.enumerated() {
            while w.count < start + Int(computed[i]) { w.u8(0) }
            w.append(data)
        }
        return w.bytes
    }
}
