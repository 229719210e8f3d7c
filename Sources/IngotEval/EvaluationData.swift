// EvaluationData: text files → token ids for calibration and evaluation, with the model's
// own tokenizer. Encoders read one sentence per line; language models read the whole text
// as one token stream cut into windows. Without a separate evaluation file the data is
// split deterministically: every fifth sentence, or the last fifth of the tokens, is held
// out for evaluation and never used to calibrate.

import IngotCore
import IngotRuntime

public struct EvaluationData: Sendable {
    public var calibration: CalibrationData
    /// Encoders: sentences; language models: one token stream (windows are cut by the evaluator).
    public var evaluationSentences: [[Int32]]
    public var evaluationTokens: [Int32]
    public var heldOut: Bool

    public static let calibrationWindow = 128
    public static let maxCalibrationWindows = 16
    public static let maxCalibrationSentences = 256

    public static func load(calibrationFile: String, evaluationFile: String?, tokenizer spec: TokenizerSpec,
                            isEncoder: Bool) throws -> EvaluationData {
        let tokenizer = try makeTokenizer(spec)
        let calibrationText = try readText(calibrationFile)
        let evaluationText = try evaluationFile.map(readText)
        if isEncoder {
            func sentences(_ text: String, file: String) throws -> [[Int32]] {
                let lines = text.split(separator: "\n").map(String.init).filter { !$0.allSatisfy(\.isWhitespace) }
                guard !lines.isEmpty else { throw IngotError(.invalidArgument, file: file, "no sentences (one per line expected)") }
                return lines.map { tokenizer.encode($0, addSpecialTokens: true) }
            }
            let all = try sentences(calibrationText, file: calibrationFile)
            if let evaluationText, let evaluationFile {
                return EvaluationData(calibration: .sentences(Array(all.prefix(maxCalibrationSentences))),
                                      evaluationSentences: try sentences(evaluationText, file: evaluationFile),
                                      evaluationTokens: [], heldOut: false)
            }
            guard all.count >= 10 else {
                throw IngotError(.invalidArgument, file: calibrationFile,
                                 "\(all.count) sentences; at least 10 are needed to hold out an evaluation fifth (or pass --eval FILE)")
            }
            let calibration = all.enumerated().filter { $0.offset % 5 != 4 }.map(\.element)
            let evaluation = all.enumerated().filter { $0.offset % 5 == 4 }.map(\.element)
            return EvaluationData(calibration: .sentences(Array(calibration.prefix(maxCalibrationSentences))),
                                  evaluationSentences: evaluation, evaluationTokens: [], heldOut: true)
        }
        let tokens = tokenizer.encode(calibrationText, addSpecialTokens: false)
        let calibrationTokens: [Int32]
        let evaluationTokens: [Int32]
        if let evaluationText {
            calibrationTokens = tokens
            evaluationTokens = tokenizer.encode(evaluationText, addSpecialTokens: false)
        } else {
            let cut = tokens.count * 4 / 5
            calibrationTokens = Array(tokens[..<cut])
            evaluationTokens = Array(tokens[cut...])
        }
        let windows = stride(from: 0, to: calibrationTokens.count - calibrationWindow + 1, by: calibrationWindow)
            .prefix(maxCalibrationWindows).map { Array(calibrationTokens[$0..<$0 + calibrationWindow]) }
        guard !windows.isEmpty else {
            throw IngotError(.invalidArgument, file: calibrationFile,
                             "\(calibrationTokens.count) calibration tokens; at least \(calibrationWindow) are needed")
        }
        return EvaluationData(calibration: .windows(windows), evaluationSentences: [], evaluationTokens: evaluationTokens,
                              heldOut: evaluationFile == nil)
    }

    static func readText(_ path: String) throws -> String {
        let file = try MappedFile(path: path)
        guard let text = String(validating: file.bytes.bindMemory(to: UInt8.self), as: UTF8.self) else {
            throw IngotError(.format, file: path, "not valid UTF-8")
        }
        return text
    }
}
