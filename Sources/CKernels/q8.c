// int8 kernels (see ingot_q8.h): row quantization, the int8 GEMM and the weight-only GEMV.
// The AVX2 GEMM multiplies signed bytes exactly with the sign trick: |x| as unsigned times
// w·sign(x) through vpmaddubsw (pair sums ≤ 2·127·127 < 2^15, so no saturation), then
// vpmaddwd by ones into int32. It does not pack weights or handle other quant formats.
// Float epilogues must round exactly like the portable path and the Swift twin: no FMA contraction.
#pragma STDC FP_CONTRACT OFF
#include <math.h>
#include <string.h>
#include "ingot_q8.h"
#include "ckernels.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

/// Atomic: a model opening with INGOT_KERNEL_PATH set may store it while another model runs.
static int force_portable = 0;

void ingot_q8_set_portable(int on) { __atomic_store_n(&force_portable, on, __ATOMIC_RELAXED); }

int ingot_q8_uses_avx2(void) { return !__atomic_load_n(&force_portable, __ATOMIC_RELAXED) && ingot_cpu_has_avx2_fma(); }

// MARK: quantization

/// dst[t] = clamp(round-half-even(src[t] · inv), ±127) for t in t0..<t1.
static inline void quantize_span(const float *src, int8_t *dst, int64_t t0, int64_t t1, float inv) {
    for (int64_t t = t0; t < t1; t++) {
        float v = nearbyintf(src[t] * inv);
        v = v > 127.0f ? 127.0f : (v < -127.0f ? -127.0f : v);
        dst[t] = (int8_t)v;
    }
}

/// max(m, |src[t]|) over t0..<t1.
static inline float max_abs_span(const float *src, int64_t t0, int64_t t1, float m) {
    for (int64_t t = t0; t < t1; t++) {
        float a = fabsf(src[t]);
        m = a > m ? a : m;
    }
    return m;
}

/// Stores the group's scale (max|x| / 127) and returns 1/scale; for an all-zero group it
/// zeroes dst and returns 0.
static inline float group_scale(float m, float *scale, int8_t *dst, int64_t group) {
    *scale = m / 127.0f;
    if (*scale == 0) {
        memset(dst, 0, (size_t)group);
        return 0;
    }
    return 1.0f / *scale;
}

static void quantize_portable(const float *x, int64_t rows, int64_t k, int64_t group, int8_t *q, float *scales) {
    const int64_t groups = k / group;
    for (int64_t r = 0; r < rows; r++) {
        for (int64_t g = 0; g < groups; g++) {
            const float *src = x + r * k + g * group;
            int8_t *dst = q + r * k + g * group;
            const float inv = group_scale(max_abs_span(src, 0, group, 0), &scales[r * groups + g], dst, group);
            if (inv != 0) quantize_span(src, dst, 0, group, inv);
        }
    }
}

#if defined(__x86_64__)
// Same arithmetic as the portable path: max|x| exact, scale = max / 127, x · (1/scale)
// rounded to nearest even (vroundps), clamped to ±127.
__attribute__((target("avx2,fma")))
static void quantize_avx2(const float *x, int64_t rows, int64_t k, int64_t group, int8_t *q, float *scales) {
    const int64_t groups = k / group;
    const __m256 signBit = _mm256_set1_ps(-0.0f), hi = _mm256_set1_ps(127.0f), lo = _mm256_set1_ps(-127.0f);
    for (int64_t r = 0; r < rows; r++) {
        for (int64_t g = 0; g < groups; g++) {
            const float *src = x + r * k + g * group;
            int8_t *dst = q + r * k + g * group;
            __m256 mv = _mm256_setzero_ps();
            int64_t t = 0;
            for (; t + 8 <= group; t += 8) mv = _mm256_max_ps(mv, _mm256_andnot_ps(signBit, _mm256_loadu_ps(src + t)));
            __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(mv), _mm256_extractf128_ps(mv, 1));
            m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
            m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
            const float inv = group_scale(max_abs_span(src, t, group, _mm_cvtss_f32(m4)), &scales[r * groups + g], dst, group);
            if (inv == 0) continue;
            const __m256 iv = _mm256_set1_ps(inv);
            t = 0;
            for (; t + 8 <= group; t += 8) {
                __m256 v = _mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(src + t), iv), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
                __m256i i32 = _mm256_cvtps_epi32(_mm256_min_ps(_mm256_max_ps(v, lo), hi));
                __m128i i16 = _mm_packs_epi32(_mm256_castsi256_si128(i32), _mm256_extracti128_si256(i32, 1));
                _mm_storel_epi64((__m128i *)(dst + t), _mm_packs_epi16(i16, i16));
            }
            quantize_span(src, dst, t, group, inv);
        }
    }
}
#endif

