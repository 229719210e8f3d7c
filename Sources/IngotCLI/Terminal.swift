// Terminal: stderr messages and a progress bar drawn only when stderr is a terminal.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

enum Terminal {
    static let stderrIsTTY = isatty(2) == 1

    static func error(_ message: String) {
        writeStderr("ingot: " + message + "\n")
    }

    static func info(_ message: String, quiet: Bool) {
        if !quiet { writeStderr(message + "\n") }
    }

    static func writeStderr(_ s: String) {
        var s = s
        s.withUTF8 { buf in _ = fwrite(buf.baseAddress, 1, buf.count, stderr) }
    }

    /// A one-line bar, redrawn in place: "[#########.........] 45/104 encoder.layer.3.output.dense.weight".
    static func progress(_ done: Int, _ total: Int, _ label: String) {
        guard stderrIsTTY, total > 0 else { return }
        let width = 30
        let filled = width * done / total
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        let shown = label.count > 40 ? "…" + label.suffix(39) : label
        writeStderr("\r\u{1B}[2K[\(bar)] \(done)/\(total) \(shown)")
        if done == total { writeStderr("\r\u{1B}[2K") }
    }
}
