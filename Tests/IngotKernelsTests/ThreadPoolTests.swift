// ThreadPool: every index runs exactly once, for odd sizes and repeated tasks.
import XCTest
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
}