void ingot_q8_quantize_rows(const float *x, int64_t rows, int64_t k, int64_t group, int8_t *q, float *scales) {
#if defined(__x86_64__)
    if (ingot_q8_uses_avx2()) {
        quantize_avx2(x, rows, k, group, q, scales);
        return;
    }
#endif
    quantize_portable(x, rows, k, group, q, scales);
}

// MARK: GEMM

static void gemm_portable(const int8_t *xq, const float *xs, int64_t m, const int8_t *wq, const float *ws,
                          int64_t n, int64_t k, int64_t group, const float *bias, float *y, int64_t n0, int64_t n1) {
    const int64_t groups = k / group;
    for (int64_t i = 0; i < m; i++) {
        const int8_t *xr = xq + i * k;
        for (int64_t j = n0; j < n1; j++) {
            const int8_t *wr = wq + j * k;
            float acc = 0;
            for (int64_t g = 0; g < groups; g++) {
                int32_t dot = 0;
                for (int64_t t = g * group; t < (g + 1) * group; t++) dot += (int32_t)xr[t] * (int32_t)wr[t];
                acc += (float)dot * (xs[i * groups + g] * ws[j * groups + g]);
            }
            y[i * n + j] = bias ? acc + bias[j] : acc;
        }
    }
}

#if defined(__x86_64__)
__attribute__((target("avx2,fma")))
static inline int32_t hsum_epi32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
    return _mm_cvtsi128_si32(s);
}

/// The four horizontal sums of a, b, c, d as one vector (exact int32 adds).
__attribute__((target("avx2,fma")))
static inline __m128i hsum4_epi32(__m256i a, __m256i b, __m256i c, __m256i d) {
    __m256i ab = _mm256_hadd_epi32(a, b), cd = _mm256_hadd_epi32(c, d);
    __m256i abcd = _mm256_hadd_epi32(ab, cd);
    return _mm_add_epi32(_mm256_castsi256_si128(abcd), _mm256_extracti128_si256(abcd, 1));
}

/// Σ x·w over 32 signed bytes, added into acc as 8 int32 lanes.
__attribute__((target("avx2,fma")))
static inline __m256i dot32(__m256i acc, __m256i ax, __m256i x, const int8_t *w, __m256i ones) {
    __m256i sw = _mm256_sign_epi8(_mm256_loadu_si256((const __m256i *)w), x);
    return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(ax, sw), ones));
}

