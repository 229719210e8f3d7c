// Packed u8 × s7 (or u7 × s8) GEMM and asymmetric row quantization (see ingot_q8packed.h).
// Every SIMD path walks the packed layout the same way: a panel holds 16 columns × 4 inputs per
// 64-byte block, so a block is two ymm registers (8 columns each) or one zmm register (16
// columns). Per block the tile loads the block once, broadcasts each row's four activation bytes
// to every 32-bit lane, and adds the four products per lane into int32 sums: vpdpbusd on the VNNI
// paths, vpmaddubsw then vpmaddwd by ones on the AVX2 and AVX-512BW paths (no sign fix-ups, no
// horizontal sums). Tiles are 8 (512-bit) or 4 rows, then 2 and 1, of one panel, so no row is
// computed twice. The portable path walks the same layout with plain loops. Each SIMD function
// carries its own target attribute, so the file compiles for baseline x86-64 and the path is
// chosen at run time. Float epilogues must round exactly like the portable path and the Swift
// twin: no FMA contraction. Built with -DINGOT_Q8P_EMULATE (scripts/kernel-paths-emulated.sh),
// the intrinsics come from SIMDe instead, so every path's arithmetic can be checked on a CPU
// that lacks it. It does not pack weights or read CPUID (cpu.c does).
#pragma STDC FP_CONTRACT OFF
#include <math.h>
#include <string.h>
#include "ingot_q8packed.h"
#include "ckernels.h"

#if defined(INGOT_Q8P_EMULATE)
#include <simde/x86/avx512.h>
/// SIMDe (0.7.4) has no 512-bit int32 → float conversion; this one rounds to nearest like vcvtdq2ps.
static inline simde__m512 q8p_emulated_cvtepi32_ps(simde__m512i a) {
    int32_t in[16];
    float out[16];
    simde_mm512_storeu_si512(in, a);
    for (int l = 0; l < 16; l++) out[l] = (float)in[l];
    return simde_mm512_loadu_ps(out);
}
#define __m128i simde__m128i
#define __m256 simde__m256
#define __m256i simde__m256i
#define __m512 simde__m512
#define __m512i simde__m512i
#define _MM_FROUND_NO_EXC SIMDE_MM_FROUND_NO_EXC
#define _MM_FROUND_TO_NEAREST_INT SIMDE_MM_FROUND_TO_NEAREST_INT
#define _mm512_cvtepi32_ps q8p_emulated_cvtepi32_ps
#define _mm256_dpbusd_avx_epi32 simde_mm256_dpbusd_epi32
#define _mm256_add_epi32 simde_mm256_add_epi32
#define _mm256_add_ps simde_mm256_add_ps
#define _mm256_castsi256_si128 simde_mm256_castsi256_si128
#define _mm256_cvtepi32_ps simde_mm256_cvtepi32_ps
#define _mm256_cvtps_epi32 simde_mm256_cvtps_epi32
#define _mm256_dpbusd_epi32 simde_mm256_dpbusd_epi32
#define _mm256_extracti128_si256 simde_mm256_extracti128_si256
#define _mm256_loadu_ps simde_mm256_loadu_ps
#define _mm256_loadu_si256 simde_mm256_loadu_si256
#define _mm256_madd_epi16 simde_mm256_madd_epi16
#define _mm256_maddubs_epi16 simde_mm256_maddubs_epi16
#define _mm256_max_ps simde_mm256_max_ps
#define _mm256_min_ps simde_mm256_min_ps
#define _mm256_mul_ps simde_mm256_mul_ps
#define _mm256_mullo_epi32 simde_mm256_mullo_epi32
#define _mm256_round_ps simde_mm256_round_ps
#define _mm256_set1_epi16 simde_mm256_set1_epi16
#define _mm256_set1_epi32 simde_mm256_set1_epi32
#define _mm256_set1_ps simde_mm256_set1_ps
#define _mm256_setzero_ps simde_mm256_setzero_ps
#define _mm256_setzero_si256 simde_mm256_setzero_si256
#define _mm256_storeu_ps simde_mm256_storeu_ps
#define _mm256_storeu_si256 simde_mm256_storeu_si256
#define _mm256_sub_epi32 simde_mm256_sub_epi32
#define _mm512_add_epi32 simde_mm512_add_epi32
#define _mm512_add_ps simde_mm512_add_ps
#define _mm512_dpbusd_epi32 simde_mm512_dpbusd_epi32
#define _mm512_loadu_ps simde_mm512_loadu_ps
#define _mm512_loadu_si512 simde_mm512_loadu_si512
#define _mm512_madd_epi16 simde_mm512_madd_epi16
#define _mm512_maddubs_epi16 simde_mm512_maddubs_epi16
#define _mm512_mul_ps simde_mm512_mul_ps
#define _mm512_mullo_epi32 simde_mm512_mullo_epi32
#define _mm512_set1_epi16 simde_mm512_set1_epi16
#define _mm512_set1_epi32 simde_mm512_set1_epi32
#define _mm512_set1_ps simde_mm512_set1_ps
#define _mm512_setzero_si512 simde_mm512_setzero_si512
#define _mm512_storeu_ps simde_mm512_storeu_ps
#define _mm512_storeu_si512 simde_mm512_storeu_si512
#define _mm512_sub_epi32 simde_mm512_sub_epi32
#define _mm_packs_epi32 simde_mm_packs_epi32
#define _mm_packus_epi16 simde_mm_packus_epi16
#define _mm_storel_epi64 simde_mm_storel_epi64
#define Q8P_TARGET(features)
#elif defined(__x86_64__)
#include <immintrin.h>
#define Q8P_TARGET(features) __attribute__((target(features)))
#endif

