// ThreadPool: every index runs exactly once, for odd sizes and repeated tasks.
import XCTest
#if canImport(Glibc)
import Glibc
#endif
@testable import IngotKernels

final class ThreadPoolTests: XCTestCase {
    func testEveryIndexExactlyOnce() {
        for threads in [1, 2, 3] {
            let pool = ThreadPool(count: threads)
            for n in [0, 1, 2, 3, 17, 64, 1001] {
                let counts = UnsafeMutablePointer<Int>.allocate(capacity: max(n, 1))
                counts.initialize(repeating: 0, count: max(n, 1))
                for _ in 0..<3 {
                    pool.parallelFor(n) { range in for i in range { counts[i] += 1 } }
                }
                for i in 0..<n { XCTAssertEqual(counts[i], 3, "threads \(threads) n \(n) index \(i)") }
                counts.deallocate()
            }
        }
    }

    func testRunGivesEachParticipantItsIndex() {
        let pool = ThreadPool(count: 3)
        let seen = UnsafeMutablePointer<Int>.allocate(capacity: 3)
        seen.initialize(repeating: 0, count: 3)
        pool.run { p in seen[p] += 1 }
        XCTAssertEqual([seen[0], seen[1], seen[2]], [1, 1, 1])
        seen.deallocate()
    }

    func testConcurrentCallersAndNestedCallsStillCoverEveryIndex() {
        let pool = ThreadPool(count: 2)
        let n = 10_000
        let a = UnsafeMutablePointer<Int>.allocate(capacity: n), b = UnsafeMutablePointer<Int>.allocate(capacity: n)
        a.initialize(repeating: 0, count: n)
        b.initialize(repeating: 0, count: n)
        var other = pthread_t()
        final class Job { let pool: ThreadPool; let b: UnsafeMutablePointer<Int>; let n: Int
            init(_ p: ThreadPool, _ b: UnsafeMutablePointer<Int>, _ n: Int) { pool = p; self.b = b; self.n = n } }
        let job = Unmanaged.passRetained(Job(pool, b, n))
        pthread_create(&other, nil, { raw in
            let j = Unmanaged<Job>.fromOpaque(raw!).takeRetainedValue()
            for _ in 0..<50 { j.pool.parallelFor(j.n) { r in for i in r { j.b[i] += 1 } } }
            return nil
        }, job.toOpaque())
        for _ in 0..<50 { pool.parallelFor(n) { r in for i in r { a[i] += 1 } } }
        pthread_join(other, nil)
        pool.parallelFor(4) { outer in
            // A nested call runs inline instead of deadlocking.
            pool.parallelFor(4) { inner in _ = inner.count + outer.count }
        }
        for i in 0..<n {
            XCTAssertEqual(a[i], 50)
            XCTAssertEqual(b[i], 50)
        }
        a.deallocate()
        b.deallocate()
    }

    func testPoolsCreatedAndDroppedAtOnceShutDownCleanly() {
        for n in 1...20 {
            let pool = ThreadPool(count: 1 + n % 3)
            if n % 2 == 0 { pool.parallelFor(10) { _ in } }
        }
    }
}
