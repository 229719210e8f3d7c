// Seeds of the mutation run: a tiny BERT checkpoint folder (safetensors + config.json, the
// real MiniLM tokenizer files), a tiny LLaMA GGUF (the real SmolLM2 tokenizer metadata, small
// F32/F16/Q8_0/Q4_0/Q4_1 tensors) and the .ingot artifacts built from them by `ingot build`.
// Tiny weights keep one run of a mutant under a second, so thousands fit in minutes. While
// writing, each writer records where its structural fields lie (counts, lengths, types,
// offsets) so the mutator can aim at them. It does not mutate or run anything.

import Foundation
import IngotCheckpoint
import IngotCore

/// A byte range holding one structural field of a seed file.
struct FieldSlot { var offset: Int; var width: Int }

struct SeedFile {
    var bytes: [UInt8]
    var fields: [FieldSlot]
}

enum Seeds {
    // MARK: tiny BERT folder

    /// Writes `dir` as a BERT checkpoint folder with MiniLM's tokenizer and shapes scaled down
    /// (hidden 384 → 32, intermediate 1536 → 64, positions 512 → 64, 6 layers → 1).
    /// Returns the safetensors file with its header fields.
    static func writeTinyBert(from minilm: URL, to dir: URL, rng: inout SplitMix64) throws -> SeedFile {
        let fm = FileManager.default
        try? fm.removeItem(at: dir)
        try fm.createDirectory(at: dir, withIntermediateDirectories: true)
        for name in try fm.contentsOfDirectory(atPath: minilm.path) where name != "model.safetensors" && name != "README.md" {
            try fm.copyItem(at: minilm.appendingPathComponent(name), to: dir.appendingPathComponent(name))
        }
        var config = try JSONSerialization.jsonObject(with: Data(contentsOf: minilm.appendingPathComponent("config.json"))) as! [String: Any]
        config["hidden_size"] = 32
        config["intermediate_size"] = 64
        config["num_attention_heads"] = 4
        config["num_hidden_layers"] = 1
        config["max_position_embeddings"] = 64
        try JSONSerialization.data(withJSONObject: config, options: [.sortedKeys, .prettyPrinted])
            .write(to: dir.appendingPathComponent("config.json"))
        let sbert = dir.appendingPathComponent("sentence_bert_config.json")
        if var s = (try? JSONSerialization.jsonObject(with: Data(contentsOf: sbert))) as? [String: Any] {
            s["max_seq_length"] = 64
            try JSONSerialization.data(withJSONObject: s, options: [.sortedKeys]).write(to: sbert)
        }

        let scale: [Int: Int] = [384: 32, 1536: 64, 512: 64]
        var tensors: [(String, String, [Int])] = [("embeddings.position_ids", "I64", [1, 64])]
        tensors.append(("embeddings.word_embeddings.weight", "F32", [30522, 384]))
        tensors.append(("embeddings.position_embeddings.weight", "F32", [512, 384]))
        tensors.append(("embeddings.token_type_embeddings.weight", "F32", [2, 384]))
        tensors.append(("embeddings.LayerNorm.weight", "F32", [384]))
        tensors.append(("embeddings.LayerNorm.bias", "F32", [384]))
        let layer = "encoder.layer.0."
        for (name, shape) in [("attention.self.query", [384, 384]), ("attention.self.key", [384, 384]),
                              ("attention.self.value", [384, 384]), ("attention.output.dense", [384, 384]),
                              ("intermediate.dense", [1536, 384]), ("output.dense", [384, 1536])] {
            tensors.append((layer + name + ".weight", "F32", shape))
            tensors.append((layer + name + ".bias", "F32", [shape[0]]))
        }
        for name in ["attention.output.LayerNorm", "output.LayerNorm"] {
            tensors.append((layer + name + ".weight", "F32", [384]))
            tensors.append((layer + name + ".bias", "F32", [384]))
        }
        tensors.append(("pooler.dense.weight", "F32", [384, 384]))
        tensors.append(("pooler.dense.bias", "F32", [384]))
        tensors = tensors.map { ($0.0, $0.1, $0.2.map { scale[$0] ?? $0 }) }

        var header = "{\"__metadata__\":{\"format\":\"pt\"}"
        var data: [UInt8] = []
        for (name, dtype, shape) in tensors {
            let count = shape.reduce(1, *)
            let start = data.count
            if dtype == "I64" {
                for i in 0..<count { withUnsafeBytes(of: Int64(i).littleEndian) { data += $0 } }
            } else {
                let isNormWeight = name.hasSuffix("LayerNorm.weight")
                for _ in 0..<count {
                    let v: Float = isNormWeight ? 1 : Float(Int(rng.next() % 2001) - 1000) * 0.00005
                    withUnsafeBytes(of: v.bitPattern.littleEndian) { data += $0 }
                }
            }
            header += ",\"\(name)\":{\"dtype\":\"\(dtype)\",\"shape\":[\(shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(start),\(data.count)]}"
        }
        header += "}"
        while (8 + header.utf8.count) % 8 != 0 { header += " " }
        var file: [UInt8] = []
        withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { file += $0 }
        file += Array(header.utf8)
        file += data
        try Data(file).write(to: dir.appendingPathComponent("model.safetensors"))
        // Structural fields: the header length and every number in the JSON header.
        var fields = [FieldSlot(offset: 0, width: 8)]
        var i = 8
        let end = 8 + header.utf8.count
        while i < end {
            if file[i] >= 0x30 && file[i] <= 0x39 {
                var j = i
                while j < end && file[j] >= 0x30 && file[j] <= 0x39 { j += 1 }
                fields.append(FieldSlot(offset: i, width: j - i))
                i = j
            } else { i += 1 }
        }
        return SeedFile(bytes: file, fields: fields)
    }