// MARK: quantization

/// Scale, 1/scale and zero point from a row's range for codes 0...levels; 0, 0, 0 for a row of zeros.
static inline void row_params(float lo, float hi, float levels, float *scale, float *inv, int32_t *zero) {
    lo = lo < 0 ? lo : 0;
    hi = hi > 0 ? hi : 0;
    *scale = (hi - lo) / levels;
    if (*scale == 0) {
        *inv = 0;
        *zero = 0;
        return;
    }
    *inv = 1.0f / *scale;
    float z = nearbyintf(-lo * *inv);
    z = z < 0 ? 0 : (z > levels ? levels : z);
    *zero = (int32_t)z;
}

static inline uint8_t quantize_one(float x, float inv, float zero, float levels) {
    float v = nearbyintf(x * inv) + zero;
    v = v < 0 ? 0 : (v > levels ? levels : v);
    return (uint8_t)v;
}

static void quantize_portable(const float *x, int64_t rows, int64_t k, int64_t kp, float levels, uint8_t *q, float *scales, int32_t *zeros) {
    for (int64_t r = 0; r < rows; r++) {
        const float *src = x + r * k;
        uint8_t *dst = q + r * kp;
        float lo = 0, hi = 0, inv;
        for (int64_t t = 0; t < k; t++) {
            lo = src[t] < lo ? src[t] : lo;
            hi = src[t] > hi ? src[t] : hi;
        }
        row_params(lo, hi, levels, &scales[r], &inv, &zeros[r]);
        for (int64_t t = 0; t < k; t++) dst[t] = inv == 0 ? 0 : quantize_one(src[t], inv, (float)zeros[r], levels);
        memset(dst + k, 0, (size_t)(kp - k));
    }
}

