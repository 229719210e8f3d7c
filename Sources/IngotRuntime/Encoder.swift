// Encoder: sentence embeddings and hidden states from encoder artifacts (BERT family:
// inputs input_ids, attention_mask, token_type_ids, position_ids; outputs
// last_hidden_state and embedding). Batches are right-padded with the pad id and masked; an
// artifact with fixed input sizes gets every sequence padded to its fixed length.

import IngotCore

public final class Encoder {
    public let session: Session
    public let tokenizer: (any Tokenizer)?
    let padID: Int32

    public init(model: Model) throws {
        let expected = ["input_ids", "attention_mask", "token_type_ids", "position_ids"]
        guard model.inputNames == expected, model.outputNames.contains("embedding") else {
            throw IngotError(.unsupported, file: model.path,
                             "not a sentence encoder: inputs \(model.inputNames), outputs \(model.outputNames); expected inputs \(expected.joined(separator: ", ")) and an embedding output")
        }
        session = model.makeSession()
        tokenizer = try model.tokenizerSpec.map(makeTokenizer)
        padID = model.tokenizerSpec?.specialTokens["pad"] ?? 0
    }

    /// Runs one padded batch; returns every output by name.
    public func run(ids batch: [[Int32]]) throws -> [String: HostTensor] {
        guard !batch.isEmpty else { throw IngotError(.invalidArgument, location: "batch", "empty; at least one sequence is needed") }
        for (i, ids) in batch.enumerated() where ids.isEmpty {
            throw IngotError(.invalidArgument, location: "batch[\(i)]", "empty sequence")
        }
        var seq = batch.map(\.count).max()!
        // Fixed-shape artifacts (ONNX exports with fixed dims): pad to the fixed length, refuse more.
        let dims = session.model.graph.type(of: session.model.graph.inputs[0]).shape.dims
        if dims.count == 2, let fixedBatch = dims[0].fixedValue, fixedBatch != batch.count {
            throw IngotError(.shape, file: session.model.path, location: "batch",
                             "\(batch.count) sequences, expected exactly \(fixedBatch) (the model's inputs have a fixed batch size)")
        }
        if dims.count == 2, let fixedLength = dims[1].fixedValue {
            guard seq <= fixedLength else {
                throw IngotError(.shape, file: session.model.path, location: "sequence length",
                                 "\(seq) tokens, expected at most \(fixedLength) (the model's inputs have a fixed length)")
            }
            seq = fixedLength
        }
        var ids = [Int32](), mask = [Int32](), positions = [Int32]()
        ids.reserveCapacity(batch.count * seq)
        for row in batch {
            ids += row + [Int32](repeating: padID, count: seq - row.count)
            mask += [Int32](repeating: 1, count: row.count) + [Int32](repeating: 0, count: seq - row.count)
            positions += (0..<seq).map(Int32.init)
        }
        let shape = [batch.count, seq]
        return try session.run(inputs: [
            "input_ids": HostTensor(shape: shape, ints: ids),
            "attention_mask": HostTensor(shape: shape, ints: mask),
            "token_type_ids": HostTensor(shape: shape, ints: [Int32](repeating: 0, count: ids.count)),
            "position_ids": HostTensor(shape: shape, ints: positions),
        ])
    }

    /// Embeddings [batch][hidden] for token-id sequences.
    public func embed(ids batch: [[Int32]]) throws -> [[Float]] {
        let out = try run(ids: batch)["embedding"]!
        let width = out.shape[1]
        let flat = out.floats!
        return (0..<batch.count).map { Array(flat[($0 * width)..<(($0 + 1) * width)]) }
    }

    /// Token ids for `text` with the artifact's tokenizer ([CLS] … [SEP], truncated).
    public func tokenize(_ text: String) throws -> [Int32] {
        guard let tokenizer else {
            throw IngotError(.unsupported, file: session.model.path, "the artifact has no tokenizer; pass token ids")
        }
        guard !text.isEmpty else { throw IngotError(.invalidArgument, location: "text", "empty; nothing to encode") }
        return tokenizer.encode(text, addSpecialTokens: true)
    }

    /// Sentence embeddings of `texts`, run as one padded batch.
    public func embed(_ texts: [String]) throws -> [[Float]] {
        try embed(ids: texts.map(tokenize))
    }
}
