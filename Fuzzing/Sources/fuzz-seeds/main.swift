// fuzz-seeds: writes the seed corpora Fixtures/fuzz/<target>/ — small valid inputs of every
// kind the fuzz targets read, built from the real models in $INGOT_MODELS (default
// .cache/models) and the project's fixtures, plus cut headers of the real files:
//   safetensors  a tiny BERT checkpoint (MiniLM's tensor names and dtypes, weights cut to
//                hidden 16), one tensor of every dtype with metadata
//   gguf         a tiny LLaMA (SmolLM2's metadata with 400 tokens, hidden 32, one layer,
//                six quant types), every metadata value type with every dequantizable tensor
//                type, the first 4 KiB of the SmolLM2 file
//   artifact     the tiny models built by ArtifactBuilder (float32, fused, int8 packed,
//                sparse, int8 weight-only), rewritten with every section and tensor raw
//   tokenizer    the two tiny models' TOKN sections
//   pytorch      the PyTorch fixtures (Fixtures/pytorch: zip and legacy layouts, every dtype,
//                views, the hostile pickles)
//   vocab, recipe, jsonl, report, encode: small text files (recipes of Formats/passes.md,
//                the fixture reports and a --fail-if line, dev sentences)
// Run from the repository root: scripts/fuzz.sh --seeds. The same models give the same
// bytes. It fuzzes nothing.
import Foundation
import IngotArtifact
import IngotCheckpoint
import IngotCompiler
import IngotCore
@testable import IngotImport
import IngotPasses

let models = ProcessInfo.processInfo.environment["INGOT_MODELS"] ?? ".cache/models"
let miniLM = models + "/all-MiniLM-L6-v2"
let smolLM2 = models + "/SmolLM2-135M-Instruct.Q4_1.gguf"
let output = "Fixtures/fuzz"
let work = FileManager.default.temporaryDirectory.appendingPathComponent("ingot-fuzz-seeds-\(getpid())").path

func seed(_ target: String, _ name: String, _ bytes: [UInt8]) throws {
    let folder = output + "/" + target
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    try Data(bytes).write(to: URL(fileURLWithPath: folder + "/" + name))
}

func seed(_ target: String, _ name: String, _ text: String) throws { try seed(target, name, Array(text.utf8)) }

func writeFile(_ path: String, _ bytes: [UInt8]) throws {
    try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    try Data(bytes).write(to: URL(fileURLWithPath: path))
}

func readFile(_ path: String) throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: path))) }

var random = SplitMix64(seed: 14)
func randomBytes(_ n: Int) -> [UInt8] { (0..<n).map { _ in UInt8(truncatingIfNeeded: random.next()) } }
func le<T: FixedWidthInteger>(_ v: T) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }

// MARK: safetensors

struct STTensor { var name: String; var dtype: String; var shape: [Int]; var bytes: [UInt8] }

/// A safetensors file: header entries in the given order, data contiguous, header padded to 8.
func safetensorsBytes(_ tensors: [STTensor], metadata: [(String, String)]) -> [UInt8] {
    var entries: [(String, JSONValue)] = []
    if !metadata.isEmpty { entries.append(("__metadata__", .object(metadata.map { ($0.0, .string($0.1)) }))) }
    var offset = 0
    for t in tensors {
        entries.append((t.name, .object([("dtype", .string(t.dtype)), ("shape", .array(t.shape.map { .number(Double($0)) })),
                                        ("data_offsets", .array([.number(Double(offset)), .number(Double(offset + t.bytes.count))]))])))
        offset += t.bytes.count
    }
    var header = Array(JSONValue.object(entries).serialized().utf8)
    while header.count % 8 != 0 { header.append(0x20) }
    return le(UInt64(header.count)) + header + tensors.flatMap(\.bytes)
}

