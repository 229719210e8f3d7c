// Test support: where fixtures, the PyTorch reference outputs (Fixtures/reference) and the
// cached real models live. Tests that need a real model fail loudly in CI (CI=true) and skip
// elsewhere; a missing reference file is always a failure (it is part of the checkout).

import Foundation
import IngotCore
import XCTest

public enum TestPaths {
    /// The package root (the folder holding Package.swift), found from this source file.
    public static let packageRoot: URL = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
        }
        fatalError("Package.swift not found above \(#filePath)")
    }()

    public static var fixtures: URL { packageRoot.appendingPathComponent("Fixtures") }

    /// The PyTorch reference outputs the tests compare with, cut from ../shared/reference
    /// (Fixtures/reference/README.md).
    public static var reference: URL { fixtures.appendingPathComponent("reference") }

    /// The model cache filled by scripts/setup.sh: .cache/models, or $INGOT_MODELS.
    public static var models: URL {
        if let env = ProcessInfo.processInfo.environment["INGOT_MODELS"] { return URL(fileURLWithPath: env) }
        return packageRoot.appendingPathComponent(".cache/models")
    }

    /// all-MiniLM-L6-v2 folder (config.json, model.safetensors, vocab.txt, 1_Pooling/...).
    public static var miniLMDir: URL { models.appendingPathComponent("all-MiniLM-L6-v2") }
    /// SmolLM2-135M-Instruct Q4_1 GGUF file.
    public static var smolLM2GGUF: URL { models.appendingPathComponent("SmolLM2-135M-Instruct.Q4_1.gguf") }
    /// Gemma 3 270M Q4_K_M GGUF (scripts/setup.sh --zoo gemma3-270m).
    public static var gemma3GGUF: URL { models.appendingPathComponent("gemma-3-270m-q4_k_m.gguf") }
    /// Qwen2.5-Coder 0.5B Instruct Q4_K_M GGUF (scripts/setup.sh --zoo qwen2.5-0.5b).
    public static var qwen25GGUF: URL { models.appendingPathComponent("qwen2.5-coder-0.5b-instruct-q4_k_m.gguf") }
    /// all-mpnet-base-v2 Hugging Face folder (scripts/zoo.sh).
    public static var mpnetDir: URL { models.appendingPathComponent("all-mpnet-base-v2") }
    /// nomic-embed-text-v1.5 F16 GGUF (scripts/zoo.sh).
    public static var nomicGGUF: URL { models.appendingPathComponent("nomic-embed-text-v1.5.f16.gguf") }
    /// EmbeddingGemma-300M Hugging Face folder (scripts/setup.sh --zoo embeddinggemma-300m).
    public static var embeddingGemmaDir: URL { models.appendingPathComponent("embeddinggemma-300m") }

    /// paraphrase-MiniLM-L3-v2 ONNX export, float32 (scripts/zoo.sh paraphrase-minilm-l3-v2).
    public static var paraphraseONNX: URL { models.appendingPathComponent("paraphrase-MiniLM-L3-v2.onnx") }
    /// all-MiniLM-L6-v2 ONNX export with int8 weights (scripts/zoo.sh minilm-l6-v2-int8).
    public static var miniLMInt8ONNX: URL { models.appendingPathComponent("all-MiniLM-L6-v2-int8.onnx") }

    public static var isCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    /// Returns the path if it exists; otherwise nil (the caller skips), or a failure message in CI.
    public static func require(_ url: URL) -> URL? {
        FileManager.default.fileExists(atPath: url.path) ? url : nil
    }
}

/// The path of a cached model; skips the test when absent, fails it in CI.
public func requireModel(_ url: URL, file: StaticString = #filePath, line: UInt = #line) throws -> URL {
    if let found = TestPaths.require(url) { return found }
    if TestPaths.isCI { XCTFail("missing \(url.path): scripts/setup.sh should have cached it", file: file, line: line) }
    throw XCTSkip("\(url.path) not cached; run scripts/setup.sh")
}

/// A file of Fixtures/reference; throws (the test fails, never skips) when it is missing.
public func referenceFile(_ relative: String) throws -> URL {
    let url = TestPaths.reference.appendingPathComponent(relative)
    guard FileManager.default.fileExists(atPath: url.path) else {
        throw IngotError(.io, file: url.path, "reference fixture missing from the checkout")
    }
    return url
}
