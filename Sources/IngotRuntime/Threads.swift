// Threads: how many CPUs this process may use — the smaller of its affinity mask and its
// cgroup CPU quota (v2 cpu.max, v1 cfs_quota/cfs_period) — and setting the compute
// thread count (OpenBLAS). Parsing is done by pure functions so it can be tested.

import CBLAS
import CKernels
import IngotKernels

#if canImport(Glibc)
import Glibc
#endif

public enum Threads {
    /// CPUs this process may use, at least 1.
    public static func availableCPUCount() -> Int {
        var affinity = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        let n = Int(ingot_affinity_cpu_count())
        if n > 0 { affinity = n }
        let quota = cgroupV2Quota(readSmallFile("/sys/fs/cgroup/cpu.max"))
            ?? cgroupV1Quota(quota: readSmallFile("/sys/fs/cgroup/cpu/cpu.cfs_quota_us"),
                             period: readSmallFile("/sys/fs/cgroup/cpu/cpu.cfs_period_us"))
        return max(1, min(affinity, quota ?? affinity))
    }

    /// "max 100000" → nil (no limit); "150000 100000" → 2 (rounded up).
    public static func cgroupV2Quota(_ text: String?) -> Int? {
        guard let parts = text?.split(whereSeparator: { $0 == " " || $0 == "\n" }), parts.count >= 2,
              parts[0] != "max", let q = Int(parts[0]), let p = Int(parts[1]), q > 0, p > 0 else { return nil }
        return (q + p - 1) / p
    }

    /// cfs_quota_us −1 → nil; 50000 / 100000 → 1.
    public static func cgroupV1Quota(quota: String?, period: String?) -> Int? {
        guard let q = quota.flatMap({ Int($0.split(separator: "\n").first ?? "") }),
              let p = period.flatMap({ Int($0.split(separator: "\n").first ?? "") }), q > 0, p > 0 else { return nil }
        return (q + p - 1) / p
    }

    /// The pool every kernel splits its work over; OpenBLAS itself runs single-threaded
    /// inside it (its own threads spin-wait and oversubscribe small GEMMs on 2 cores).
    /// Created on first use with availableCPUCount() threads unless setComputeThreads came first.
    public static var pool: ThreadPool {
        lock.withLock {
            if let p = current { return p }
            openblas_set_num_threads(1)
            let p = ThreadPool(count: availableCPUCount())
            current = p
            return p
        }
    }

    nonisolated(unsafe) private static var current: ThreadPool?
    private static let lock = SpinLock()

    /// Sets the number of compute threads (the caller included). Call before running models.
    public static func setComputeThreads(_ n: Int) {
        lock.withLock {
            openblas_set_num_threads(1)
            if current?.count != max(1, n) { current = ThreadPool(count: max(1, n)) }
        }
    }
}