#if defined(__x86_64__)
Q8P_TARGET("avx2,fma")
static void quantize_avx2(const float *x, int64_t rows, int64_t k, int64_t kp, float levels, uint8_t *q, float *scales, int32_t *zeros) {
    const __m256 top = _mm256_set1_ps(levels), zerof = _mm256_setzero_ps();
    for (int64_t r = 0; r < rows; r++) {
        const float *src = x + r * k;
        uint8_t *dst = q + r * kp;
        __m256 vlo = _mm256_setzero_ps(), vhi = vlo;
        int64_t t = 0;
        for (; t + 8 <= k; t += 8) {
            const __m256 v = _mm256_loadu_ps(src + t);
            vlo = _mm256_min_ps(vlo, v);
            vhi = _mm256_max_ps(vhi, v);
        }
        float l8[8], h8[8], lo = 0, hi = 0, inv;
        _mm256_storeu_ps(l8, vlo);
        _mm256_storeu_ps(h8, vhi);
        for (int c = 0; c < 8; c++) {
            lo = l8[c] < lo ? l8[c] : lo;
            hi = h8[c] > hi ? h8[c] : hi;
        }
        for (; t < k; t++) {
            lo = src[t] < lo ? src[t] : lo;
            hi = src[t] > hi ? src[t] : hi;
        }
        row_params(lo, hi, levels, &scales[r], &inv, &zeros[r]);
        if (inv == 0) {
            memset(dst, 0, (size_t)kp);
            continue;
        }
        const __m256 iv = _mm256_set1_ps(inv), zv = _mm256_set1_ps((float)zeros[r]);
        t = 0;
        for (; t + 8 <= k; t += 8) {
            __m256 v = _mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(src + t), iv), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
            v = _mm256_min_ps(_mm256_max_ps(_mm256_add_ps(v, zv), zerof), top);
            const __m256i i32 = _mm256_cvtps_epi32(v);
            const __m128i i16 = _mm_packs_epi32(_mm256_castsi256_si128(i32), _mm256_extracti128_si256(i32, 1));
            _mm_storel_epi64((__m128i *)(dst + t), _mm_packus_epi16(i16, i16));
        }
        for (; t < k; t++) dst[t] = quantize_one(src[t], inv, (float)zeros[r], levels);
        memset(dst + k, 0, (size_t)(kp - k));
    }
}
#endif

void ingot_q8p_quantize_rows(const float *x, int64_t rows, int64_t k, int64_t kp, int32_t levels, uint8_t *q, float *scales, int32_t *zeros) {
    const float top = levels == 127 ? 127.0f : 255.0f;
#if defined(__x86_64__)
    if (ingot_q8p_path() != INGOT_Q8P_PATH_PORTABLE) {
        quantize_avx2(x, rows, k, kp, top, q, scales, zeros);
        return;
    }
#endif
    quantize_portable(x, rows, k, kp, top, q, scales, zeros);
}

// MARK: GEMM

/// The epilogue for one row of a panel from its 16 exact int32 sums (columns j0..<j0+cols).
static inline void store_row(const int32_t *acc, int64_t cols, int64_t j0, float xs, int32_t xz, const float *ws,
                             const int32_t *colsums, const float *bias, float *yrow) {
    for (int64_t c = 0; c < cols; c++) {
        const int64_t j = j0 + c;
        const float v = (float)(acc[c] - xz * colsums[j]) * (xs * ws[j]);
        yrow[j] = bias ? v + bias[j] : v;
    }
}

static void gemm_portable(const uint8_t *q, const float *scales, const int32_t *zeros, int64_t m, int64_t kp,
                          const int8_t *wp, const float *ws, const int32_t *colsums, int64_t n, const float *bias,
                          float *y, int64_t p0, int64_t p1) {
    const int64_t blocks = kp / INGOT_Q8P_KBLOCK;
    for (int64_t p = p0; p < p1; p++) {
        const int8_t *panel = wp + p * blocks * 64;
        const int64_t j0 = p * INGOT_Q8P_PANEL;
        const int64_t cols = n - j0 < INGOT_Q8P_PANEL ? n - j0 : INGOT_Q8P_PANEL;
        for (int64_t i = 0; i < m; i++) {
            int32_t acc[INGOT_Q8P_PANEL] = {0};
            const uint8_t *xr = q + i * kp;
            for (int64_t b = 0; b < blocks; b++) {
                for (int c = 0; c < INGOT_Q8P_PANEL; c++) {
                    for (int t = 0; t < INGOT_Q8P_KBLOCK; t++) acc[c] += (int32_t)xr[b * 4 + t] * (int32_t)panel[(b * 16 + c) * 4 + t];
                }
            }
            store_row(acc, cols, j0, scales[i], zeros[i], ws, colsums, bias, y + i * n);
        }
    }
}

#if defined(__x86_64__)
// MARK: 256-bit paths (AVX2, AVX2-VNNI)