    // MARK: tiny LLaMA GGUF

    /// A GGUF v3 file with SmolLM2's tokenizer metadata and 2 layers of width 64 (4 heads,
    /// 2 KV heads, feed-forward 128), tensors in F32, F16, Q8_0, Q4_0 and Q4_1.
    static func tinyLlamaGGUF(from smol: URL, rng: inout SplitMix64) throws -> SeedFile {
        let real = try GGUFFile(path: smol.path)
        var w = GGUFWriter()
        let overrides: [String: GGUFValue] = [
            "llama.block_count": .uint32(2), "llama.context_length": .uint32(256),
            "llama.embedding_length": .uint32(64), "llama.feed_forward_length": .uint32(128),
            "llama.attention.head_count": .uint32(4), "llama.attention.head_count_kv": .uint32(2),
            "llama.rope.dimension_count": .uint32(16),
        ]
        var tensors: [(String, GGMLType, [Int])] = [("token_embd.weight", .q8_0, [64, 49152])]
        for b in 0..<2 {
            let p = "blk.\(b)."
            tensors += [(p + "attn_norm.weight", .f32, [64]), (p + "ffn_down.weight", .q4_1, [128, 64]),
                        (p + "ffn_gate.weight", .q4_1, [64, 128]), (p + "ffn_up.weight", .f16, [64, 128]),
                        (p + "ffn_norm.weight", .f32, [64]), (p + "attn_k.weight", .q8_0, [64, 32]),
                        (p + "attn_output.weight", .f32, [64, 64]), (p + "attn_q.weight", .q8_0, [64, 64]),
                        (p + "attn_v.weight", .q4_0, [64, 32])]
        }
        tensors.append(("output_norm.weight", .f32, [64]))
        w.header(tensorCount: tensors.count, kvCount: real.metadata.count)
        for entry in real.metadata {
            w.keyValue(entry.key, overrides[entry.key] ?? entry.value)
        }
        var blobs: [[UInt8]] = []
        var offset = 0
        for (name, type, ne) in tensors {
            let blob = randomTensor(type: type, count: ne.reduce(1, *), norm: name.hasSuffix("norm.weight"), rng: &rng)
            w.tensorInfo(name, ne: ne, type: type.rawValue, offset: offset)
            blobs.append(blob)
            offset += (blob.count + 31) / 32 * 32
        }
        w.align(32)
        for blob in blobs {
            w.bytes += blob
            w.align(32)
        }
        return SeedFile(bytes: w.bytes, fields: w.fields)
    }

