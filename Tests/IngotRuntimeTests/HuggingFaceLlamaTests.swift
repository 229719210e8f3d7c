// LLaMA from a Hugging Face folder (config.json + safetensors, half-rotation RoPE): a tiny
// random model imported, built and run, against a float64 forward pass written here from
// the architecture's definition.
import Foundation
import XCTest
import IngotCompiler
import IngotCore
import IngotTestSupport
@testable import IngotRuntime

final class HuggingFaceLlamaTests: XCTestCase {
    let hidden = 8, heads = 2, kvHeads = 1, inter = 12, vocab = 11, layers = 2
    let theta = 10000.0, eps = 1e-5

    /// Deterministic weights in [-0.5, 0.5).
    func weights(_ name: String, _ shape: [Int]) -> [Float] {
        var h: UInt64 = 1469598103934665603
        for b in name.utf8 { h = (h ^ UInt64(b)) &* 1099511628211 }
        return (0..<shape.reduce(1, *)).map { i in
            var x = h &+ UInt64(i) &* 0x9E3779B97F4A7C15
            x = (x ^ (x >> 31)) &* 0xBF58476D1CE4E5B9
            return Float(Double(x >> 11) / Double(1 << 53) - 0.5)
        }
    }

    func shapes() -> [(String, [Int])] {
        let d = hidden / heads
        var out: [(String, [Int])] = [("model.embed_tokens.weight", [vocab, hidden]), ("model.norm.weight", [hidden]),
                                      ("lm_head.weight", [vocab, hidden])]
        for l in 0..<layers {
            let p = "model.layers.\(l)."
            out += [(p + "input_layernorm.weight", [hidden]), (p + "self_attn.q_proj.weight", [hidden, hidden]),
                    (p + "self_attn.k_proj.weight", [kvHeads * d, hidden]), (p + "self_attn.v_proj.weight", [kvHeads * d, hidden]),
                    (p + "self_attn.o_proj.weight", [hidden, hidden]), (p + "post_attention_layernorm.weight", [hidden]),
                    (p + "mlp.gate_proj.weight", [inter, hidden]), (p + "mlp.up_proj.weight", [inter, hidden]),
                    (p + "mlp.down_proj.weight", [hidden, inter])]
        }
        return out
    }

    func makeCheckpoint() throws -> URL {
        let dir = try TempDirectory.make("hf-llama")
        try """
            {"model_type": "llama", "hidden_size": \(hidden), "num_attention_heads": \(heads), "num_key_value_heads": \(kvHeads),
             "num_hidden_layers": \(layers), "intermediate_size": \(inter), "vocab_size": \(vocab),
             "max_position_embeddings": 64, "rope_theta": \(theta), "rms_norm_eps": \(eps), "hidden_act": "silu",
             "tie_word_embeddings": false, "rope_scaling": null}
            """.write(to: dir.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        try SafetensorsWriter.write(shapes().map { name, shape in
            let w = weights(name, shape)
            return TestTensor.f32(name, shape) { w[$0] }
        }, to: dir.appendingPathComponent("model.safetensors"))
        return dir
    }

    /// Issue 14, crash 2: `num_key_value_heads: 0` trapped on `heads % kvHeads` at build.
    func testZeroKeyValueHeadsIsAConfigErrorNamingTheField() throws {
        let dir = try makeCheckpoint()
        let config = dir.appendingPathComponent("config.json")
        let text = try String(contentsOf: config, encoding: .utf8)
        try text.replacingOccurrences(of: "\"num_key_value_heads\": \(kvHeads)", with: "\"num_key_value_heads\": 0")
            .write(to: config, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ArtifactBuilder.build(source: dir.path, output: dir.appendingPathComponent("x.ingot").path)) { error in
            let e = error as! IngotError
            XCTAssertEqual(e.kind, .format)
            XCTAssertEqual(e.file, config.path)
            XCTAssertEqual(e.message, "num_key_value_heads: value 0, expected an integer in 1...2")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("x.ingot").path))
    }