/// The epilogue of an R-row × 16-column tile: acc[r][h] holds the exact sums of row r0 + r,
/// columns j0 + 8h ..< j0 + 8h + 8.
#define Q8P_DEFINE_STORE256(SUFFIX, TARGET)                                                                            \
Q8P_TARGET(TARGET)                                                                                                     \
static inline void store256_##SUFFIX(__m256i acc[][2], int rows, const float *scales, const int32_t *zeros, int64_t r0, \
                                     const float *ws, const int32_t *colsums, int64_t n, const float *bias, float *y,  \
                                     int64_t j0, int64_t cols) {                                                       \
    for (int r = 0; r < rows; r++) {                                                                                   \
        const int64_t i = r0 + r;                                                                                      \
        float *yrow = y + i * n;                                                                                       \
        if (cols == INGOT_Q8P_PANEL) {                                                                                 \
            const __m256i z = _mm256_set1_epi32(zeros[i]);                                                             \
            const __m256 s = _mm256_set1_ps(scales[i]);                                                                \
            for (int h = 0; h < 2; h++) {                                                                              \
                const int64_t j = j0 + 8 * h;                                                                          \
                const __m256i d = _mm256_sub_epi32(acc[r][h], _mm256_mullo_epi32(z, _mm256_loadu_si256((const __m256i *)(colsums + j)))); \
                __m256 v = _mm256_mul_ps(_mm256_cvtepi32_ps(d), _mm256_mul_ps(s, _mm256_loadu_ps(ws + j)));            \
                if (bias) v = _mm256_add_ps(v, _mm256_loadu_ps(bias + j));                                             \
                _mm256_storeu_ps(yrow + j, v);                                                                         \
            }                                                                                                          \
        } else {                                                                                                       \
            int32_t sums[INGOT_Q8P_PANEL];                                                                             \
            _mm256_storeu_si256((__m256i *)sums, acc[r][0]);                                                           \
            _mm256_storeu_si256((__m256i *)(sums + 8), acc[r][1]);                                                     \
            store_row(sums, cols, j0, scales[i], zeros[i], ws, colsums, bias, yrow);                                   \
        }                                                                                                              \
    }                                                                                                                  \
}

// One tile kernel and its panel loop per instruction set, from one body: ACCUMULATE(acc, xb, w)
// adds to the eight int32 lanes of acc the four products of the activation bytes broadcast in
// xb with the 8 columns × 4 weight bytes in w. ROWS is a constant at every call, so the
// accumulators stay in registers.
#define Q8P_DEFINE_GEMM256(SUFFIX, TARGET, ACCUMULATE)                                                                 \
Q8P_DEFINE_STORE256(SUFFIX, TARGET)                                                                                    \
Q8P_TARGET(TARGET)                                                                                                     \
static inline __attribute__((always_inline)) void tile256_##SUFFIX(                                                    \
        const int ROWS, const uint8_t *q, const float *scales, const int32_t *zeros, int64_t r0, int64_t kp,           \
        const int8_t *panel, const float *ws, const int32_t *colsums, int64_t n, const float *bias, float *y,          \
        int64_t j0, int64_t cols) {                                                                                    \
    __m256i acc[8][2];                                                                                                 \
    for (int r = 0; r < ROWS; r++) acc[r][0] = acc[r][1] = _mm256_setzero_si256();                                    \
    const uint8_t *x = q + r0 * kp;                                                                                    \
    const int64_t blocks = kp / INGOT_Q8P_KBLOCK;                                                                      \
    for (int64_t b = 0; b < blocks; b++) {                                                                             \
        const __m256i w0 = _mm256_loadu_si256((const __m256i *)(panel + b * 64));                                      \
        const __m256i w1 = _mm256_loadu_si256((const __m256i *)(panel + b * 64 + 32));                                 \
        for (int r = 0; r < ROWS; r++) {                                                                               \
            int32_t v;                                                                                                 \
            memcpy(&v, x + r * kp + 4 * b, 4);                                                                         \
            const __m256i xb = _mm256_set1_epi32(v);                                                                   \
            acc[r][0] = ACCUMULATE(acc[r][0], xb, w0);                                                                 \
            acc[r][1] = ACCUMULATE(acc[r][1], xb, w1);                                                                 \
        }                                                                                                              \
    }                                                                                                                  \
    store256_##SUFFIX(acc, ROWS, scales, zeros, r0, ws, colsums, n, bias, y, j0, cols);                                \
}                                                                                                                      \
                                                                                                                       \
