// InterruptCleanup: on SIGINT or SIGTERM, removes the temporary file of the artifact being
// written and then lets the signal take its default course, so an interrupted build leaves
// neither a partial artifact nor a stray temporary file. SIGKILL cannot be caught: then only
// the temporary file can remain; the destination is never partial (rename on commit).

#if canImport(Glibc)
import Glibc
#endif

enum InterruptCleanup {
    /// NUL-terminated path of the temporary file in progress; read by the signal handler.
    nonisolated(unsafe) static var pendingPath: UnsafeMutablePointer<CChar>? = nil

    static func register(_ path: String) {
        let copy = strdup(path)
        let old = pendingPath
        pendingPath = copy
        free(old)
    }

    static func clear() {
        let old = pendingPath
        pendingPath = nil
        free(old)
    }

    /// Installs the handlers; call once from a command-line front end.
    static func install() {
        let handler: @convention(c) (Int32) -> Void = { sig in
            if let p = InterruptCleanup.pendingPath { unlink(p) }
            signal(sig, SIG_DFL)
            raise(sig)
        }
        signal(SIGINT, handler)
        signal(SIGTERM, handler)
    }
}

extension ArtifactWriter {
    /// Removes the temporary file of an interrupted write (SIGINT, SIGTERM) before exiting.
    public static func removeTemporaryFilesOnInterrupt() { InterruptCleanup.install() }
}
