// ArtifactBuilder: checkpoint → .ingot. Imports the model, verifies the graph, then
// streams every weight into the artifact one tensor at a time (peak memory ≈ the largest
// tensor plus compression buffers), followed by the graph, tokenizer, provenance and
// metadata sections. Output is deterministic; nothing is written at the destination
// unless the whole build succeeds. The pass pipeline, when given, runs on the imported graph
// before any byte is written; its records go into the provenance section.

import Crypto
import IngotArtifact
import IngotCore
import IngotImport
import IngotIR
import IngotPasses

public struct BuildOptions: Sendable {
    public var compressTensors: ArtifactWriteOptions.TensorCompression = .auto
    public var zstdLevel: Int32 = 3
    /// Sign the artifact with this key (Formats/ingot-v1.md, "Signature").
    public var signingKey: SigningKey?
    /// Passes to apply to the imported graph (none: the plain float graph).
    public var pipeline = Pipeline(steps: [])
    public var passContext = PassContext()
    /// A GGUF's block-quantized weights: kept as stored (the default) when no pass runs; the
    /// passes read float32 weights, so a pipeline imports them expanded.
    public var blockWeights: BlockWeightChoice = .native
    public init() {}
}

public struct BuildSummary: Sendable {
    public var architecture: String
    public var outputPath: String
    public var tensorCount: Int
    public var parameterCount: Int
    public var sourceBytes: Int
    public var artifactBytes: Int
    public var compressedTensors: Int
    public var passes: [PassRecord]
    /// The signer's key id when the artifact was signed.
    public var signerKeyID: String?
    /// Time from the end of the passes to the committed file (weights computed and written).
    public var writeSeconds: Double = 0
}

/// Progress of a long step: (done, total, item name).
public typealias BuildProgress = (Int, Int, String) -> Void

public enum ArtifactBuilder {
    public static func build(source: String, output: String, options: BuildOptions = .init(),
                             progress: BuildProgress? = nil) throws -> BuildSummary {
        let model = try ModelImporter.importModel(at: source, blockWeights: options.pipeline.steps.isEmpty ? options.blockWeights : .float32)
        return try write(model, source: source, output: output, options: options, progress: progress)
    }

    public static func write(_ imported: ImportedModel, source: String, output: String, options: BuildOptions,
                             progress: BuildProgress? = nil) throws -> BuildSummary {
        try imported.graph.verify()
        // A tokenizer the artifact reader would refuse is refused here, before any work.
        try imported.tokenizer?.checkEncodable(file: source)
        var model = imported
        let records = try options.pipeline.run(&model.graph, context: options.passContext)
        if !records.isEmpty { try model.graph.verify() }
        let writeStart = ContinuousClock.now
        var writeOptions = ArtifactWriteOptions()
        writeOptions.compressTensors = options.compressTensors
        writeOptions.zstdLevel = options.zstdLevel
        writeOptions.signingKey = options.signingKey
        let writer = try ArtifactWriter(path: output, options: writeOptions)
        do {
            let constants = model.graph.constants
            for (i, constant) in constants.enumerated() {
                let value = model.graph[constant.value]
                progress?(i, constants.count, value.name)
                guard let source = constant.source, let shape = value.type.shape.fixedSizes else {
                    throw IngotError(.internal, location: "constant '\(value.name)'", "has no data source or a symbolic shape")
                }
                let buffer = try source.load()
                let expected = value.type.dtype.byteCount(shape: shape) ?? -1
                guard buffer.byteCount == expected else {
                    throw IngotError(.internal, location: "constant '\(value.name)'",
                                     "loaded \(buffer.byteCount) bytes from \(source.origin), expected \(expected)")
                }
                try buffer.withBytes { try writer.addTensor(name: value.name, dtype: value.type.dtype, shape: shape, bytes: $0) }
                source.release()
            }
            progress?(constants.count, constants.count, "sections")
            try writer.addSection(.graph, payload: GraphCodec.encode(model.graph), required: true)
            if let tokenizer = model.tokenizer {
                try writer.addSection(.tokenizer, payload: tokenizer.encoded(), required: false)
            }
            let provenance = try Provenance.make(model: model, passes: records)
            try writer.addSection(.provenance, payload: Array(provenance.serialized(pretty: true).utf8), required: false)
            try writer.addSection(.metadata, payload: Array(metadata(model).serialized(pretty: true).utf8), required: false)
            let summary = try writer.commit()
            let written = (ContinuousClock.now - writeStart).components
            return BuildSummary(
                architecture: model.architecture, outputPath: output, tensorCount: constants.count,
                parameterCount: model.graph.parameterCount,
                sourceBytes: model.sourceFiles.reduce(0) { $0 + ((try? MappedFile(path: $1).count) ?? 0) },
                artifactBytes: summary.fileSize, compressedTensors: summary.compressedTensorCount, passes: records,
                signerKeyID: summary.signerKeyID,
                writeSeconds: Double(written.seconds) + Double(written.attoseconds) / 1e18)
        } catch {
            writer.abort()
            throw error
        }
    }

    static func metadata(_ model: ImportedModel) -> JSONValue {
        .object([
            ("architecture", .string(model.architecture)),
            ("graph", .string(model.graph.name)),
            ("parameters", .number(Double(model.graph.parameterCount))),
            ("hyper_parameters", .object(model.hyperParameters.map { ($0.0, .string($0.1)) })),
        ])
    }
}

public enum Provenance {
    /// Source files with their sizes and SHA-256, the toolchain, and the passes applied with
    /// their options and statistics (no timings: the section stays deterministic).
    public static func make(model: ImportedModel, passes: [PassRecord] = []) throws -> JSONValue {
        var sources: [JSONValue] = []
        for path in model.sourceFiles {
            var hasher = SHA256()
            var size = 0
            try forEachChunk(ofFile: path) { chunk in
                hasher.update(bufferPointer: chunk)
                size += chunk.count
            }
            let digest = hasher.finalize()
            let hex = digest.map { byte in
                let s = String(byte, radix: 16)
                return s.count == 1 ? "0" + s : s
            }.joined()
            sources.append(.object([
                ("file", .string(basename(path))),
                ("bytes", .number(Double(size))),
                ("sha256", .string(hex)),
            ]))
        }
        return .object([
            ("toolchain", .string("ingot \(IngotVersion.string)")),
            ("sources", .array(sources)),
            ("passes", .array(passes.map { record in
                .object([
                    ("name", .string(record.name)),
                    ("options", .object(record.options.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })),
                    ("stats", .object(record.stats.map { ($0.0, .number($0.1)) })),
                ])
            })),
        ])
    }
}

func basename(_ path: String) -> String {
    path.split(separator: "/").last.map(String.init) ?? path
}