    static func randomTensor(type: GGMLType, count: Int, norm: Bool, rng: inout SplitMix64) -> [UInt8] {
        var out: [UInt8] = []
        func f16(_ v: Float) { withUnsafeBytes(of: Float16Bits.from(v).littleEndian) { out += $0 } }
        func small() -> Float { Float(Int(rng.next() % 2001) - 1000) * 0.00005 }
        switch type {
        case .f32:
            for _ in 0..<count { withUnsafeBytes(of: (norm ? 1 : small()).bitPattern.littleEndian) { out += $0 } }
        case .f16:
            for _ in 0..<count { f16(small()) }
        case .q8_0:
            for _ in 0..<(count / 32) { f16(0.0004); for _ in 0..<32 { out.append(UInt8(truncatingIfNeeded: rng.next())) } }
        case .q4_0:
            for _ in 0..<(count / 32) { f16(0.006); for _ in 0..<16 { out.append(UInt8(truncatingIfNeeded: rng.next())) } }
        case .q4_1:
            for _ in 0..<(count / 32) { f16(0.006); f16(-0.045); for _ in 0..<16 { out.append(UInt8(truncatingIfNeeded: rng.next())) } }
        case .q5_0, .q5_1, .q8_1, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .q8_K, .iq2_xxs, .iq2_xs, .iq3_xxs, .iq1_s, .iq4_nl,
             .iq3_s, .iq2_s, .iq4_xs, .i8, .i16, .i32, .i64, .f64, .iq1_m, .bf16, .tq1_0, .tq2_0:
            fatalError("the seed writer does not produce \(type)")
        }
        return out
    }
}

/// IEEE half-precision bits of a Float (round to nearest even; the seeds only use normal values).
enum Float16Bits {
    static func from(_ v: Float) -> UInt16 {
        #if arch(x86_64) || arch(arm64)
        return Float16(v).bitPattern
        #else
        fatalError("Float16 unavailable")
        #endif
    }
}

/// GGUF v3 writer recording the offsets of its structural fields.
struct GGUFWriter {
    var bytes: [UInt8] = []
    var fields: [FieldSlot] = []

    mutating func int<T: FixedWidthInteger>(_ v: T, field: Bool) {
        if field { fields.append(FieldSlot(offset: bytes.count, width: MemoryLayout<T>.size)) }
        withUnsafeBytes(of: v.littleEndian) { bytes += $0 }
    }

    mutating func string(_ s: String) {
        int(UInt64(s.utf8.count), field: true)
        bytes += Array(s.utf8)
    }

    mutating func header(tensorCount: Int, kvCount: Int) {
        bytes += Array("GGUF".utf8)
        int(UInt32(3), field: true)
        int(UInt64(tensorCount), field: true)
        int(UInt64(kvCount), field: true)
    }

    mutating func keyValue(_ key: String, _ value: GGUFValue) {
        string(key)
        int(Self.typeCode(value), field: true)
        self.value(value, topLevel: true)
    }

    static func typeCode(_ v: GGUFValue) -> UInt32 {
        switch v {
        case .uint8: return 0
        case .int8: return 1
        case .uint16: return 2
        case .int16: return 3
        case .uint32: return 4
        case .int32: return 5
        case .float32: return 6
        case .bool: return 7
        case .string: return 8
        case .array: return 9
        case .uint64: return 10
        case .int64: return 11
        case .float64: return 12
        }
    }

    /// Scalars at top level are fields (a value a mutant may change); strings inside large arrays
    /// keep only their length fields for the first few, so a mutant does not mostly hit tokens.
    mutating func value(_ v: GGUFValue, topLevel: Bool) {
        switch v {
        case .uint8(let x): int(x, field: topLevel)
        case .int8(let x): int(x, field: topLevel)
        case .uint16(let x): int(x, field: topLevel)
        case .int16(let x): int(x, field: topLevel)
        case .uint32(let x): int(x, field: topLevel)
        case .int32(let x): int(x, field: topLevel)
        case .float32(let x): int(x.bitPattern, field: topLevel)
        case .bool(let x): int(UInt8(x ? 1 : 0), field: topLevel)
        case .uint64(let x): int(x, field: topLevel)
        case .int64(let x): int(x, field: topLevel)
        case .float64(let x): int(x.bitPattern, field: topLevel)
        case .string(let s):
            if topLevel { string(s) } else { int(UInt64(s.utf8.count), field: false); bytes += Array(s.utf8) }
        case .array(let type, let items):
            int(type, field: true)
            int(UInt64(items.count), field: true)
            for (i, item) in items.enumerated() {
                if i < 4, case .string = item { fields.append(FieldSlot(offset: bytes.count, width: 8)) }
                value(item, topLevel: false)
            }
        }
    }

    mutating func tensorInfo(_ name: String, ne: [Int], type: UInt32, offset: Int) {
        string(name)
        int(UInt32(ne.count), field: true)
        for n in ne { int(UInt64(n), field: true) }
        int(type, field: true)
        int(UInt64(offset), field: true)
    }

    mutating func align(_ n: Int) {
        while bytes.count % n != 0 { bytes.append(0) }
    }
}
