// Atomics and a CPU pause for the runtime's thread pool: Swift's standard library has no
// atomics without the Synchronization module's newer platforms, and the pool must stay
// free of package dependencies.
#ifndef INGOT_SYNC_H
#define INGOT_SYNC_H
#include <stdint.h>

static inline uint64_t ingot_atomic_load_u64(const uint64_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static inline void ingot_atomic_store_u64(uint64_t *p, uint64_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
static inline int64_t ingot_atomic_load_i64(const int64_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static inline void ingot_atomic_store_i64(int64_t *p, int64_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
/// Returns the value after subtracting.
static inline int64_t ingot_atomic_decrement_i64(int64_t *p) { return __atomic_sub_fetch(p, 1, __ATOMIC_ACQ_REL); }

static inline void ingot_cpu_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

#endif