    /// Float64 reference: logits [ids.count][vocab].
    func referenceLogits(_ ids: [Int]) -> [[Double]] {
        let d = hidden / heads, T = ids.count
        func W(_ name: String) -> [Double] { weights(name, shapes().first { $0.0 == name }!.1).map(Double.init) }
        func linear(_ x: [Double], _ w: [Double], _ outDim: Int) -> [Double] {
            let inDim = x.count
            return (0..<outDim).map { o in (0..<inDim).reduce(0) { $0 + x[$1] * w[o * inDim + $1] } }
        }
        func rms(_ x: [Double], _ w: [Double]) -> [Double] {
            let r = 1 / (x.reduce(0) { $0 + $1 * $1 } / Double(x.count) + eps).squareRoot()
            return x.indices.map { x[$0] * r * w[$0] }
        }
        func rope(_ v: [Double], _ pos: Int, _ nHeads: Int) -> [Double] {
            var out = v
            for h in 0..<nHeads {
                for i in 0..<(d / 2) {
                    let angle = Double(pos) * pow(theta, -2 * Double(i) / Double(d))
                    let a = v[h * d + i], b = v[h * d + i + d / 2]
                    out[h * d + i] = a * cos(angle) - b * sin(angle)
                    out[h * d + i + d / 2] = a * sin(angle) + b * cos(angle)
                }
            }
            return out
        }
        let emb = W("model.embed_tokens.weight")
        var x = ids.map { id in Array(emb[(id * hidden)..<((id + 1) * hidden)]) }
        for l in 0..<layers {
            let p = "model.layers.\(l)."
            let h = x.map { rms($0, W(p + "input_layernorm.weight")) }
            let q = h.enumerated().map { rope(linear($1, W(p + "self_attn.q_proj.weight"), hidden), $0, heads) }
            let k = h.enumerated().map { rope(linear($1, W(p + "self_attn.k_proj.weight"), kvHeads * d), $0, kvHeads) }
            let v = h.map { linear($0, W(p + "self_attn.v_proj.weight"), kvHeads * d) }
            var attn = [[Double]](repeating: [Double](repeating: 0, count: hidden), count: T)
            for t in 0..<T {
                for hh in 0..<heads {
                    let g = hh / (heads / kvHeads)
                    let scores = (0...t).map { s in (0..<d).reduce(0) { $0 + q[t][hh * d + $1] * k[s][g * d + $1] } / Double(d).squareRoot() }
                    let m = scores.max()!
                    let e = scores.map { exp($0 - m) }
                    let z = e.reduce(0, +)
                    for j in 0..<d { attn[t][hh * d + j] = (0...t).reduce(0) { $0 + e[$1] / z * v[$1][g * d + j] } }
                }
            }
            x = x.indices.map { t in zip(x[t], linear(attn[t], W(p + "self_attn.o_proj.weight"), hidden)).map(+) }
            let h2 = x.map { rms($0, W(p + "post_attention_layernorm.weight")) }
            x = x.indices.map { t in
                let gate = linear(h2[t], W(p + "mlp.gate_proj.weight"), inter).map { $0 / (1 + exp(-$0)) }
                let up = linear(h2[t], W(p + "mlp.up_proj.weight"), inter)
                return zip(x[t], linear(zip(gate, up).map(*), W(p + "mlp.down_proj.weight"), hidden)).map(+)
            }
        }
        return x.map { linear(rms($0, W("model.norm.weight")), W("lm_head.weight"), vocab) }
    }

    func testTinyLlamaMatchesFloat64Reference() throws {
        let dir = try makeCheckpoint()
        let out = dir.appendingPathComponent("tiny.ingot").path
        _ = try ArtifactBuilder.build(source: dir.path, output: out)
        let lm = try LanguageModel(model: try Model(path: out))
        let ids = [3, 1, 4, 1, 5, 9, 2, 6]
        let logits = try lm.logits(ids: ids.map(Int32.init))
        let expected = referenceLogits(ids)
        var maxError = 0.0
        for t in 0..<ids.count {
            for v in 0..<vocab { maxError = max(maxError, abs(Double(logits[t * vocab + v]) - expected[t][v])) }
        }
        XCTAssertLessThan(maxError, 1e-4)
        // KV-cache decoding agrees with the prefill.
        lm.session.reset()
        _ = try lm.logits(ids: ids.prefix(7).map(Int32.init))
        let last = try lm.logits(ids: [Int32(ids[7])])
        for v in 0..<vocab { XCTAssertEqual(Double(last[v]), expected[7][v], accuracy: 1e-4) }
    }
}
