// Every path of the packed int8 GEMM (ingot_q8p_gemm: portable, AVX2, AVX2-VNNI in its VEX and
// EVEX forms, AVX-512BW, AVX-512 VNNI) run on any x86-64 CPU: q8packed.c is compiled with
// -DINGOT_Q8P_EMULATE, so its intrinsics are SIMDe's portable versions and the CPU tests below
// claim every feature. Each path's output is compared bit for bit with a plain C twin of the
// contract in ingot_q8packed.h on odd sizes, column and row tails, k = 1, all-zero rows and
// weights, panel sub-ranges and the extreme bytes. It checks the arithmetic and lane layout of
// each path, not the instruction encodings (the XCTest suite runs the paths the CPU has).
// Built and run by scripts/kernel-paths-emulated.sh.
#pragma STDC FP_CONTRACT OFF
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ckernels.h"

static int claim_avx_vnni = 1;

int ingot_cpu_has_avx2_fma(void) { return 1; }
int ingot_cpu_has_avx512bw(void) { return 1; }
int ingot_cpu_has_avx512_vnni(void) { return 1; }
int ingot_cpu_has_avx_vnni(void) { return claim_avx_vnni; }

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint32_t next_u32(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 16);
}

static float next_float(void) { return (float)(next_u32() % 20001) / 10000.0f - 1.0f; }

/// w[n, k] → panels [⌈n/16⌉, kp/4, 16, 4] (zero padded) and colsums[n].
static void pack(const int8_t *w, int64_t n, int64_t k, int64_t kp, int8_t *packed, int32_t *colsums) {
    const int64_t panels = (n + 15) / 16, blocks = kp / 4;
    memset(packed, 0, (size_t)(panels * blocks * 64));
    for (int64_t j = 0; j < n; j++) {
        colsums[j] = 0;
        for (int64_t t = 0; t < k; t++) {
            packed[((j / 16 * blocks + t / 4) * 16 + j % 16) * 4 + t % 4] = w[j * k + t];
            colsums[j] += w[j * k + t];
        }
    }
}

/// The contract of ingot_q8p_gemm over columns of panels p0..<p1, from row-major w[n, k].
static void twin(const uint8_t *q, const float *s, const int32_t *z, int64_t m, int64_t kp, const int8_t *w,
                 const float *ws, int64_t n, int64_t k, const float *bias, float *y, int64_t p0, int64_t p1) {
    for (int64_t j = p0 * 16; j < n && j < p1 * 16; j++) {
        int32_t colsum = 0;
        for (int64_t t = 0; t < k; t++) colsum += w[j * k + t];
        for (int64_t i = 0; i < m; i++) {
            int32_t dot = 0;
            for (int64_t t = 0; t < k; t++) dot += (int32_t)q[i * kp + t] * (int32_t)w[j * k + t];
            const float v = (float)(dot - z[i] * colsum) * (s[i] * ws[j]);
            y[i * n + j] = bias ? v + bias[j] : v;
        }
    }
}

static int passed = 0, failed = 0;