// Two rows × four columns per step: every x load serves four columns, every w load two rows.
__attribute__((target("avx2,fma")))
static void gemm_avx2(const int8_t *xq, const float *xs, int64_t m, const int8_t *wq, const float *ws,
                      int64_t n, int64_t k, int64_t group, const float *bias, float *y, int64_t n0, int64_t n1) {
    const int64_t groups = k / group;
    const __m256i ones = _mm256_set1_epi16(1);
    int64_t i = 0;
    for (; i + 2 <= m; i += 2) {
        const int8_t *xa = xq + i * k, *xb = xa + k;
        int64_t j = n0;
        for (; j + 4 <= n1; j += 4) {
            const int8_t *w[4] = {wq + j * k, wq + (j + 1) * k, wq + (j + 2) * k, wq + (j + 3) * k};
            float acc[2][4] = {{0, 0, 0, 0}, {0, 0, 0, 0}};
            for (int64_t g = 0; g < groups; g++) {
                __m256i a0s = _mm256_setzero_si256(), a1s = a0s, a2s = a0s, a3s = a0s;
                __m256i b0s = a0s, b1s = a0s, b2s = a0s, b3s = a0s;
                int64_t t = g * group;
                const int64_t end = t + group;
                for (; t + 32 <= end; t += 32) {
                    const __m256i x0 = _mm256_loadu_si256((const __m256i *)(xa + t)), x1 = _mm256_loadu_si256((const __m256i *)(xb + t));
                    const __m256i ax0 = _mm256_sign_epi8(x0, x0), ax1 = _mm256_sign_epi8(x1, x1);
                    const __m256i w0 = _mm256_loadu_si256((const __m256i *)(w[0] + t));
                    const __m256i w1 = _mm256_loadu_si256((const __m256i *)(w[1] + t));
                    a0s = _mm256_add_epi32(a0s, _mm256_madd_epi16(_mm256_maddubs_epi16(ax0, _mm256_sign_epi8(w0, x0)), ones));
                    b0s = _mm256_add_epi32(b0s, _mm256_madd_epi16(_mm256_maddubs_epi16(ax1, _mm256_sign_epi8(w0, x1)), ones));
                    a1s = _mm256_add_epi32(a1s, _mm256_madd_epi16(_mm256_maddubs_epi16(ax0, _mm256_sign_epi8(w1, x0)), ones));
                    b1s = _mm256_add_epi32(b1s, _mm256_madd_epi16(_mm256_maddubs_epi16(ax1, _mm256_sign_epi8(w1, x1)), ones));
                    const __m256i w2 = _mm256_loadu_si256((const __m256i *)(w[2] + t));
                    const __m256i w3 = _mm256_loadu_si256((const __m256i *)(w[3] + t));
                    a2s = _mm256_add_epi32(a2s, _mm256_madd_epi16(_mm256_maddubs_epi16(ax0, _mm256_sign_epi8(w2, x0)), ones));
                    b2s = _mm256_add_epi32(b2s, _mm256_madd_epi16(_mm256_maddubs_epi16(ax1, _mm256_sign_epi8(w2, x1)), ones));
                    a3s = _mm256_add_epi32(a3s, _mm256_madd_epi16(_mm256_maddubs_epi16(ax0, _mm256_sign_epi8(w3, x0)), ones));
                    b3s = _mm256_add_epi32(b3s, _mm256_madd_epi16(_mm256_maddubs_epi16(ax1, _mm256_sign_epi8(w3, x1)), ones));
                }
                int32_t da[4], db[4];
                _mm_storeu_si128((__m128i *)da, hsum4_epi32(a0s, a1s, a2s, a3s));
                _mm_storeu_si128((__m128i *)db, hsum4_epi32(b0s, b1s, b2s, b3s));
                for (; t < end; t++) {
                    for (int c = 0; c < 4; c++) {
                        da[c] += (int32_t)xa[t] * (int32_t)w[c][t];
                        db[c] += (int32_t)xb[t] * (int32_t)w[c][t];
                    }
                }
                const float sxa = xs[i * groups + g], sxb = xs[(i + 1) * groups + g];
                for (int c = 0; c < 4; c++) {
                    const float sw = ws[(j + c) * groups + g];
                    acc[0][c] += (float)da[c] * (sxa * sw);
                    acc[1][c] += (float)db[c] * (sxb * sw);
                }
            }
            for (int c = 0; c < 4; c++) {
                y[i * n + j + c] = bias ? acc[0][c] + bias[j + c] : acc[0][c];
                y[(i + 1) * n + j + c] = bias ? acc[1][c] + bias[j + c] : acc[1][c];
            }
        }
        if (j < n1) gemm_portable(xq + i * k, xs + i * groups, 2, wq, ws, n, k, group, bias, y + i * n, j, n1);
    }
    // A last odd row: one row × four columns.
    for (; i < m; i++) {
        const int8_t *xa = xq + i * k;
        int64_t j = n0;
        for (; j + 4 <= n1; j += 4) {
            const int8_t *w[4] = {wq + j * k, wq + (j + 1) * k, wq + (j + 2) * k, wq + (j + 3) * k};
            float acc[4] = {0, 0, 0, 0};
            for (int64_t g = 0; g < groups; g++) {
                __m256i sa[4];
                for (int c = 0; c < 4; c++) sa[c] = _mm256_setzero_si256();
                int64_t t = g * group;
                const int64_t end = t + group;
                for (; t + 32 <= end; t += 32) {
                    // The next four rows are contiguous after these: fetch them at four times
                    // this loop's pace so short rows (k of a few hundred) still stream from DRAM.
                    const int8_t *ahead = w[3] + k + 4 * t;
                    _mm_prefetch((const char *)ahead, _MM_HINT_T0);
                    _mm_prefetch((const char *)ahead + 64, _MM_HINT_T0);
                    __m256i x0 = _mm256_loadu_si256((const __m256i *)(xa + t));
                    __m256i a0 = _mm256_sign_epi8(x0, x0);
                    for (int c = 0; c < 4; c++) sa[c] = dot32(sa[c], a0, x0, w[c] + t, ones);
                }
                int32_t da[4];
                for (int c = 0; c < 4; c++) da[c] = hsum_epi32(sa[c]);
                for (; t < end; t++) {
                    for (int c = 0; c < 4; c++) da[c] += (int32_t)xa[t] * (int32_t)w[c][t];
                }
                const float sxa = xs[i * groups + g];
                for (int c = 0; c < 4; c++) acc[c] += (float)da[c] * (sxa * ws[(j + c) * groups + g]);
            }
            for (int c = 0; c < 4; c++) y[i * n + j + c] = bias ? acc[c] + bias[j + c] : acc[c];
        }
        if (j < n1) gemm_portable(xq + i * k, xs + i * groups, 1, wq, ws, n, k, group, bias, y + i * n, j, n1);
    }
}
#endif