Q8P_TARGET(TARGET)                                                                                                     \
static void gemm_##SUFFIX(const uint8_t *q, const float *scales, const int32_t *zeros, int64_t m, int64_t kp,          \
                          const int8_t *wp, const float *ws, const int32_t *colsums, int64_t n, const float *bias,     \
                          float *y, int64_t p0, int64_t p1) {                                                          \
    const int64_t blocks = kp / INGOT_Q8P_KBLOCK;                                                                      \
    for (int64_t p = p0; p < p1; p++) {                                                                                \
        const int8_t *panel = wp + p * blocks * 64;                                                                    \
        const int64_t j0 = p * INGOT_Q8P_PANEL;                                                                        \
        const int64_t cols = n - j0 < INGOT_Q8P_PANEL ? n - j0 : INGOT_Q8P_PANEL;                                      \
        int64_t i = 0;                                                                                                 \
        for (; i + 4 <= m; i += 4) tile256_##SUFFIX(4, q, scales, zeros, i, kp, panel, ws, colsums, n, bias, y, j0, cols); \
        if (i + 2 <= m) {                                                                                              \
            tile256_##SUFFIX(2, q, scales, zeros, i, kp, panel, ws, colsums, n, bias, y, j0, cols);                    \
            i += 2;                                                                                                    \
        }                                                                                                              \
        if (i < m) tile256_##SUFFIX(1, q, scales, zeros, i, kp, panel, ws, colsums, n, bias, y, j0, cols);             \
    }                                                                                                                  \
}

Q8P_TARGET("avx2,fma")
static inline __m256i accumulate_avx2(__m256i acc, __m256i xb, __m256i w) {
    return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(xb, w), _mm256_set1_epi16(1)));
}

Q8P_TARGET("avxvnni,avx2,fma")
static inline __m256i accumulate_avx_vnni(__m256i acc, __m256i xb, __m256i w) { return _mm256_dpbusd_avx_epi32(acc, xb, w); }

Q8P_TARGET("avx512vnni,avx512vl,avx2,fma")
static inline __m256i accumulate_evex_vnni256(__m256i acc, __m256i xb, __m256i w) { return _mm256_dpbusd_epi32(acc, xb, w); }

Q8P_DEFINE_GEMM256(avx2, "avx2,fma", accumulate_avx2)
Q8P_DEFINE_GEMM256(avx_vnni, "avxvnni,avx2,fma", accumulate_avx_vnni)
Q8P_DEFINE_GEMM256(evex_vnni256, "avx512vnni,avx512vl,avx2,fma", accumulate_evex_vnni256)

// MARK: 512-bit paths (AVX-512BW, AVX-512 VNNI)

/// The epilogue of an R-row × 16-column tile: acc[r] holds the exact sums of row r0 + r, columns j0 ..< j0 + 16.
#define Q8P_DEFINE_STORE512(SUFFIX, TARGET)                                                                            \
Q8P_TARGET(TARGET)                                                                                                     \
static inline void store512_##SUFFIX(__m512i acc[], int rows, const float *scales, const int32_t *zeros, int64_t r0,  \
                                     const float *ws, const int32_t *colsums, int64_t n, const float *bias, float *y,  \
                                     int64_t j0, int64_t cols) {                                                       \
    for (int r = 0; r < rows; r++) {                                                                                   \
        const int64_t i = r0 + r;                                                                                      \
        float *yrow = y + i * n;                                                                                       \
        if (cols == INGOT_Q8P_PANEL) {                                                                                 \
            const __m512i d = _mm512_sub_epi32(acc[r], _mm512_mullo_epi32(_mm512_set1_epi32(zeros[i]),                \
                                                                          _mm512_loadu_si512((const void *)(colsums + j0)))); \
            __m512 v = _mm512_mul_ps(_mm512_cvtepi32_ps(d), _mm512_mul_ps(_mm512_set1_ps(scales[i]), _mm512_loadu_ps(ws + j0))); \
            if (bias) v = _mm512_add_ps(v, _mm512_loadu_ps(bias + j0));                                                \
            _mm512_storeu_ps(yrow + j0, v);                                                                            \
        } else {                                                                                                       \
            int32_t sums[INGOT_Q8P_PANEL];                                                                             \
            _mm512_storeu_si512((void *)sums, acc[r]);                                                                 \
            store_row(sums, cols, j0, scales[i], zeros[i], ws, colsums, bias, yrow);                                   \
        }                                                                                                              \
    }                                                                                                                  \
}

