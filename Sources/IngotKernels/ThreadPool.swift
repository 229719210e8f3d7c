// ThreadPool: persistent pthread workers that run one data-parallel task at a time; the
// calling thread takes part as participant 0. One task at a time: a caller that finds the
// pool busy (another session on another thread, or a nested call) runs every participant's
// share itself, so concurrent use is safe, only not parallel. Workers hold the shared
// state, not the pool, so dropping the pool stops and joins them.

import CKernels

#if canImport(Glibc)
import Glibc
#endif

public final class ThreadPool: @unchecked Sendable {
    /// Participants, the caller included.
    public let count: Int
    private let state: State
    private var threads: [pthread_t] = []

    /// Everything the workers touch. `generation` and `pending` are atomics (CKernels) so a
    /// worker that just finished can spin briefly for the next task instead of sleeping: a
    /// decode step dispatches hundreds of small tasks, and a futex wake-up costs more than
    /// many of them take.
    final class State: @unchecked Sendable {
        var mutex = pthread_mutex_t()
        var wake = pthread_cond_t()
        var done = pthread_cond_t()
        var busy = pthread_mutex_t()
        /// In memory of their own rather than stored properties: the spin loops poll them, and
        /// `&` on a class's stored var costs a dynamic exclusivity check (a thread-local
        /// lookup) on every poll: about a sixth of the samples of 16-token MiniLM calls.
        let generation = UnsafeMutablePointer<UInt64>.allocate(capacity: 1)
        let pending = UnsafeMutablePointer<Int64>.allocate(capacity: 1)
        var stopping = false
        var task: ((Int) -> Void)?
        /// Pause iterations to spin before sleeping (~50–100 µs on current x86).
        static let spinLimit = 2000

        init() {
            generation.initialize(to: 0)
            pending.initialize(to: 0)
            pthread_mutex_init(&mutex, nil)
            pthread_cond_init(&wake, nil)
            pthread_cond_init(&done, nil)
            pthread_mutex_init(&busy, nil)
        }

        deinit {
            pthread_cond_destroy(&wake)
            pthread_cond_destroy(&done)
            pthread_mutex_destroy(&mutex)
            pthread_mutex_destroy(&busy)
            generation.deallocate()
            pending.deallocate()
        }

        func workerLoop(_ index: Int) {
            var seen: UInt64 = 0
            while true {
                var spins = 0
                while ingot_atomic_load_u64(generation) == seen && spins < State.spinLimit {
                    ingot_cpu_pause()
                    spins += 1
                }
                pthread_mutex_lock(&mutex)
                while ingot_atomic_load_u64(generation) == seen && !stopping { pthread_cond_wait(&wake, &mutex) }
                if stopping { pthread_mutex_unlock(&mutex); return }
                seen = ingot_atomic_load_u64(generation)
                let body = task!
                pthread_mutex_unlock(&mutex)
                body(index)
                if ingot_atomic_decrement_i64(pending) == 0 {
                    pthread_mutex_lock(&mutex)
                    pthread_cond_signal(&done)
                    pthread_mutex_unlock(&mutex)
                }
            }
        }
    }

    private final class WorkerStart {
        let state: State
        let index: Int
        init(state: State, index: Int) { self.state = state; self.index = index }
    }

    public init(count: Int) {
        self.count = max(1, count)
        state = State()
        for p in 1..<self.count {
            let box = Unmanaged.passRetained(WorkerStart(state: state, index: p))
            var t = pthread_t()
            pthread_create(&t, nil, { raw in
                let start = Unmanaged<WorkerStart>.fromOpaque(raw!).takeRetainedValue()
                start.state.workerLoop(start.index)
                return nil
            }, box.toOpaque())
            threads.append(t)
        }
    }

    deinit {
        pthread_mutex_lock(&state.mutex)
        state.stopping = true
        pthread_cond_broadcast(&state.wake)
        pthread_mutex_unlock(&state.mutex)
        for t in threads { pthread_join(t, nil) }
    }

    /// Calls body(p) for every participant p in 0..<count concurrently and waits for all.
    public func run(_ body: @escaping (Int) -> Void) {
        guard count > 1 else { body(0); return }
        guard pthread_mutex_trylock(&state.busy) == 0 else {
            for p in 0..<count { body(p) }
            return
        }
        defer { pthread_mutex_unlock(&state.busy) }
        pthread_mutex_lock(&state.mutex)
        state.task = body
        ingot_atomic_store_i64(state.pending, Int64(count - 1))
        ingot_atomic_store_u64(state.generation, ingot_atomic_load_u64(state.generation) &+ 1)
        pthread_cond_broadcast(&state.wake)
        pthread_mutex_unlock(&state.mutex)
        body(0)
        var spins = 0
        while ingot_atomic_load_i64(state.pending) > 0 && spins < State.spinLimit {
            ingot_cpu_pause()
            spins += 1
        }
        pthread_mutex_lock(&state.mutex)
        while ingot_atomic_load_i64(state.pending) > 0 { pthread_cond_wait(&state.done, &state.mutex) }
        state.task = nil
        pthread_mutex_unlock(&state.mutex)
    }

    /// Splits 0..<n into at most `count` contiguous ranges of at least `minimumPerThread`
    /// items and runs body(range) on each in parallel.
    public func parallelFor(_ n: Int, minimumPerThread: Int = 1, _ body: @escaping (Range<Int>) -> Void) {
        let parts = min(count, max(1, n / max(minimumPerThread, 1)))
        guard parts > 1 else { if n > 0 { body(0..<n) }; return }
        run { p in
            guard p < parts else { return }
            let lo = p * n / parts, hi = (p + 1) * n / parts
            if lo < hi { body(lo..<hi) }
        }
    }
}