void ingot_q8_gemm(const int8_t *xq, const float *xs, int64_t m, const int8_t *wq, const float *ws,
                   int64_t n, int64_t k, int64_t group, const float *bias, float *y, int64_t n0, int64_t n1) {
#if defined(__x86_64__)
    if (ingot_q8_uses_avx2()) {
        gemm_avx2(xq, xs, m, wq, ws, n, k, group, bias, y, n0, n1);
        return;
    }
#endif
    gemm_portable(xq, xs, m, wq, ws, n, k, group, bias, y, n0, n1);
}

// MARK: weight-only GEMV

static void gemv_portable(const float *x, const int8_t *wq, const float *ws, int64_t n, int64_t k, int64_t group,
                          const float *bias, float *y, int64_t n0, int64_t n1) {
    const int64_t groups = k / group;
    for (int64_t j = n0; j < n1; j++) {
        const int8_t *wr = wq + j * k;
        float acc = 0;
        for (int64_t g = 0; g < groups; g++) {
            float s = 0;
            for (int64_t t = g * group; t < (g + 1) * group; t++) s += x[t] * (float)wr[t];
            acc += s * ws[j * groups + g];
        }
        y[j] = bias ? acc + bias[j] : acc;
    }
}

#if defined(__x86_64__)
__attribute__((target("avx2,fma")))
static inline float hsum_ps(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

__attribute__((target("avx2,fma")))
static inline __m256 widen8(const int8_t *w) {
    return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)w)));
}

