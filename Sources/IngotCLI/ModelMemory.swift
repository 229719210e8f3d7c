// ModelMemory: the peak resident memory of one artifact on its own — a child `ingot bench`
// process loads it and runs it once (encoders: one 128-token sentence; language models: a
// 128-token prefill and 16 decoded tokens) and reports its peak RSS. The build process's
// own peak (checkpoint, compiler, both models, calibration) says nothing about what a box
// running the artifact needs. It does not time anything.

import Foundation
import IngotArtifact
import IngotCore

enum ModelMemory {
    /// Peak RSS in bytes of a process that loads `artifact` and runs it once, or nil when the
    /// child could not run (the report then omits the field).
    static func peakResidentBytes(artifact: String, languageModel: Bool, threads: Int) -> Int? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        process.arguments = ["bench", artifact, "--seq", "128", "--runs", "1", "--threads", String(threads), "--format", "json"]
            + (languageModel ? ["--decode", "16"] : [])
        // The build wrote the artifact itself; a trusted key in the environment is for artifacts from elsewhere.
        var environment = ProcessInfo.processInfo.environment
        environment[ArtifactTrust.environmentVariable] = nil
        process.environment = environment
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            return nil
        }
        // An interrupted build stops the child too (a SIGTERM sent to this process alone).
        InterruptCleanup.registerChild(process.processIdentifier)
        defer { InterruptCleanup.unregisterChild(process.processIdentifier) }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0, let json = try? JSONValue.parse(Array(data)) else { return nil }
        return json["peak_rss_bytes"]?.int
    }
}
