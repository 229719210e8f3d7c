// InterruptCleanup: the temporary files a command has in progress (an artifact's temporary
// file, the float32 baseline `ingot build --report` builds and its temporary file, a report's
// or a training checkpoint's temporary file) and the child processes it waits for. On SIGINT
// or SIGTERM the handler removes every registered file, stops every registered child, then
// lets the signal take its default course; at exit, whatever is still registered is removed.
// Paths are copied into a fixed table outside the handler, so the handler neither allocates
// nor frees. SIGKILL cannot be caught: then temporary files can remain; a destination is
// never partial (writers rename on commit). It does not create or write files.

#if canImport(Glibc)
import Glibc
#endif

public enum InterruptCleanup {
    /// Paths and children that can be registered at once; a registration beyond is ignored
    /// (that file is then not removed on an interrupt).
    public static let pathCapacity = 32
    public static let childCapacity = 8

    /// NUL-terminated paths (strdup'ed by `register`), nil where free; read by the handler.
    nonisolated(unsafe) static let paths: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?> = {
        let table = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: pathCapacity)
        table.initialize(repeating: nil, count: pathCapacity)
        return table
    }()
    /// Child process ids, 0 where free; read by the handler.
    nonisolated(unsafe) static let children: UnsafeMutablePointer<pid_t> = {
        let table = UnsafeMutablePointer<pid_t>.allocate(capacity: childCapacity)
        table.initialize(repeating: 0, count: childCapacity)
        return table
    }()
    /// The copy an `unregister` took out of the table, freed only at the next `unregister`, so
    /// a handler running on another thread never reads freed memory.
    nonisolated(unsafe) static var retired: UnsafeMutablePointer<CChar>? = nil
    nonisolated(unsafe) static let lock: UnsafeMutablePointer<pthread_mutex_t> = {
        let m = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        m.initialize(to: pthread_mutex_t())
        pthread_mutex_init(m, nil)
        return m
    }()

    private static func locked<R>(_ body: () -> R) -> R {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        return body()
    }

    /// Removes `path` on an interrupt or at exit until `unregister(path)`. Register a file
    /// before creating it: removing a file that does not exist yet is harmless.
    @discardableResult
    public static func register(_ path: String) -> Bool {
        locked {
            for i in 0..<pathCapacity where paths[i] == nil {
                paths[i] = strdup(path)
                return true
            }
            return false
        }
    }

    /// Forgets `path` (after it was renamed into place or removed); the file is not touched.
    public static func unregister(_ path: String) {
        locked {
            for i in 0..<pathCapacity {
                guard let p = paths[i], String(cString: p) == path else { continue }
                paths[i] = nil
                free(retired)
                retired = p
                return
            }
        }
    }

    /// The paths registered now, in table order.
    public static var registeredPaths: [String] {
        locked { (0..<pathCapacity).compactMap { paths[$0].map { String(cString: $0) } } }
    }

    /// Stops `pid` with the same signal on an interrupt, until `unregisterChild(pid)`.
    public static func registerChild(_ pid: pid_t) {
        locked {
            for i in 0..<childCapacity where children[i] == 0 {
                children[i] = pid
                return
            }
        }
    }

    public static func unregisterChild(_ pid: pid_t) {
        locked {
            for i in 0..<childCapacity where children[i] == pid { children[i] = 0 }
        }
    }

    /// Unlinks every registered path and signals every registered child; async-signal-safe
    /// (reads the tables, calls unlink and kill only).
    static func removeAll(signal sig: Int32) {
        for i in 0..<pathCapacity {
            if let p = paths[i] { unlink(p) }
        }
        guard sig != 0 else { return }
        for i in 0..<childCapacity where children[i] > 0 { kill(children[i], sig) }
    }

    /// Installs the SIGINT and SIGTERM handlers and the at-exit removal; call once from a
    /// command-line front end before any temporary file is registered.
    public static func install() {
        // Create the tables now: the handler must not be the first to touch them.
        _ = (paths, children, lock)
        let handler: @convention(c) (Int32) -> Void = { sig in
            InterruptCleanup.removeAll(signal: sig)
            signal(sig, SIG_DFL)
            raise(sig)
        }
        signal(SIGINT, handler)
        signal(SIGTERM, handler)
        atexit { InterruptCleanup.removeAll(signal: 0) }
    }
}