// As Q8P_DEFINE_GEMM256 with one zmm register per row: a whole 64-byte block (16 columns × 4
// inputs) per load, tiles of 8, 4, 2 and 1 rows.
#define Q8P_DEFINE_GEMM512(SUFFIX, TARGET, ACCUMULATE)                                                                 \
Q8P_DEFINE_STORE512(SUFFIX, TARGET)                                                                                    \
Q8P_TARGET(TARGET)                                                                                                     \
static inline __attribute__((always_inline)) void tile512_##SUFFIX(                                                    \
        const int ROWS, const uint8_t *q, const float *scales, const int32_t *zeros, int64_t r0, int64_t kp,           \
        const int8_t *panel, const float *ws, const int32_t *colsums, int64_t n, const float *bias, float *y,          \
        int64_t j0, int64_t cols) {                                                                                    \
    __m512i acc[8];                                                                                                    \
    for (int r = 0; r < ROWS; r++) acc[r] = _mm512_setzero_si512();                                                    \
    const uint8_t *x = q + r0 * kp;                                                                                    \
    const int64_t blocks = kp / INGOT_Q8P_KBLOCK;                                                                      \
    for (int64_t b = 0; b < blocks; b++) {                                                                             \
        const __m512i w = _mm512_loadu_si512((const void *)(panel + b * 64));                                          \
        for (int r = 0; r < ROWS; r++) {                                                                               \
            int32_t v;                                                                                                 \
            memcpy(&v, x + r * kp + 4 * b, 4);                                                                         \
            acc[r] = ACCUMULATE(acc[r], _mm512_set1_epi32(v), w);                                                      \
        }                                                                                                              \
    }                                                                                                                  \
    store512_##SUFFIX(acc, ROWS, scales, zeros, r0, ws, colsums, n, bias, y, j0, cols);                                \
}                                                                                                                      \
                                                                                                                       \
Q8P_TARGET(TARGET)                                                                                                     \
static void gemm_##SUFFIX(const uint8_t *q, const float *scales, const int32_t *zeros, int64_t m, int64_t kp,          \
                          const int8_t *wp, const float *ws, const int32_t *colsums, int64_t n, const float *bias,     \
                          float *y, int64_t p0, int64_t p1) {                                                          \
    const int64_t blocks = kp / INGOT_Q8P_KBLOCK;                                                                      \
    for (int64_t p = p0; p < p1; p++) {                                                                                \
        const int8_t *panel = wp + p * blocks * 64;                                                                    \
        const int64_t j0 = p * INGOT_Q8P_PANEL;                                                                        \
        const int64_t cols = n - j0 < INGOT_Q8P_PANEL ? n - j0 : INGOT_Q8P_PANEL;                                      \
        int64_t i = 0;                                                                                                 \
        for (; i + 8 <= m; i += 8) tile512_##SUFFIX(8, q, scales, zeros, i, kp, panel, ws, colsums, n, bias, y, j0, cols); \
        if (i + 4 <= m) {                                                                                              \
            tile512_##SUFFIX(4, q, scales, zeros, i, kp, panel, ws, colsums, n, bias, y, j0, cols);                    \
            i += 4;                                                                                                    \
        }                                                                                                              \
        if (i + 2 <= m) {                                                                                              \
            tile512_##SUFFIX(2, q, scales, zeros, i, kp, panel, ws, colsums, n, bias, y, j0, cols);                    \
            i += 2;                                                                                                    \
        }                                                                                                              \
        if (i < m) tile512_##SUFFIX(1, q, scales, zeros, i, kp, panel, ws, colsums, n, bias, y, j0, cols);             \
    }                                                                                                                  \
}

Q8P_TARGET("avx512f,avx512bw,avx512vl,avx2,fma")
static inline __m512i accumulate_avx512bw(__m512i acc, __m512i xb, __m512i w) {
    return _mm512_add_epi32(acc, _mm512_madd_epi16(_mm512_maddubs_epi16(xb, w), _mm512_set1_epi16(1)));
}