// Four rows at a time: each x load serves four rows; group scales are applied lane-wise
// (acc += partial · scale), so there is one horizontal sum per row, not per group.
__attribute__((target("avx2,fma")))
static void gemv_avx2(const float *x, const int8_t *wq, const float *ws, int64_t n, int64_t k, int64_t group,
                      const float *bias, float *y, int64_t n0, int64_t n1) {
    const int64_t groups = k / group;
    int64_t j = n0;
    if (group % 8 == 0) {
        for (; j + 4 <= n1; j += 4) {
            const int8_t *w0 = wq + j * k, *w1 = w0 + k, *w2 = w1 + k, *w3 = w2 + k;
            __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
            for (int64_t g = 0; g < groups; g++) {
                __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
                for (int64_t t = g * group; t < (g + 1) * group; t += 8) {
                    if ((t & 15) == 0) _mm_prefetch((const char *)(w3 + k + 4 * t), _MM_HINT_T0);
                    const __m256 xv = _mm256_loadu_ps(x + t);
                    s0 = _mm256_fmadd_ps(xv, widen8(w0 + t), s0);
                    s1 = _mm256_fmadd_ps(xv, widen8(w1 + t), s1);
                    s2 = _mm256_fmadd_ps(xv, widen8(w2 + t), s2);
                    s3 = _mm256_fmadd_ps(xv, widen8(w3 + t), s3);
                }
                a0 = _mm256_fmadd_ps(s0, _mm256_set1_ps(ws[j * groups + g]), a0);
                a1 = _mm256_fmadd_ps(s1, _mm256_set1_ps(ws[(j + 1) * groups + g]), a1);
                a2 = _mm256_fmadd_ps(s2, _mm256_set1_ps(ws[(j + 2) * groups + g]), a2);
                a3 = _mm256_fmadd_ps(s3, _mm256_set1_ps(ws[(j + 3) * groups + g]), a3);
            }
            y[j] = hsum_ps(a0) + (bias ? bias[j] : 0);
            y[j + 1] = hsum_ps(a1) + (bias ? bias[j + 1] : 0);
            y[j + 2] = hsum_ps(a2) + (bias ? bias[j + 2] : 0);
            y[j + 3] = hsum_ps(a3) + (bias ? bias[j + 3] : 0);
        }
    }
    if (j < n1) gemv_portable(x, wq, ws, n, k, group, bias, y, j, n1);
}

__attribute__((target("avx2,fma")))
static void dequantize_avx2(const int8_t *wq, const float *ws, int64_t k, int64_t group, int64_t r0, int64_t r1, float *out) {
    const int64_t groups = k / group;
    for (int64_t r = r0; r < r1; r++) {
        const int8_t *src = wq + r * k;
        float *dst = out + (r - r0) * k;
        for (int64_t g = 0; g < groups; g++) {
            const __m256 s = _mm256_set1_ps(ws[r * groups + g]);
            int64_t t = g * group;
            for (; t + 8 <= (g + 1) * group; t += 8) _mm256_storeu_ps(dst + t, _mm256_mul_ps(widen8(src + t), s));
            for (; t < (g + 1) * group; t++) dst[t] = (float)src[t] * ws[r * groups + g];
        }
    }
}
#endif

static void dequantize_portable(const int8_t *wq, const float *ws, int64_t k, int64_t group, int64_t r0, int64_t r1, float *out) {
    const int64_t groups = k / group;
    for (int64_t r = r0; r < r1; r++) {
        for (int64_t t = 0; t < k; t++) out[(r - r0) * k + t] = (float)wq[r * k + t] * ws[r * groups + t / group];
    }
}

void ingot_q8_dequantize_rows(const int8_t *wq, const float *ws, int64_t k, int64_t group, int64_t r0, int64_t r1, float *out) {
#if defined(__x86_64__)
    if (ingot_q8_uses_avx2()) {
        dequantize_avx2(wq, ws, k, group, r0, r1, out);
        return;
    }
#endif
    dequantize_portable(wq, ws, k, group, r0, r1, out);
}

void ingot_q8_gemv_f32(const float *x, const int8_t *wq, const float *ws, int64_t n, int64_t k, int64_t group,
                       const float *bias, float *y, int64_t n0, int64_t n1) {
#if defined(__x86_64__)
    if (ingot_q8_uses_avx2()) {
        gemv_avx2(x, wq, ws, n, k, group, bias, y, n0, n1);
        return;
    }
#endif
    gemv_portable(x, wq, ws, n, k, group, bias, y, n0, n1);
}