/// Every dtype the reader knows, with metadata.
func everyDTypeSafetensors() -> [UInt8] {
    let halves = [0.5, -1.25, 3.0].flatMap { le(halfBitsFromFloat(Float($0))) }
    let bhalves = [0.5, -2.0, 7.5, 1e-3].flatMap { le(bfloat16BitsFromFloat(Float($0))) }
    return safetensorsBytes([
        STTensor(name: "f32", dtype: "F32", shape: [2, 3], bytes: [1, -2, 3.5, 0, 1e-7, -0.0].flatMap { le(Float($0).bitPattern) }),
        STTensor(name: "f16", dtype: "F16", shape: [3], bytes: halves),
        STTensor(name: "bf16", dtype: "BF16", shape: [2, 2], bytes: bhalves),
        STTensor(name: "f64", dtype: "F64", shape: [], bytes: le(Double(2.5).bitPattern)),
        STTensor(name: "i8", dtype: "I8", shape: [4], bytes: [0x80, 0xFF, 0, 0x7F]),
        STTensor(name: "u8", dtype: "U8", shape: [2], bytes: [0, 255]),
        STTensor(name: "i16", dtype: "I16", shape: [2], bytes: le(Int16(-300)) + le(Int16(300))),
        STTensor(name: "i32", dtype: "I32", shape: [1, 2], bytes: le(Int32.min) + le(Int32(7))),
        STTensor(name: "i64", dtype: "I64", shape: [1], bytes: le(Int64(1) << 40)),
        STTensor(name: "bool", dtype: "BOOL", shape: [3], bytes: [0, 1, 2]),
        STTensor(name: "empty", dtype: "F32", shape: [0, 4], bytes: []),
    ], metadata: [("format", "pt"), ("note", "every dtype")])
}

// MARK: tiny BERT (a Hugging Face folder with MiniLM's names, weights cut)

let bertVocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    + "abcdefghijklmnopqrstuvwxyz0123456789.,!?'-:".map(String.init)
    + ["the", "model", "deploy", "how", "do", "i", "is", "what", "quant", "##ization", "##s", "##ing", "##ed",
       "hello", "world", "cafe", "東", "京", "##ly", "un", "##able"]

/// MiniLM's embedding and layer-0 tensors, every dimension cut (384 → 16, 1536 → 32,
/// 30522 → the tiny vocabulary, 512 → 16 positions).
func tinyBertFolder(_ dir: String) throws {
    let source = try SafetensorsCheckpoint(path: miniLM)
    let cut: [Int: Int] = [384: 16, 1536: 32, 30522: bertVocabulary.count, 512: 16, 2: 2]
    var tensors: [STTensor] = []
    for name in source.tensorNames where name.hasPrefix("embeddings.") || name.hasPrefix("encoder.layer.0.") {
        guard let info = source.tensor(named: name), info.dtype == .f32 else { continue }
        let shape = info.shape.map { cut[$0]! }
        let full = try source.floats(name).toArray(of: Float.self)
        var values: [Float] = []
        if shape.count == 1 {
            values = Array(full[0..<shape[0]])
        } else {
            for r in 0..<shape[0] { values += full[(r * info.shape[1])..<(r * info.shape[1] + shape[1])] }
        }
        tensors.append(STTensor(name: name, dtype: "F32", shape: shape, bytes: values.flatMap { le($0.bitPattern) }))
    }
    try writeFile(dir + "/model.safetensors", safetensorsBytes(tensors, metadata: [("format", "pt")]))
    let config = """
        {"architectures": ["BertModel"], "model_type": "bert", "hidden_size": 16, "num_attention_heads": 2,
         "num_hidden_layers": 1, "intermediate_size": 32, "vocab_size": \(bertVocabulary.count),
         "max_position_embeddings": 16, "type_vocab_size": 2, "layer_norm_eps": 1e-12, "hidden_act": "gelu",
         "position_embedding_type": "absolute"}
        """
    try writeFile(dir + "/config.json", Array(config.utf8))
    try writeFile(dir + "/vocab.txt", Array((bertVocabulary.joined(separator: "\n") + "\n").utf8))
    try writeFile(dir + "/tokenizer_config.json", try readFile(miniLM + "/tokenizer_config.json"))
    try writeFile(dir + "/sentence_bert_config.json", Array("{\"max_seq_length\": 16, \"do_lower_case\": false}".utf8))
    try writeFile(dir + "/modules.json", try readFile(miniLM + "/modules.json"))
    try writeFile(dir + "/1_Pooling/config.json", Array("""
        {"word_embedding_dimension": 16, "pooling_mode_cls_token": false, "pooling_mode_mean_tokens": true,
         "pooling_mode_max_tokens": false, "pooling_mode_mean_sqrt_len_tokens": false}
        """.utf8))
}

// MARK: GGUF

func ggufString(_ s: String) -> [UInt8] { le(UInt64(s.utf8.count)) + Array(s.utf8) }

