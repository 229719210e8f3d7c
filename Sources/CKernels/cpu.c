// Run-time CPU facts for kernel selection and thread counts. Each instruction-set test reads
// CPUID and also checks, through XGETBV, that the OS saves the register state the instructions
// use (YMM for AVX2 and AVX-VNNI; opmask, ZMM0-15 upper halves and ZMM16-31 for AVX-512), so a
// kernel is never chosen where the OS would fault it. It does not pick kernels (q8packed.c does).
#define _GNU_SOURCE
#include <sched.h>
#include "ckernels.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <pthread.h>

/// XCR0 bits: SSE and AVX (YMM) state; AVX-512 opmask, ZMM_Hi256 and Hi16_ZMM state.
#define XCR0_YMM 0x6u
#define XCR0_ZMM 0xE0u

static uint64_t read_xcr0(void) {
    uint32_t eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((uint64_t)edx << 32) | eax;
}

/// The CPUID words the tests below read, or zeros where a leaf is missing.
struct cpu_words {
    uint32_t leaf1_ecx, leaf7_ebx, leaf7_ecx, leaf7s1_eax;
    uint64_t xcr0;
};

static struct cpu_words read_cpu_words(void) {
    struct cpu_words w = {0, 0, 0, 0, 0};
    uint32_t a, b, c, d;
    const uint32_t max_leaf = __get_cpuid_max(0, 0);
    if (max_leaf >= 1 && __get_cpuid(1, &a, &b, &c, &d)) w.leaf1_ecx = c;
    if (max_leaf >= 7) {
        __cpuid_count(7, 0, a, b, c, d);
        w.leaf7_ebx = b;
        w.leaf7_ecx = c;
        if (a >= 1) {
            __cpuid_count(7, 1, a, b, c, d);
            w.leaf7s1_eax = a;
        }
    }
    if (w.leaf1_ecx & (1u << 27)) w.xcr0 = read_xcr0(); // OSXSAVE: XGETBV is usable
    return w;
}

static struct cpu_words cached_words;
static pthread_once_t cached_words_once = PTHREAD_ONCE_INIT;

static void fill_cached_words(void) { cached_words = read_cpu_words(); }

/// read_cpu_words() once per process: CPUID traps to the hypervisor on a VM, so it is not
/// repeated per kernel call.
static struct cpu_words cpu_words(void) {
    pthread_once(&cached_words_once, fill_cached_words);
    return cached_words;
}

static int os_saves(uint64_t xcr0, uint64_t bits) { return (xcr0 & bits) == bits; }
#endif

int ingot_cpu_has_avx2_fma(void) {
#if defined(__x86_64__) || defined(__i386__)
    const struct cpu_words w = cpu_words();
    return (w.leaf7_ebx & (1u << 5)) && (w.leaf1_ecx & (1u << 12)) && (w.leaf1_ecx & (1u << 28)) && os_saves(w.xcr0, XCR0_YMM);
#else
    return 0;
#endif
}

int ingot_cpu_has_avx512bw(void) {
#if defined(__x86_64__) || defined(__i386__)
    const struct cpu_words w = cpu_words();
    const uint32_t f = 1u << 16, bw = 1u << 30, vl = 1u << 31;
    return (w.leaf7_ebx & (f | bw | vl)) == (f | bw | vl) && os_saves(w.xcr0, XCR0_YMM | XCR0_ZMM) && ingot_cpu_has_avx2_fma();
#else
    return 0;
#endif
}

int ingot_cpu_has_avx512_vnni(void) {
#if defined(__x86_64__) || defined(__i386__)
    return (cpu_words().leaf7_ecx & (1u << 11)) && ingot_cpu_has_avx512bw();
#else
    return 0;
#endif
}

int ingot_cpu_has_avx_vnni(void) {
#if defined(__x86_64__) || defined(__i386__)
    return (cpu_words().leaf7s1_eax & (1u << 4)) && ingot_cpu_has_avx2_fma();
#else
    return 0;
#endif
}

int ingot_affinity_cpu_count(void) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) != 0) return 0;
    return CPU_COUNT(&set);
}