Q8P_TARGET("avx512vnni,avx512f,avx512bw,avx512vl,avx2,fma")
static inline __m512i accumulate_avx512_vnni(__m512i acc, __m512i xb, __m512i w) { return _mm512_dpbusd_epi32(acc, xb, w); }

Q8P_DEFINE_GEMM512(avx512bw, "avx512f,avx512bw,avx512vl,avx2,fma", accumulate_avx512bw)
Q8P_DEFINE_GEMM512(avx512_vnni, "avx512vnni,avx512f,avx512bw,avx512vl,avx2,fma", accumulate_avx512_vnni)
#endif

// MARK: path selection

int ingot_q8p_path_available(int path) {
    switch (path) {
    case INGOT_Q8P_PATH_PORTABLE: return 1;
#if defined(__x86_64__)
    case INGOT_Q8P_PATH_AVX2: return ingot_cpu_has_avx2_fma();
    case INGOT_Q8P_PATH_AVX2_VNNI: return ingot_cpu_has_avx_vnni() || ingot_cpu_has_avx512_vnni();
    case INGOT_Q8P_PATH_AVX512BW: return ingot_cpu_has_avx512bw();
    case INGOT_Q8P_PATH_AVX512_VNNI: return ingot_cpu_has_avx512_vnni();
#endif
    default: return 0;
    }
}

int ingot_q8p_best_path(void) {
    static const int fastest_first[] = {INGOT_Q8P_PATH_AVX512_VNNI, INGOT_Q8P_PATH_AVX512BW, INGOT_Q8P_PATH_AVX2_VNNI,
                                        INGOT_Q8P_PATH_AVX2};
    for (size_t i = 0; i < sizeof fastest_first / sizeof fastest_first[0]; i++) {
        if (ingot_q8p_path_available(fastest_first[i])) return fastest_first[i];
    }
    return INGOT_Q8P_PATH_PORTABLE;
}

/// -1 until the first use or ingot_q8p_set_path; read and written atomically so a lazy first
/// choice from several threads is not a data race (they all store the same value).
static int selected_path = -1;

int ingot_q8p_path(void) {
    int path = __atomic_load_n(&selected_path, __ATOMIC_RELAXED);
    if (path < 0) {
        path = ingot_q8p_best_path();
        __atomic_store_n(&selected_path, path, __ATOMIC_RELAXED);
    }
    return path;
}

int ingot_q8p_set_path(int path) {
    if (!ingot_q8p_path_available(path)) return -1;
    __atomic_store_n(&selected_path, path, __ATOMIC_RELAXED);
    return 0;
}

void ingot_q8p_gemm(const uint8_t *q, const float *scales, const int32_t *zeros, int64_t m, int64_t kp,
                    const int8_t *wp, const float *ws, const int32_t *colsums, int64_t n, const float *bias,
                    float *y, int64_t p0, int64_t p1) {
    switch (ingot_q8p_path()) {
#if defined(__x86_64__)
    case INGOT_Q8P_PATH_AVX512_VNNI:
        gemm_avx512_vnni(q, scales, zeros, m, kp, wp, ws, colsums, n, bias, y, p0, p1);
        return;
    case INGOT_Q8P_PATH_AVX512BW:
        gemm_avx512bw(q, scales, zeros, m, kp, wp, ws, colsums, n, bias, y, p0, p1);
        return;
    case INGOT_Q8P_PATH_AVX2_VNNI:
        if (ingot_cpu_has_avx_vnni()) {
            gemm_avx_vnni(q, scales, zeros, m, kp, wp, ws, colsums, n, bias, y, p0, p1);
        } else {
            gemm_evex_vnni256(q, scales, zeros, m, kp, wp, ws, colsums, n, bias, y, p0, p1);
        }
        return;
    case INGOT_Q8P_PATH_AVX2:
        gemm_avx2(q, scales, zeros, m, kp, wp, ws, colsums, n, bias, y, p0, p1);
        return;
#endif
    default:
        gemm_portable(q, scales, zeros, m, kp, wp, ws, colsums, n, bias, y, p0, p1);
        return;
    }
}