/// One case on the current path: random bytes within the bound (or the extremes), checked
/// against the twin over all panels and over the upper half of them.
static void run_case(const char *path, int64_t m, int64_t n, int64_t k, int levels, int extremes) {
    const int wmax = levels == 127 ? 127 : 63;
    const int64_t kp = (k + 3) / 4 * 4, panels = (n + 15) / 16;
    uint8_t *q = calloc((size_t)(m * kp), 1);
    int8_t *w = malloc((size_t)(n * k)), *packed = malloc((size_t)(panels * (kp / 4) * 64));
    float *s = malloc(sizeof(float) * (size_t)m), *ws = malloc(sizeof(float) * (size_t)n), *bias = malloc(sizeof(float) * (size_t)n);
    int32_t *z = malloc(sizeof(int32_t) * (size_t)m), *colsums = malloc(sizeof(int32_t) * (size_t)n);
    float *fast = malloc(sizeof(float) * (size_t)(m * n)), *ref = malloc(sizeof(float) * (size_t)(m * n));
    for (int64_t i = 0; i < m; i++) {
        for (int64_t t = 0; t < k; t++) q[i * kp + t] = extremes ? (uint8_t)levels : (uint8_t)(next_u32() % (uint32_t)(levels + 1));
        s[i] = fabsf(next_float()) * 0.01f;
        z[i] = extremes ? 0 : (int32_t)(next_u32() % (uint32_t)(levels + 1));
    }
    if (m > 1) {
        memset(q + kp, 0, (size_t)kp); // an all-zero row with scale 0 and zero point 0
        s[1] = 0;
        z[1] = 0;
    }
    for (int64_t j = 0; j < n; j++) {
        for (int64_t t = 0; t < k; t++) {
            w[j * k + t] = extremes ? (int8_t)(j % 2 == 0 ? wmax : -wmax) : (int8_t)((int)(next_u32() % (uint32_t)(2 * wmax + 1)) - wmax);
        }
        ws[j] = fabsf(next_float()) * 0.01f;
        bias[j] = next_float();
    }
    if (n > 2) memset(w + 2 * k, 0, (size_t)k); // an all-zero output row
    pack(w, n, k, kp, packed, colsums);
    for (int with_bias = 0; with_bias < 2; with_bias++) {
        const int64_t starts[2] = {0, panels / 2};
        for (int r = 0; r < 2; r++) {
            const int64_t p0 = starts[r];
            for (int64_t e = 0; e < m * n; e++) fast[e] = ref[e] = NAN;
            ingot_q8p_gemm(q, s, z, m, kp, packed, ws, colsums, n, with_bias ? bias : NULL, fast, p0, panels);
            twin(q, s, z, m, kp, w, ws, n, k, with_bias ? bias : NULL, ref, p0, panels);
            int64_t bad = 0;
            for (int64_t e = 0; e < m * n; e++) {
                uint32_t a, b;
                memcpy(&a, &fast[e], 4);
                memcpy(&b, &ref[e], 4);
                bad += a != b;
            }
            if (bad == 0) {
                passed++;
            } else {
                failed++;
                printf("FAIL %s m %lld n %lld k %lld levels %d extremes %d bias %d panels %lld..<%lld: %lld values differ\n", path,
                       (long long)m, (long long)n, (long long)k, levels, extremes, with_bias, (long long)p0, (long long)panels,
                       (long long)bad);
            }
        }
    }
    free(q); free(w); free(packed); free(s); free(ws); free(bias); free(z); free(colsums); free(fast); free(ref);
}

int main(void) {
    static const struct { int path, avx_vnni; const char *name; } paths[] = {
        {INGOT_Q8P_PATH_PORTABLE, 1, "portable"},       {INGOT_Q8P_PATH_AVX2, 1, "avx2"},
        {INGOT_Q8P_PATH_AVX2_VNNI, 1, "avx2-vnni (VEX)"}, {INGOT_Q8P_PATH_AVX2_VNNI, 0, "avx2-vnni (EVEX)"},
        {INGOT_Q8P_PATH_AVX512BW, 1, "avx512bw"},       {INGOT_Q8P_PATH_AVX512_VNNI, 1, "avx512-vnni"},
    };
    static const int64_t shapes[][3] = {
        {1, 1, 1}, {1, 16, 4}, {2, 17, 1}, {3, 17, 5}, {4, 15, 33}, {5, 33, 100}, {7, 48, 384}, {8, 16, 8},
        {9, 1, 7}, {13, 31, 9}, {17, 40, 65}, {128, 40, 384}, {6, 20, 1536},
    };
    for (size_t p = 0; p < sizeof paths / sizeof paths[0]; p++) {
        claim_avx_vnni = paths[p].avx_vnni;
        if (ingot_q8p_set_path(paths[p].path) != 0 || ingot_q8p_path() != paths[p].path) {
            printf("FAIL %s: ingot_q8p_set_path refused a claimed path\n", paths[p].name);
            failed++;
            continue;
        }
        for (size_t c = 0; c < sizeof shapes / sizeof shapes[0]; c++) {
            run_case(paths[p].name, shapes[c][0], shapes[c][1], shapes[c][2], 255, 0);
            run_case(paths[p].name, shapes[c][0], shapes[c][1], shapes[c][2], 127, 0);
        }
        run_case(paths[p].name, 5, 18, 1536, 255, 1); // 255 × ±63: each maddubs pair ±32130
        run_case(paths[p].name, 9, 18, 1536, 127, 1); // 127 × ±127: each pair ±32258
    }
    if (ingot_q8p_set_path(99) != -1) {
        printf("FAIL: an unknown path was accepted\n");
        failed++;
    } else {
        passed++;
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
