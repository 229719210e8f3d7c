// Test support for runtime tests: the real models built into .ingot artifacts once per
// test process, and readers of the PyTorch reference outputs in Fixtures/reference.
import Foundation
import XCTest
import IngotCheckpoint
import IngotCompiler
import IngotCore
import IngotEval
import IngotImport
import IngotPasses
import IngotTestSupport



enum BuiltArtifacts {
    static let directory: URL = try! TempDirectory.make("ingot-artifacts")
    private static var cache: [String: Result<String, Error>] = [:]
    private static let lock = NSLock()

    /// Path of the float32 artifact built from `source` (built on first use).
    /// With `evaluation`, all of `calibration` calibrates (as `ingot build --calibration C --eval E`);
    /// without it, every fifth calibration line is held out.
    static func path(for source: URL, name: String, passes: String? = nil, calibration: String? = nil,
                     evaluation: String? = nil) throws -> String {
        lock.lock()
        defer { lock.unlock() }
        if let cached = cache[name] { return try cached.get() }
        let out = directory.appendingPathComponent(name + ".ingot").path
        let result = Result {
            var options = BuildOptions()
            if let passes { options.pipeline = try Pipeline.parse(passes) }
            let imported = try ModelImporter.importModel(at: source.path)
            var calibrator: ModelCalibrator?
            if let calibration, let spec = imported.tokenizer {
                let data = try EvaluationData.load(calibrationFile: calibration, evaluationFile: evaluation, tokenizer: spec,
                                                   isEncoder: imported.architecture == "bert")
                calibrator = ModelCalibrator(data: data.calibration, models: GraphModels(reference: imported.graph, tokenizerSpec: spec))
            }
            options.passContext = PassContext(calibrator: calibrator, verifyBetweenPasses: true)
            return try ArtifactBuilder.write(imported, source: source.path, output: out, options: options).outputPath
        }
        cache[name] = result
        return try result.get()
    }

    static func miniLM() throws -> String { try path(for: try requireModel(TestPaths.miniLMDir), name: "minilm") }
    /// MiniLM built with `passes`, calibrated on all calibration sentences and evaluated on the
    /// dev sentences (as `ingot build --calibration C --eval E`).
    static func miniLMCalibrated(name: String, passes: String) throws -> String {
        try path(for: try requireModel(TestPaths.miniLMDir), name: name, passes: passes,
                 calibration: TestPaths.fixtures.appendingPathComponent("eval/calibration-sentences.txt").path,
                 evaluation: TestPaths.fixtures.appendingPathComponent("eval/minilm-dev-sentences.txt").path)
    }
    static func smolLM2() throws -> String { try path(for: try requireModel(TestPaths.smolLM2GGUF), name: "smollm2") }
    /// The int8 recipe the closing note reports: fused, SmoothQuant α = 0.5, per-channel 8-bit
    /// int8, the most sensitive layers kept float until 1 − mean cosine ≤ 0.001 on calibration text.
    static func miniLMInt8() throws -> String {
        try path(for: try requireModel(TestPaths.miniLMDir), name: "minilm-int8", passes: "fuse,quantize=int8:weight-bits=8:smooth=0.5:max-drop=0.001",
                 calibration: TestPaths.fixtures.appendingPathComponent("eval/calibration-sentences.txt").path)
    }
    /// The packed recipe: 7-bit weights for the packed u8 × s7 kernel, the most sensitive layers
    /// back to 8 bits until the calibration output error is ≤ 0.00105, calibrated on all 361
    /// calibration sentences (as `ingot build --calibration C --eval E`).
    static func miniLMInt8Packed() throws -> String {
        try miniLMCalibrated(name: "minilm-int8-packed", passes: "fuse,quantize=int8:weight-bits=7:smooth=0.5:max-drop=0.00105,pack")
    }
    /// The short command: `fuse,quantize=int8` with every option at its default (the `auto`
    /// values stand for the packed recipe above; `pack` is implied).
    static func miniLMInt8Defaults() throws -> String {
        try miniLMCalibrated(name: "minilm-int8-defaults", passes: "fuse,quantize=int8")
    }
    /// int8 weights in 32-input groups, float activations (weight-only): the language-model recipe.
    static func smolLM2Int8() throws -> String {
        try path(for: try requireModel(TestPaths.smolLM2GGUF), name: "smollm2-int8", passes: "fuse,quantize=int8:group=32:mode=weight-only")
    }
    static func miniLMFused() throws -> String { try path(for: try requireModel(TestPaths.miniLMDir), name: "minilm-fused", passes: "fuse") }
    static func smolLM2Fused() throws -> String { try path(for: try requireModel(TestPaths.smolLM2GGUF), name: "smollm2-fused", passes: "fuse") }
}

/// Float32 view of a tensor in a reference safetensors file.
func referenceFloats(_ file: SafetensorsCheckpoint, _ name: String) throws -> [Float] {
    try file.floats(name).toArray(of: Float.self)
}

func referenceInts(_ file: SafetensorsCheckpoint, _ name: String) throws -> [Int32] {
    let info = try XCTUnwrap(file.tensor(named: name))
    XCTAssertEqual(info.dtype, .i32)
    return try file.buffer(name).toArray(of: Int32.self)
}

func cosine(_ a: [Float], _ b: [Float]) -> Double {
    var dot = 0.0, na = 0.0, nb = 0.0
    for i in 0..<a.count {
        dot += Double(a[i]) * Double(b[i])
        na += Double(a[i]) * Double(a[i])
        nb += Double(b[i]) * Double(b[i])
    }
    return dot / (na.squareRoot() * nb.squareRoot())
}

/// Reads a JSONL file of objects.
func readJSONL(_ url: URL) throws -> [JSONValue] {
    let text = try String(contentsOf: url, encoding: .utf8)
    return try text.split(separator: "\n").map { try JSONValue.parse(String($0)) }
}

/// Token ids of the 300 MiniLM dev sentences (PyTorch reference tokenization).
func miniLMDevSentenceIDs() throws -> [[Int32]] {
    try readJSONL(try referenceFile("minilm/dev/tokens.jsonl")).map { row in (row["input_ids"]?.array ?? []).map { Int32($0.int!) } }
}
