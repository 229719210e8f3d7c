// Packed u8 × s7 (or u7 × s8) GEMM and asymmetric row quantization (see ingot_q8packed.h). On
// CPUs with AVX-512 VNNI the tile uses vpdpbusd on 256-bit registers instead. The AVX2 path
// keeps a 4-row × 16-column tile in eight int32 registers: per block of four inputs it loads
// two weight vectors (8 columns × 4 bytes each), broadcasts each row's four activation bytes,
// and runs vpmaddubsw then vpmaddwd by ones: 16 multiplies per 256 products, no sign
// fix-ups and no horizontal sums. The portable path walks the same layout with plain loops.
// Float epilogues must round exactly like the portable path and the Swift twin: no FMA contraction.
#pragma STDC FP_CONTRACT OFF
#include <math.h>
#include <string.h>
#include "ingot_q8packed.h"
#include "ingot_q8.h"
#include "ckernels.h"

#if defined(__x86_64__)
#include <immintrin.h>
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
__attribute__((target("avx2,fma")))
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
    if (ingot_q8_uses_avx2()) {
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
/// The epilogue of a 4-row × 16-column tile: acc[r][h] holds the exact sums of row r0 + r,
/// columns j0 + 8h ..< j0 + 8h + 8.
__attribute__((target("avx2,fma")))
static inline void store_tile(__m256i acc[4][2], const float *scales, const int32_t *zeros, int64_t r0, int64_t rows,
                              const float *ws, const int32_t *colsums, int64_t n, const float *bias, float *y,
                              int64_t j0, int64_t cols) {
    for (int64_t r = 0; r < rows; r++) {
        const int64_t i = r0 + r;
        float *yrow = y + i * n;
        if (cols == INGOT_Q8P_PANEL) {
            const __m256i z = _mm256_set1_epi32(zeros[i]);
            const __m256 s = _mm256_set1_ps(scales[i]);
            for (int h = 0; h < 2; h++) {
                const int64_t j = j0 + 8 * h;
                const __m256i d = _mm256_sub_epi32(acc[r][h], _mm256_mullo_epi32(z, _mm256_loadu_si256((const __m256i *)(colsums + j))));
                __m256 v = _mm256_mul_ps(_mm256_cvtepi32_ps(d), _mm256_mul_ps(s, _mm256_loadu_ps(ws + j)));
                if (bias) v = _mm256_add_ps(v, _mm256_loadu_ps(bias + j));
                _mm256_storeu_ps(yrow + j, v);
            }
        } else {
            int32_t sums[INGOT_Q8P_PANEL];
            _mm256_storeu_si256((__m256i *)sums, acc[r][0]);
            _mm256_storeu_si256((__m256i *)(sums + 8), acc[r][1]);
            store_row(sums, cols, j0, scales[i], zeros[i], ws, colsums, bias, yrow);
        }
    }
}

// One 4-row × 16-column tile kernel and its panel loop per instruction set, from one body:
// ACCUMULATE(acc, xb, w) adds to the eight int32 sums in acc the products of the four
// activation bytes broadcast in xb with the 8 columns × 4 weight bytes in w. AVX2 does it
// with vpmaddubsw, vpmaddwd by ones and vpaddd; AVX-512 VNNI with one vpdpbusd. Both sums
// are exact (see ingot_q8packed.h), so both paths produce the same bits.
// Rows r0..<r0+rows (rows ≤ 4) of each panel; missing rows repeat the first and are not stored.
#define Q8P_DEFINE_GEMM(SUFFIX, TARGET, ACCUMULATE)                                                                     \
__attribute__((target(TARGET)))                                                                                        \
static inline void tile_##SUFFIX(const uint8_t *q, const float *scales, const int32_t *zeros, int64_t r0, int64_t rows, \
                                 int64_t kp, const int8_t *panel, const float *ws, const int32_t *colsums, int64_t n,  \
                                 const float *bias, float *y, int64_t j0, int64_t cols) {                             \
    const uint8_t *x[4] = {q + r0 * kp, q + r0 * kp, q + r0 * kp, q + r0 * kp};                                        \
    for (int64_t r = 1; r < rows; r++) x[r] = q + (r0 + r) * kp;                                                       \
    __m256i acc[4][2];                                                                                                 \
    for (int r = 0; r < 4; r++) acc[r][0] = acc[r][1] = _mm256_setzero_si256();                                        \
    const int64_t blocks = kp / INGOT_Q8P_KBLOCK;                                                                      \
    for (int64_t b = 0; b < blocks; b++) {                                                                             \
        const __m256i w0 = _mm256_loadu_si256((const __m256i *)(panel + b * 64));                                      \
        const __m256i w1 = _mm256_loadu_si256((const __m256i *)(panel + b * 64 + 32));                                 \
        for (int r = 0; r < 4; r++) {                                                                                  \
            int32_t v;                                                                                                 \
            memcpy(&v, x[r] + 4 * b, 4);                                                                               \
            const __m256i xb = _mm256_set1_epi32(v);                                                                   \
            acc[r][0] = ACCUMULATE(acc[r][0], xb, w0);                                                                 \
            acc[r][1] = ACCUMULATE(acc[r][1], xb, w1);                                                                 \
        }                                                                                                              \
    }                                                                                                                  \
    store_tile(acc, scales, zeros, r0, rows, ws, colsums, n, bias, y, j0, cols);                                       \
}                                                                                                                      \
                                                                                                                       \