func ggufTypeCode(_ v: GGUFValue) -> UInt32 {
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

func ggufPayload(_ v: GGUFValue) -> [UInt8] {
    switch v {
    case .uint8(let x): return [x]
    case .int8(let x): return le(x)
    case .uint16(let x): return le(x)
    case .int16(let x): return le(x)
    case .uint32(let x): return le(x)
    case .int32(let x): return le(x)
    case .float32(let x): return le(x.bitPattern)
    case .bool(let x): return [x ? 1 : 0]
    case .string(let s): return ggufString(s)
    case .array(let type, let items): return le(type) + le(UInt64(items.count)) + items.flatMap(ggufPayload)
    case .uint64(let x): return le(x)
    case .int64(let x): return le(x)
    case .float64(let x): return le(x.bitPattern)
    }
}

struct GGUFTensorSeed { var name: String; var ne: [Int]; var type: GGMLType; var data: [UInt8] }

/// GGUF v3: header, metadata in order, tensor infos, data aligned to `alignment`.
func ggufBytes(_ metadata: [(String, GGUFValue)], _ tensors: [GGUFTensorSeed], alignment: Int = 32) -> [UInt8] {
    var b = le(UInt32(0x4655_4747)) + le(UInt32(3)) + le(UInt64(tensors.count)) + le(UInt64(metadata.count))
    for (key, value) in metadata { b += ggufString(key) + le(ggufTypeCode(value)) + ggufPayload(value) }
    var offset = 0
    var offsets: [Int] = []
    for t in tensors {
        b += ggufString(t.name) + le(UInt32(t.ne.count)) + t.ne.flatMap { le(UInt64($0)) } + le(t.type.rawValue) + le(UInt64(offset))
        offsets.append(offset)
        offset = (offset + t.data.count + alignment - 1) / alignment * alignment
    }
    while b.count % alignment != 0 { b.append(0) }
    let start = b.count
    for (t, o) in zip(tensors, offsets) {
        while b.count < start + o { b.append(0) }
        b += t.data
    }
    return b
}

/// Plausible stored bytes for `elements` weights of `type`: random codes, every f16 scale
/// set to a small finite value.
func ggmlData(_ type: GGMLType, elements: Int) -> [UInt8] {
    let traits = type.traits
    var data = randomBytes(elements / traits.blockSize * traits.typeSize)
    let small = le(halfBitsFromFloat(0.01))
    var halfOffsets: [Int] = []
    switch type {
    case .q4_0, .q5_0, .q8_0: halfOffsets = [0]
    case .q4_1, .q5_1, .q4_K, .q5_K: halfOffsets = [0, 2]
    case .q6_K: halfOffsets = [208]
    case .f16: halfOffsets = stride(from: 0, to: traits.typeSize, by: 2).map { $0 }
    case .f32:
        return (0..<elements).flatMap { _ in le((Float(Int(random.next() % 200) - 100) / 1000).bitPattern) }
    case .bf16:
        return (0..<elements).flatMap { _ in le(bfloat16BitsFromFloat(Float(Int(random.next() % 200) - 100) / 1000)) }
    case .f64:
        return (0..<elements).flatMap { _ in le((Double(Int(random.next() % 200) - 100) / 1000).bitPattern) }
    case .i8, .i16, .i32, .i64, .q8_1, .q2_K, .q3_K, .q8_K, .iq2_xxs, .iq2_xs, .iq3_xxs, .iq1_s, .iq4_nl, .iq3_s,
         .iq2_s, .iq4_xs, .iq1_m, .tq1_0, .tq2_0:
        return data
    }
    for block in stride(from: 0, to: data.count, by: traits.typeSize) {
        for h in halfOffsets { data[block + h] = small[0]; data[block + h + 1] = small[1] }
    }
    return data
}

/// SmolLM2's metadata with the model shrunk to hidden 32, one layer, 400 tokens (17 control
/// tokens, the 256 byte tokens, the first merges' results), and tensors in six storage types.
func tinyLlamaGGUF() throws -> [UInt8] {
    let real = try GGUFFile(path: smolLM2)
    let vocabulary = 400
    let tokens = Array(real["tokenizer.ggml.tokens"]!.stringArray!.prefix(vocabulary))
    let known = Set(tokens)
    let merges = real["tokenizer.ggml.merges"]!.stringArray!.filter { m in
        let parts = m.split(separator: " ", omittingEmptySubsequences: false)
        return parts.count == 2 && known.contains(String(parts[0])) && known.contains(String(parts[1])) && known.contains(parts.joined())
    }
    let changed: [String: GGUFValue] = [
        "llama.block_count": .uint32(1), "llama.context_length": .uint32(64), "llama.embedding_length": .uint32(32),
        "llama.feed_forward_length": .uint32(64), "llama.attention.head_count": .uint32(4),
        "llama.attention.head_count_kv": .uint32(2), "llama.vocab_size": .uint32(UInt32(vocabulary)),
        "llama.rope.dimension_count": .uint32(8),
        "tokenizer.ggml.tokens": .array(8, tokens.map(GGUFValue.string)),
        "tokenizer.ggml.token_type": .array(5, Array(real["tokenizer.ggml.token_type"]!.array!.prefix(vocabulary))),
        "tokenizer.ggml.merges": .array(8, merges.map(GGUFValue.string)),
    ]
    let metadata = real.metadata.map { ($0.key, changed[$0.key] ?? $0.value) }
    let tensors = [
        GGUFTensorSeed(name: "token_embd.weight", ne: [32, vocabulary], type: .q8_0, data: ggmlData(.q8_0, elements: 32 * vocabulary)),
        GGUFTensorSeed(name: "blk.0.attn_norm.weight", ne: [32], type: .f32, data: ggmlData(.f32, elements: 32)),
        GGUFTensorSeed(name: "blk.0.attn_q.weight", ne: [32, 32], type: .q4_1, data: ggmlData(.q4_1, elements: 32 * 32)),
        GGUFTensorSeed(name: "blk.0.attn_k.weight", ne: [32, 16], type: .q4_0, data: ggmlData(.q4_0, elements: 32 * 16)),
        GGUFTensorSeed(name: "blk.0.attn_v.weight", ne: [32, 16], type: .q5_0, data: ggmlData(.q5_0, elements: 32 * 16)),
        GGUFTensorSeed(name: "blk.0.attn_output.weight", ne: [32, 32], type: .q5_1, data: ggmlData(.q5_1, elements: 32 * 32)),
        GGUFTensorSeed(name: "blk.0.ffn_norm.weight", ne: [32], type: .f32, data: ggmlData(.f32, elements: 32)),
        GGUFTensorSeed(name: "blk.0.ffn_gate.weight", ne: [32, 64], type: .q4_1, data: ggmlData(.q4_1, elements: 32 * 64)),
        GGUFTensorSeed(name: "blk.0.ffn_up.weight", ne: [32, 64], type: .q8_0, data: ggmlData(.q8_0, elements: 32 * 64)),
        GGUFTensorSeed(name: "blk.0.ffn_down.weight", ne: [64, 32], type: .f16, data: ggmlData(.f16, elements: 64 * 32)),
        GGUFTensorSeed(name: "output_norm.weight", ne: [32], type: .f32, data: ggmlData(.f32, elements: 32)),
    ]
    return ggufBytes(metadata, tensors)
}

/// One metadata key of every value type (nested arrays included) and one tensor of every
/// dequantizable type, 64-byte aligned.
func everyTypeGGUF() -> [UInt8] {
    let metadata: [(String, GGUFValue)] = [
        ("general.architecture", .string("test")), ("general.alignment", .uint32(64)),
        ("u8", .uint8(200)), ("i8", .int8(-5)), ("u16", .uint16(60000)), ("i16", .int16(-30000)),
        ("u32", .uint32(4_000_000_000)), ("i32", .int32(-7)), ("f32", .float32(0.25)), ("bool", .bool(true)),
        ("string", .string("naïve 東京")), ("u64", .uint64(1 << 40)), ("i64", .int64(-1)), ("f64", .float64(1e-300)),
        ("strings", .array(8, [.string("a"), .string(""), .string("ĠĊ")])),
        ("nested", .array(9, [.array(4, [.uint32(1), .uint32(2)]), .array(4, [])])),
    ]
    let types: [GGMLType] = GGMLType.allCases.filter { $0.traits.dequantizable }
    let tensors = types.map { GGUFTensorSeed(name: "t.\($0.name)", ne: [256, 2], type: $0, data: ggmlData($0, elements: 512)) }
    return ggufBytes(metadata, tensors, alignment: 64)
}

// MARK: artifacts

/// The artifact at `path` rewritten with every tensor and section stored raw (so mutations hit
/// the payloads, not zstd frames).
func rawArtifact(_ path: String) throws -> [UInt8] {
    let reader = try ArtifactReader(path: path, verify: .full)
    var options = ArtifactWriteOptions()
    options.compressTensors = .never
    let rawPath = path + ".raw.ingot"
    let writer = try ArtifactWriter(path: rawPath, options: options)
    for t in reader.tensors {
        let buffer = try reader.tensor(t.name)
        try writer.addTensor(name: t.name, dtype: t.dtype, shape: t.shape, bytes: buffer.raw)
    }
    for s in reader.sections where s.kind != .tensorData && s.kind != .tensorIndex {
        try writer.addSection(s.kind, payload: try reader.payload(s.kind)!, required: s.required, compress: false)
    }
    _ = try writer.commit()
    return try readFile(rawPath)
}

func build(_ source: String, passes: String, _ name: String) throws -> String {
    var options = BuildOptions()
    if !passes.isEmpty { options.pipeline = try Pipeline.parse(passes) }
    let path = work + "/" + name + ".ingot"
    _ = try ArtifactBuilder.build(source: source, output: path, options: options)
    return path
}

// MARK: main

do {
    try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: work) }
    for target in ["safetensors", "gguf", "artifact", "tokenizer", "vocab", "recipe", "jsonl", "report", "encode", "pytorch"] {
        try? FileManager.default.removeItem(atPath: output + "/" + target)
    }

    // safetensors
    let bert = work + "/tiny-bert"
    try tinyBertFolder(bert)
    try seed("safetensors", "tiny-bert.safetensors", try readFile(bert + "/model.safetensors"))
    try seed("safetensors", "every-dtype.safetensors", everyDTypeSafetensors())

    // gguf
    let llama = work + "/tiny-llama.gguf"
    try writeFile(llama, try tinyLlamaGGUF())
    try seed("gguf", "tiny-llama.gguf", try readFile(llama))
    try seed("gguf", "every-type.gguf", everyTypeGGUF())
    try seed("gguf", "smollm2-first-4k.gguf", Array(try readFile(smolLM2).prefix(4096)))

    // artifacts and their tokenizer sections
    let artifacts = [
        (bert, "", "tiny-bert"), (bert, "fuse,quantize=int8:weight-bits=7,pack", "tiny-bert-int8-packed"),
        (bert, "prune=magnitude:0.8,sparsify", "tiny-bert-sparse"), (llama, "fuse", "tiny-llama-fused"),
        (llama, "fuse,quantize=int8:group=32:mode=weight-only", "tiny-llama-int8-weight-only"),
    ]
    for (source, passes, name) in artifacts {
        try seed("artifact", name + ".artifact", try rawArtifact(try build(source, passes: passes, name)))
    }
    for name in ["tiny-bert", "tiny-llama-fused"] {
        let reader = try ArtifactReader(path: work + "/" + name + ".ingot")
        try seed("tokenizer", name + ".tokn", try reader.payload(.tokenizer)!)
    }

    // PyTorch .bin files, as torch wrote them
    for (folder, file) in [("tiny-bert/zip", "pytorch_model.bin"), ("tiny-bert/legacy", "pytorch_model.bin"),
                           ("mixed/zip", "mixed.bin"), ("mixed/legacy", "mixed.bin"), ("hostile", "os-system.bin"),
                           ("hostile", "os-system-legacy.bin"), ("hostile", "plain-pickle.bin")] {
        try seed("pytorch", folder.replacingOccurrences(of: "/", with: "-") + "-" + file,
                 try readFile("Fixtures/pytorch/\(folder)/\(file)"))
    }
    // Found by fuzz-pytorch: a list holding itself (a reference cycle the reader must free).
    try seed("pytorch", "self-containing-list.pkl", [0x80, 0x02, 0x5D, 0x71, 0x00, 0x68, 0x00, 0x61, 0x2E])

    // vocab.txt
    try seed("vocab", "tiny.txt", bertVocabulary.joined(separator: "\n") + "\n")
    let realVocabulary = String(decoding: try readFile(miniLM + "/vocab.txt"), as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
    try seed("vocab", "minilm-first-200.txt", realVocabulary.prefix(200).joined(separator: "\n") + "\n")

    // recipes and --passes text (Formats/passes.md)
    try seed("recipe", "passes-md.yaml", """
        passes:
          - fuse
          - quantize: {type: int8, mode: static, calibrate: percentile, percentile: 99.99, max_drop: 0.002}

        """)
    try seed("recipe", "every-pass.yaml", """
        # every pass, block style
        passes:
          - prune:
              method: structured
              ffn: 0.3
              heads: 0.25
          - reconstruct: {damping: 0.01, rows: 4096}
          - distill: {mode: student, layers: [0, 2, 4], steps: 400, lr: 0.0002, checkpoint: l3.ckpt, resume: false}
          - sparsify: {min_sparsity: 0.75}
          - quantize: {type: int8, weight_bits: 7, smooth: 0.5, max_drop: 0.00105, embeddings: f32}
          - pack: {eight_bit: u7}

        """)
    // Found by fuzz-recipe: a pass-order error, which does not name the recipe file.
    try seed("recipe", "pass-order-unnamed.yaml", """
        # every pass, block style
        passes:
          - prune:
              method: structured
              ffn: 0.3
              heads: 0.25
          - reconstruct: {damping: 0.01, rows: 4096}
          - distill: {mode: student, layers: [0, 2, 4], }
          - pack: {eight_bit: u7}

        """)
    // Found by fuzz-recipe: a mapping key that is not a scalar makes Yams.load force-unwrap nil
    // (Yams 5.0.1 Constructor.swift:426), a trap instead of an error.
    try seed("recipe", "yams-non-scalar-key.yaml", "? [a]\n: 1\n")
    try seed("recipe", "anchors.yml", "int8: &int8 {type: int8, mode: dynamic, group: 32}\npasses: [fuse, {quantize: *int8}, pack]\n")
    try seed("recipe", "recipe.json", "{\"passes\": [\"fuse\", {\"quantize\": {\"type\": \"int8\", \"mode\": \"weight-only\", \"group\": 64}}]}\n")
    try seed("recipe", "passes.txt", "fuse,quantize=int8:weight-bits=7:smooth=0.5:max-drop=0.00105,pack")
    try seed("recipe", "student.txt", "distill=student:layers=0,2,4:steps=400:lr=0.0002:checkpoint=l3.ckpt")

    // JSONL input
    let sentences = String(decoding: try readFile("Fixtures/eval/minilm-dev-sentences.txt"), as: UTF8.self)
        .split(separator: "\n").prefix(4).map(String.init)
    try seed("jsonl", "dev.jsonl", sentences.enumerated().map {
        JSONValue.object([("id", .number(Double($0.offset))), ("text", .string($0.element))]).serialized()
    }.joined(separator: "\n") + "\n")
    try seed("jsonl", "mixed.jsonl", "{\"id\": \"a\", \"text\": \"caf\\u00e9 \\ud83d\\ude42\"}\r\n\n   \n{\"text\": \"no id\", \"extra\": [1, 2.5e3, null, true]}\n{\"id\": {\"k\": -0.0}, \"text\": \"\"}")

    // reports
    for name in ["minilm-fp32.json", "minilm-int8.json", "minilm-l3-student.json"] {
        try seed("report", name, try readFile("Fixtures/reports/" + name))
    }
    try seed("report", "gate.txt", "latency.rows[0].p50_ratio >= 1.05\n")

    // text for the real tokenizers
    for (i, s) in sentences.prefix(2).enumerated() { try seed("encode", "dev-\(i).txt", s) }
    try seed("encode", "unicode.txt", "Naïve café déjà vu — ÅNGSTRÖM ﬁ ß İ 東京タワー 한국어 العربية 🙂👍🏽 \u{200B}zero\u{00A0}width")
    try seed("encode", "chat.txt", "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nWhat's 12,345.67 × 8?<|im_end|>\n<|im_start|>assistant\n")
    // Bytes SmolLM2's vocabulary has no symbol for: the lead byte F1 of U+5F3FD, 0x04, 0x06.
    try seed("encode", "unrepresentable-bytes.txt", "fun👍\u{5F3FD} Int) \u{8}\u{4}\u{6}\u{0}'ll")
    try seed("encode", "code.txt", "func f(_ x: Int) -> Int {\n\treturn x &* 31 // it'll wrap; they've, we're, I'd\n}\n   \n\n")
    print("fuzz-seeds: wrote \(output)")
} catch {
    FileHandle.standardError.write(Data("fuzz-seeds: \(error)\n".utf8))
    exit(1)
}