__attribute__((target(TARGET)))                                                                                        \
static void gemm_##SUFFIX(const uint8_t *q, const float *scales, const int32_t *zeros, int64_t m, int64_t kp,          \
                          const int8_t *wp, const float *ws, const int32_t *colsums, int64_t n, const float *bias,     \
                          float *y, int64_t p0, int64_t p1) {                                                          \
    const int64_t blocks = kp / INGOT_Q8P_KBLOCK;                                                                      \
    for (int64_t p = p0; p < p1; p++) {                                                                                \
        const int8_t *panel = wp + p * blocks * 64;                                                                    \
        const int64_t j0 = p * INGOT_Q8P_PANEL;                                                                        \
        const int64_t cols = n - j0 < INGOT_Q8P_PANEL ? n - j0 : INGOT_Q8P_PANEL;                                      \
        for (int64_t i = 0; i < m; i += 4) {                                                                           \
            tile_##SUFFIX(q, scales, zeros, i, m - i < 4 ? m - i : 4, kp, panel, ws, colsums, n, bias, y, j0, cols);   \
        }                                                                                                              \
    }                                                                                                                  \
}

__attribute__((target("avx2,fma")))
static inline __m256i accumulate_avx2(__m256i acc, __m256i xb, __m256i w) {
    return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(xb, w), _mm256_set1_epi16(1)));
}

__attribute__((target("avx512vnni,avx512vl,avx2,fma")))
static inline __m256i accumulate_vnni(__m256i acc, __m256i xb, __m256i w) { return _mm256_dpbusd_epi32(acc, xb, w); }

Q8P_DEFINE_GEMM(avx2, "avx2,fma", accumulate_avx2)
Q8P_DEFINE_GEMM(vnni, "avx512vnni,avx512vl,avx2,fma", accumulate_vnni)
#endif

static int vnni_allowed = 1;

void ingot_q8p_set_vnni(int allowed) { vnni_allowed = allowed; }

int ingot_q8p_uses_vnni(void) { return vnni_allowed && ingot_q8_uses_avx2() && ingot_cpu_has_avx512_vnni(); }

void ingot_q8p_gemm(const uint8_t *q, const float *scales, const int32_t *zeros, int64_t m, int64_t kp,
                    const int8_t *wp, const float *ws, const int32_t *colsums, int64_t n, const float *bias,
                    float *y, int64_t p0, int64_t p1) {
#if defined(__x86_64__)
    if (ingot_q8p_uses_vnni()) {
        gemm_vnni(q, scales, zeros, m, kp, wp, ws, colsums, n, bias, y, p0, p1);
        return;
    }
    if (ingot_q8_uses_avx2()) {
        gemm_avx2(q, scales, zeros, m, kp, wp, ws, colsums, n, bias, y, p0, p1);
        return;
    }
#endif
    gemm_portable(q, scales, zeros, m, kp, wp, ws, colsums, n, bias, y, p0, p1);
}
