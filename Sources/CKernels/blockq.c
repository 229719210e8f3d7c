// Block-quantized weight kernels (see ingot_blockq.h). One scalar decoder per block layout,
// written once and inlined into each path's functions (the compiler vectorizes it for the
// path's instruction set); FP_CONTRACT OFF keeps every decoded weight bit-identical to the
// reference decoder (IngotCore BlockQuant.swift). The dot products differ per path only in
// float summation order. It does not quantize activations or repack weights.
#pragma STDC FP_CONTRACT OFF
#include <string.h>
#include "ingot_blockq.h"
#include "ckernels.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

enum { Q4_0 = 10, Q4_1 = 11, Q5_0 = 12, Q5_1 = 13, Q8_0 = 14, Q4_K = 15, Q5_K = 16, Q6_K = 17 };

int64_t ingot_bq_block_size(int32_t type) {
    switch (type) {
    case Q4_0: case Q4_1: case Q5_0: case Q5_1: case Q8_0: return 32;
    case Q4_K: case Q5_K: case Q6_K: return 256;
    default: return 0;
    }
}

int64_t ingot_bq_block_bytes(int32_t type) {
    switch (type) {
    case Q4_0: return 18;
    case Q4_1: return 20;
    case Q5_0: return 22;
    case Q5_1: return 24;
    case Q8_0: return 34;
    case Q4_K: return 144;
    case Q5_K: return 176;
    case Q6_K: return 210;
    default: return 0;
    }
}

/// IEEE binary16 → float32, exact (subnormals included).
static inline __attribute__((always_inline)) float half_to_float(const uint8_t *p) {
    const uint16_t h = (uint16_t)(p[0] | (p[1] << 8));
    const uint32_t sign = (uint32_t)(h & 0x8000u) << 16, e = (h >> 10) & 0x1Fu, mant = h & 0x3FFu;
    uint32_t bits;
    if (e == 0) {
        const float f = (float)mant * 5.9604644775390625e-08f; // mant · 2^-24, exact
        memcpy(&bits, &f, 4);
        bits |= sign;
    } else if (e == 31) {
        bits = sign | 0x7F800000u | (mant << 13);
    } else {
        bits = sign | ((e + 112) << 23) | (mant << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

static inline __attribute__((always_inline)) uint32_t load_u32(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

/// The 6-bit scale and min of sub-block j (0…7) of a q4_K / q5_K block's 12 scale bytes.
static inline __attribute__((always_inline)) void scale_min_k4(int j, const uint8_t *q, uint8_t *sc, uint8_t *m) {
    if (j < 4) {
        *sc = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *sc = (uint8_t)((q[j + 4] & 0x0F) | ((q[j - 4] >> 6) << 4));
        *m = (uint8_t)((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

/// Decodes one block of `type` at p into y[0..<block size], with the reference decoder's arithmetic.
static inline __attribute__((always_inline)) void decode_block(int32_t type, const uint8_t *p, float *y) {
    switch (type) {
    case Q4_0: {
        const float d = half_to_float(p);
        for (int j = 0; j < 16; j++) {
            const uint8_t q = p[2 + j];
            y[j] = (float)((int)(q & 0x0F) - 8) * d;
            y[j + 16] = (float)((int)(q >> 4) - 8) * d;
        }
        break;
    }
    case Q4_1: {
        const float d = half_to_float(p), m = half_to_float(p + 2);
        for (int j = 0; j < 16; j++) {
            const uint8_t q = p[4 + j];
            y[j] = (float)(q & 0x0F) * d + m;
            y[j + 16] = (float)(q >> 4) * d + m;
        }
        break;
    }
    case Q5_0: {
        const float d = half_to_float(p);
        const uint32_t qh = load_u32(p + 2);
        for (int j = 0; j < 16; j++) {
            const uint8_t q = p[6 + j];
            const uint8_t h0 = (uint8_t)(((qh >> j) << 4) & 0x10), h1 = (uint8_t)((qh >> (j + 12)) & 0x10);
            y[j] = (float)((int)((q & 0x0F) | h0) - 16) * d;
            y[j + 16] = (float)((int)((q >> 4) | h1) - 16) * d;
        }
        break;
    }
    case Q5_1: {
        const float d = half_to_float(p), m = half_to_float(p + 2);
        const uint32_t qh = load_u32(p + 4);
        for (int j = 0; j < 16; j++) {
            const uint8_t q = p[8 + j];
            const uint8_t h0 = (uint8_t)(((qh >> j) << 4) & 0x10), h1 = (uint8_t)((qh >> (j + 12)) & 0x10);
            y[j] = (float)((q & 0x0F) | h0) * d + m;
            y[j + 16] = (float)((q >> 4) | h1) * d + m;
        }
        break;
    }
    case Q8_0: {
        const float d = half_to_float(p);
        for (int j = 0; j < 32; j++) y[j] = (float)(int8_t)p[2 + j] * d;
        break;
    }
    case Q4_K:
    case Q5_K: {
        const int five = type == Q5_K;
        const float d = half_to_float(p), dmin = half_to_float(p + 2);
        const uint8_t *scales = p + 4, *qh = p + 16, *qs = p + (five ? 48 : 16);
        for (int g = 0; g < 4; g++) {
            uint8_t sc1, m1, sc2, m2;
            scale_min_k4(2 * g, scales, &sc1, &m1);
            scale_min_k4(2 * g + 1, scales, &sc2, &m2);
            const float d1 = d * (float)sc1, min1 = dmin * (float)m1;
            const float d2 = d * (float)sc2, min2 = dmin * (float)m2;
            const uint8_t *q = qs + 32 * g;
            const uint8_t bitLow = (uint8_t)(1u << (2 * g)), bitHigh = (uint8_t)(2u << (2 * g));
            float *yg = y + 64 * g;
            if (five) {
                for (int l = 0; l < 32; l++) {
                    const float lo = (float)((q[l] & 0x0F) + ((qh[l] & bitLow) ? 16 : 0));
                    const float hi = (float)((q[l] >> 4) + ((qh[l] & bitHigh) ? 16 : 0));
                    yg[l] = d1 * lo - min1;
                    yg[32 + l] = d2 * hi - min2;
                }
            } else {
                for (int l = 0; l < 32; l++) {
                    yg[l] = d1 * (float)(q[l] & 0x0F) - min1;
                    yg[32 + l] = d2 * (float)(q[l] >> 4) - min2;
                }
            }
        }
        break;
    }
    case Q6_K: {
        const float d = half_to_float(p + 208);
        for (int half = 0; half < 2; half++) {
            const uint8_t *ql = p + 64 * half, *qh = p + 128 + 32 * half;
            const int8_t *sc = (const int8_t *)(p + 192 + 8 * half);
            float *yh = y + 128 * half;
            for (int l = 0; l < 32; l++) {
                const int s = l / 16;
                const uint8_t a = ql[l], c = ql[l + 32], h = qh[l];
                const int q1 = (int)((a & 0x0F) | ((h & 0x03) << 4)) - 32;
                const int q2 = (int)((c & 0x0F) | (((h >> 2) & 0x03) << 4)) - 32;
                const int q3 = (int)((a >> 4) | (((h >> 4) & 0x03) << 4)) - 32;
                const int q4 = (int)((c >> 4) | (((h >> 6) & 0x03) << 4)) - 32;
                yh[l] = d * (float)sc[s] * (float)q1;
                yh[l + 32] = d * (float)sc[s + 2] * (float)q2;
                yh[l + 64] = d * (float)sc[s + 4] * (float)q3;
                yh[l + 96] = d * (float)sc[s + 6] * (float)q4;
            }
        }
        break;
    }
    default:
        break;
    }
}

/// Decodes rows r0..<r1 (bs elements, bb bytes per block).
static inline __attribute__((always_inline)) void dequantize_rows_body(int32_t type, const uint8_t *w, int64_t k, int64_t r0, int64_t r1, float *out) {
    const int64_t bs = ingot_bq_block_size(type), bb = ingot_bq_block_bytes(type), blocks = k / bs;
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *row = w + r * blocks * bb;
        float *o = out + (r - r0) * k;
        for (int64_t b = 0; b < blocks; b++) decode_block(type, row + b * bb, o + b * bs);
    }
}

// MARK: portable

static void dequantize_portable(int32_t type, const uint8_t *w, int64_t k, int64_t r0, int64_t r1, float *out) {
    dequantize_rows_body(type, w, k, r0, r1, out);
}

/// In order: for each weight row, each block decoded once, then added to every x row's sum.
static void gemv_portable(int32_t type, const float *x, int64_t m, int64_t k, const uint8_t *w, const float *bias,
                          float *y, int64_t ldy, int64_t n0, int64_t n1) {
    const int64_t bs = ingot_bq_block_size(type), bb = ingot_bq_block_bytes(type), blocks = k / bs;
    float buf[256];
    for (int64_t j = n0; j < n1; j++) {
        const uint8_t *row = w + j * blocks * bb;
        for (int64_t i0 = 0; i0 < m; i0 += 4) {
            const int64_t mi = m - i0 < 4 ? m - i0 : 4;
            float acc[4] = {0, 0, 0, 0};
            for (int64_t b = 0; b < blocks; b++) {
                decode_block(type, row + b * bb, buf);
                for (int64_t i = 0; i < mi; i++) {
                    const float *xr = x + (i0 + i) * k + b * bs;
                    float s = acc[i];
                    for (int64_t t = 0; t < bs; t++) s += buf[t] * xr[t];
                    acc[i] = s;
                }
            }
            for (int64_t i = 0; i < mi; i++) y[(i0 + i) * ldy + j] = bias ? acc[i] + bias[j] : acc[i];
        }
    }
}

#if defined(__x86_64__)
// MARK: AVX2

static int dequantize_fused_avx2(int32_t type, const uint8_t *w, int64_t k, int64_t r0, int64_t r1, float *out);

__attribute__((target("avx2,fma")))
static void dequantize_avx2(int32_t type, const uint8_t *w, int64_t k, int64_t r0, int64_t r1, float *out) {
    if (dequantize_fused_avx2(type, w, k, r0, r1, out)) return;
    dequantize_rows_body(type, w, k, r0, r1, out);
}

__attribute__((target("avx2,fma")))
static inline float hsum256(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static int gemv_fused_avx2(int32_t type, const float *x, int64_t m, int64_t k, const uint8_t *w, const float *bias,
                           float *y, int64_t ldy, int64_t n0, int64_t n1);

/// Up to 4 x rows per pass over a weight row; each block decoded once into a buffer (vectorized
/// decoder), then four independent FMA chains per x row.
__attribute__((target("avx2,fma")))
static void gemv_avx2(int32_t type, const float *x, int64_t m, int64_t k, const uint8_t *w, const float *bias,
                      float *y, int64_t ldy, int64_t n0, int64_t n1) {
    if (m < 4 && gemv_fused_avx2(type, x, m, k, w, bias, y, ldy, n0, n1)) return;
    const int64_t bs = ingot_bq_block_size(type), bb = ingot_bq_block_bytes(type), blocks = k / bs;
    float buf[256] __attribute__((aligned(32)));
    for (int64_t j = n0; j < n1; j++) {
        const uint8_t *row = w + j * blocks * bb;
        if (j + 1 < n1) _mm_prefetch((const char *)(row + blocks * bb), _MM_HINT_T0);
        for (int64_t i0 = 0; i0 < m; i0 += 4) {
            const int64_t mi = m - i0 < 4 ? m - i0 : 4;
            __m256 acc[4][4];
            for (int i = 0; i < 4; i++)
                for (int a = 0; a < 4; a++) acc[i][a] = _mm256_setzero_ps();
            for (int64_t b = 0; b < blocks; b++) {
                decode_block(type, row + b * bb, buf);
                for (int64_t i = 0; i < mi; i++) {
                    const float *xr = x + (i0 + i) * k + b * bs;
                    for (int64_t t = 0; t < bs; t += 32) {
                        acc[i][0] = _mm256_fmadd_ps(_mm256_load_ps(buf + t), _mm256_loadu_ps(xr + t), acc[i][0]);
                        acc[i][1] = _mm256_fmadd_ps(_mm256_load_ps(buf + t + 8), _mm256_loadu_ps(xr + t + 8), acc[i][1]);
                        acc[i][2] = _mm256_fmadd_ps(_mm256_load_ps(buf + t + 16), _mm256_loadu_ps(xr + t + 16), acc[i][2]);
                        acc[i][3] = _mm256_fmadd_ps(_mm256_load_ps(buf + t + 24), _mm256_loadu_ps(xr + t + 24), acc[i][3]);
                    }
                }
            }
            for (int64_t i = 0; i < mi; i++) {
                const float s = hsum256(_mm256_add_ps(_mm256_add_ps(acc[i][0], acc[i][1]), _mm256_add_ps(acc[i][2], acc[i][3])));
                y[(i0 + i) * ldy + j] = bias ? s + bias[j] : s;
            }
        }
    }
}

#define AVX2 __attribute__((target("avx2,fma")))

/// 8 codes (i32) to floats after subtracting `bias`: exact, as the reference's Float(Int(q) − bias).
static inline __attribute__((always_inline)) AVX2 __m256 codes8_ps(__m256i q, int bias) {
    return _mm256_cvtepi32_ps(_mm256_sub_epi32(q, _mm256_set1_epi32(bias)));
}

/// 8 unsigned bytes at p widened to i32.
static inline __attribute__((always_inline)) AVX2 __m256i bytes8(const uint8_t *p) {
    return _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)p));
}

/// row_dot_avx512's 8-lane twin: same decode operations per weight, then FMA into two accumulators
/// (or, with `out`, the decoded row stored: the same bits as the reference decoder).
/// Stores the decoded weights w at out + (p − x) when `out` is set (decoding), else adds w · x[p] to acc.
#define EMIT256(acc, w, p) do { if (out) _mm256_storeu_ps(out + ((p) - x), (w)); else acc = _mm256_fmadd_ps((w), _mm256_loadu_ps(p), acc); } while (0)

static inline __attribute__((always_inline)) AVX2 float row_dot_avx2(int32_t type, const uint8_t *row, int64_t blocks, const float *x, float *out) {
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    const __m256i low4 = _mm256_set1_epi32(0x0F), lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), one = _mm256_set1_epi32(1);
    switch (type) {
    case Q4_0:
    case Q4_1:
        for (int64_t b = 0; b < blocks; b++) {
            const uint8_t *p = row + b * (type == Q4_0 ? 18 : 20);
            const uint8_t *qs = p + (type == Q4_0 ? 2 : 4);
            const float *xb = x + 32 * b;
            const __m256 d = _mm256_set1_ps(half_to_float(p));
            const __m256 m = _mm256_set1_ps(type == Q4_0 ? 0.0f : half_to_float(p + 2));
            for (int c = 0; c < 2; c++) {
                const __m256i q = bytes8(qs + 8 * c);
                __m256 lo, hi;
                if (type == Q4_0) {
                    lo = _mm256_mul_ps(codes8_ps(_mm256_and_si256(q, low4), 8), d);
                    hi = _mm256_mul_ps(codes8_ps(_mm256_srli_epi32(q, 4), 8), d);
                } else {
                    lo = _mm256_add_ps(_mm256_mul_ps(codes8_ps(_mm256_and_si256(q, low4), 0), d), m);
                    hi = _mm256_add_ps(_mm256_mul_ps(codes8_ps(_mm256_srli_epi32(q, 4), 0), d), m);
                }
                EMIT256(a0, lo, xb + 8 * c);
                EMIT256(a1, hi, xb + 16 + 8 * c);
            }
        }
        break;
    case Q5_0:
        for (int64_t b = 0; b < blocks; b++) {
            const uint8_t *p = row + b * 22;
            const float *xb = x + 32 * b;
            const __m256 d = _mm256_set1_ps(half_to_float(p));
            const __m256i qh = _mm256_set1_epi32((int)load_u32(p + 2));
            for (int c = 0; c < 2; c++) {
                const __m256i q = bytes8(p + 6 + 8 * c);
                const __m256i hl = _mm256_slli_epi32(_mm256_and_si256(_mm256_srlv_epi32(qh, _mm256_add_epi32(lane, _mm256_set1_epi32(8 * c))), one), 4);
                const __m256i hh = _mm256_slli_epi32(_mm256_and_si256(_mm256_srlv_epi32(qh, _mm256_add_epi32(lane, _mm256_set1_epi32(16 + 8 * c))), one), 4);
                const __m256i lo = _mm256_or_si256(_mm256_and_si256(q, low4), hl), hi = _mm256_or_si256(_mm256_srli_epi32(q, 4), hh);
                EMIT256(a0, _mm256_mul_ps(codes8_ps(lo, 16), d), xb + 8 * c);
                EMIT256(a1, _mm256_mul_ps(codes8_ps(hi, 16), d), xb + 16 + 8 * c);
            }
        }
        break;
    case Q8_0:
        for (int64_t b = 0; b < blocks; b++) {
            const uint8_t *p = row + b * 34;
            const float *xb = x + 32 * b;
            const __m256 d = _mm256_set1_ps(half_to_float(p));
            for (int c = 0; c < 4; c += 2) {
                const __m256 q0 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(p + 2 + 8 * c))));
                const __m256 q1 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(p + 10 + 8 * c))));
                EMIT256(a0, _mm256_mul_ps(q0, d), xb + 8 * c);
                EMIT256(a1, _mm256_mul_ps(q1, d), xb + 8 + 8 * c);
            }
        }
        break;
    case Q4_K:
        for (int64_t b = 0; b < blocks; b++) {
            const uint8_t *p = row + b * 144;
            const float d = half_to_float(p), dmin = half_to_float(p + 2);
            for (int g = 0; g < 4; g++) {
                uint8_t sc1, m1, sc2, m2;
                scale_min_k4(2 * g, p + 4, &sc1, &m1);
                scale_min_k4(2 * g + 1, p + 4, &sc2, &m2);
                const __m256 d1 = _mm256_set1_ps(d * (float)sc1), min1 = _mm256_set1_ps(dmin * (float)m1);
                const __m256 d2 = _mm256_set1_ps(d * (float)sc2), min2 = _mm256_set1_ps(dmin * (float)m2);
                const uint8_t *q = p + 16 + 32 * g;
                const float *xg = x + 256 * b + 64 * g;
                for (int c = 0; c < 4; c++) {
                    const __m256i v = bytes8(q + 8 * c);
                    const __m256 lo = _mm256_sub_ps(_mm256_mul_ps(d1, codes8_ps(_mm256_and_si256(v, low4), 0)), min1);
                    const __m256 hi = _mm256_sub_ps(_mm256_mul_ps(d2, codes8_ps(_mm256_srli_epi32(v, 4), 0)), min2);
                    EMIT256(a0, lo, xg + 8 * c);
                    EMIT256(a1, hi, xg + 32 + 8 * c);
                }
            }
        }
        break;
    case Q6_K:
        for (int64_t b = 0; b < blocks; b++) {
            const uint8_t *p = row + b * 210;
            const float d = half_to_float(p + 208);
            const __m256i three = _mm256_set1_epi32(3);
            for (int half = 0; half < 2; half++) {
                const uint8_t *ql = p + 64 * half, *qh = p + 128 + 32 * half;
                const int8_t *sc = (const int8_t *)(p + 192 + 8 * half);
                const float *xh = x + 256 * b + 128 * half;
                for (int c = 0; c < 4; c++) {
                    const int si = c / 2;
                    const __m256i a = bytes8(ql + 8 * c), cc = bytes8(ql + 32 + 8 * c), h = bytes8(qh + 8 * c);
                    const __m256i q1 = _mm256_or_si256(_mm256_and_si256(a, low4), _mm256_slli_epi32(_mm256_and_si256(h, three), 4));
                    const __m256i q2 = _mm256_or_si256(_mm256_and_si256(cc, low4), _mm256_slli_epi32(_mm256_and_si256(_mm256_srli_epi32(h, 2), three), 4));
                    const __m256i q3 = _mm256_or_si256(_mm256_srli_epi32(a, 4), _mm256_slli_epi32(_mm256_and_si256(_mm256_srli_epi32(h, 4), three), 4));
                    const __m256i q4 = _mm256_or_si256(_mm256_srli_epi32(cc, 4), _mm256_slli_epi32(_mm256_and_si256(_mm256_srli_epi32(h, 6), three), 4));
                    const float *xc = xh + 8 * c;
                    EMIT256(a0, _mm256_mul_ps(_mm256_set1_ps(d * (float)sc[si]), codes8_ps(q1, 32)), xc);
                    EMIT256(a1, _mm256_mul_ps(_mm256_set1_ps(d * (float)sc[si + 2]), codes8_ps(q2, 32)), xc + 32);
                    EMIT256(a0, _mm256_mul_ps(_mm256_set1_ps(d * (float)sc[si + 4]), codes8_ps(q3, 32)), xc + 64);
                    EMIT256(a1, _mm256_mul_ps(_mm256_set1_ps(d * (float)sc[si + 6]), codes8_ps(q4, 32)), xc + 96);
                }
            }
        }
        break;
    default:
        break;
    }
    return hsum256(_mm256_add_ps(a0, a1));
}

#define ROWS_AVX2(T)                                                                                       \
    for (int64_t j = n0; j < n1; j++) {                                                                    \
        const uint8_t *row = w + j * blocks * bb;                                                          \
        for (int64_t i = 0; i < m; i++) {                                                                  \
            const float s = row_dot_avx2(T, row, blocks, x + i * k, NULL);                                    \
            y[i * ldy + j] = bias ? s + bias[j] : s;                                                       \
        }                                                                                                  \
    }

/// The fused single-row products on AVX2 (as gemv_fused_avx512); 0 for types it does not cover.
AVX2
static int gemv_fused_avx2(int32_t type, const float *x, int64_t m, int64_t k, const uint8_t *w, const float *bias,
                           float *y, int64_t ldy, int64_t n0, int64_t n1) {
    const int64_t bs = ingot_bq_block_size(type), bb = ingot_bq_block_bytes(type), blocks = k / bs;
    switch (type) {
    case Q4_0: ROWS_AVX2(Q4_0) return 1;
    case Q4_1: ROWS_AVX2(Q4_1) return 1;
    case Q5_0: ROWS_AVX2(Q5_0) return 1;
    case Q8_0: ROWS_AVX2(Q8_0) return 1;
    case Q4_K: ROWS_AVX2(Q4_K) return 1;
    case Q6_K: ROWS_AVX2(Q6_K) return 1;
    default: return 0;
    }
}

#define DEQUANT_AVX2(T)                                                                                    \
    for (int64_t r = r0; r < r1; r++) {                                                                    \
        float *o = out + (r - r0) * k;                                                                     \
        (void)row_dot_avx2(T, w + r * blocks * bb, blocks, o, o);                                          \
    }

/// Rows decoded with the in-register decoders; 0 for types they do not cover.
AVX2
static int dequantize_fused_avx2(int32_t type, const uint8_t *w, int64_t k, int64_t r0, int64_t r1, float *out) {
    const int64_t bs = ingot_bq_block_size(type), bb = ingot_bq_block_bytes(type), blocks = k / bs;
    switch (type) {
    case Q4_0: DEQUANT_AVX2(Q4_0) return 1;
    case Q4_1: DEQUANT_AVX2(Q4_1) return 1;
    case Q5_0: DEQUANT_AVX2(Q5_0) return 1;
    case Q8_0: DEQUANT_AVX2(Q8_0) return 1;
    case Q4_K: DEQUANT_AVX2(Q4_K) return 1;
    case Q6_K: DEQUANT_AVX2(Q6_K) return 1;
    default: return 0;
    }
}

// MARK: AVX-512

static int dequantize_fused_avx512(int32_t type, const uint8_t *w, int64_t k, int64_t r0, int64_t r1, float *out);

__attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma")))
static void dequantize_avx512(int32_t type, const uint8_t *w, int64_t k, int64_t r0, int64_t r1, float *out) {
    if (dequantize_fused_avx512(type, w, k, r0, r1, out)) return;
    dequantize_rows_body(type, w, k, r0, r1, out);
}

#define AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma")))

/// 16 codes (u8 → i32) to floats after subtracting `bias`: exact, as the reference's Float(Int(q) − bias).
static inline __attribute__((always_inline)) AVX512 __m512 codes_ps(__m512i q, int bias) {
    return _mm512_cvtepi32_ps(_mm512_sub_epi32(q, _mm512_set1_epi32(bias)));
}

/// One weight row of the fused single-row product: Σ_t w[t]·x[t] with each 16-weight vector
/// decoded in registers exactly as the reference decoder does (same operations, no FMA in the
/// decode), then fused-multiply-added into two accumulators. With `out` (and x = out) it stores
/// the decoded row instead: bit-identical to the reference decoder. Types q5_1 and q5_K return 0 and
/// are not called (gemv_avx512 takes the buffered path for them).
/// Stores the decoded weights w at out + (p − x) when `out` is set (decoding), else adds w · x[p] to acc.
#define EMIT512(acc, w, p) do { if (out) _mm512_storeu_ps(out + ((p) - x), (w)); else acc = _mm512_fmadd_ps((w), _mm512_loadu_ps(p), acc); } while (0)

static inline __attribute__((always_inline)) AVX512 float row_dot_avx512(int32_t type, const uint8_t *row, int64_t blocks, const float *x, float *out) {
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
    const __m512i low4 = _mm512_set1_epi32(0x0F);
    switch (type) {
    case Q4_0:
    case Q4_1:
        for (int64_t b = 0; b < blocks; b++) {
            const uint8_t *p = row + b * (type == Q4_0 ? 18 : 20);
            const float *xb = x + 32 * b;
            const __m512 d = _mm512_set1_ps(half_to_float(p));
            const __m512i q = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(p + (type == Q4_0 ? 2 : 4))));
            __m512 lo, hi;
            if (type == Q4_0) {
                lo = _mm512_mul_ps(codes_ps(_mm512_and_si512(q, low4), 8), d);
                hi = _mm512_mul_ps(codes_ps(_mm512_srli_epi32(q, 4), 8), d);
            } else {
                const __m512 m = _mm512_set1_ps(half_to_float(p + 2));
                lo = _mm512_add_ps(_mm512_mul_ps(codes_ps(_mm512_and_si512(q, low4), 0), d), m);
                hi = _mm512_add_ps(_mm512_mul_ps(codes_ps(_mm512_srli_epi32(q, 4), 0), d), m);
            }
            EMIT512(a0, lo, xb);
            EMIT512(a1, hi, xb + 16);
        }
        break;
    case Q5_0:
        for (int64_t b = 0; b < blocks; b++) {
            const uint8_t *p = row + b * 22;
            const float *xb = x + 32 * b;
            const __m512 d = _mm512_set1_ps(half_to_float(p));
            const uint32_t qh = load_u32(p + 2);
            const __m512i q = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(p + 6)));
            const __m512i sixteen = _mm512_set1_epi32(16);
            const __m512i lo = _mm512_mask_or_epi32(_mm512_and_si512(q, low4), (__mmask16)(qh & 0xFFFF), _mm512_and_si512(q, low4), sixteen);
            const __m512i hi = _mm512_mask_or_epi32(_mm512_srli_epi32(q, 4), (__mmask16)(qh >> 16), _mm512_srli_epi32(q, 4), sixteen);
            EMIT512(a0, _mm512_mul_ps(codes_ps(lo, 16), d), xb);
            EMIT512(a1, _mm512_mul_ps(codes_ps(hi, 16), d), xb + 16);
        }
        break;
    case Q8_0:
        for (int64_t b = 0; b < blocks; b++) {
            const uint8_t *p = row + b * 34;
            const float *xb = x + 32 * b;
            const __m512 d = _mm512_set1_ps(half_to_float(p));
            const __m512 lo = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(p + 2))));
            const __m512 hi = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(p + 18))));
            EMIT512(a0, _mm512_mul_ps(lo, d), xb);
            EMIT512(a1, _mm512_mul_ps(hi, d), xb + 16);
        }
        break;
    case Q4_K:
        for (int64_t b = 0; b < blocks; b++) {
            const uint8_t *p = row + b * 144;
            const float *xb = x + 256 * b;
            const float d = half_to_float(p), dmin = half_to_float(p + 2);
            for (int g = 0; g < 4; g++) {
                uint8_t sc1, m1, sc2, m2;
                scale_min_k4(2 * g, p + 4, &sc1, &m1);
                scale_min_k4(2 * g + 1, p + 4, &sc2, &m2);
                const __m512 d1 = _mm512_set1_ps(d * (float)sc1), min1 = _mm512_set1_ps(dmin * (float)m1);
                const __m512 d2 = _mm512_set1_ps(d * (float)sc2), min2 = _mm512_set1_ps(dmin * (float)m2);
                const uint8_t *q = p + 16 + 32 * g;
                const float *xg = xb + 64 * g;
                for (int h = 0; h < 2; h++) {
                    const __m512i v = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(q + 16 * h)));
                    const __m512 lo = _mm512_sub_ps(_mm512_mul_ps(d1, codes_ps(_mm512_and_si512(v, low4), 0)), min1);
                    const __m512 hi = _mm512_sub_ps(_mm512_mul_ps(d2, codes_ps(_mm512_srli_epi32(v, 4), 0)), min2);
                    EMIT512(a0, lo, xg + 16 * h);
                    EMIT512(a1, hi, xg + 32 + 16 * h);
                }
            }
        }
        break;
    case Q6_K:
        for (int64_t b = 0; b < blocks; b++) {
            const uint8_t *p = row + b * 210;
            const float d = half_to_float(p + 208);
            for (int half = 0; half < 2; half++) {
                const uint8_t *ql = p + 64 * half, *qh = p + 128 + 32 * half;
                const int8_t *sc = (const int8_t *)(p + 192 + 8 * half);
                const float *xh = x + 256 * b + 128 * half;
                for (int c = 0; c < 2; c++) {
                    const __m512i a = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(ql + 16 * c)));
                    const __m512i cc = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(ql + 32 + 16 * c)));
                    const __m512i h = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(qh + 16 * c)));
                    const __m512i three = _mm512_set1_epi32(3);
                    const __m512i q1 = _mm512_or_si512(_mm512_and_si512(a, low4), _mm512_slli_epi32(_mm512_and_si512(h, three), 4));
                    const __m512i q2 = _mm512_or_si512(_mm512_and_si512(cc, low4), _mm512_slli_epi32(_mm512_and_si512(_mm512_srli_epi32(h, 2), three), 4));
                    const __m512i q3 = _mm512_or_si512(_mm512_srli_epi32(a, 4), _mm512_slli_epi32(_mm512_and_si512(_mm512_srli_epi32(h, 4), three), 4));
                    const __m512i q4 = _mm512_or_si512(_mm512_srli_epi32(cc, 4), _mm512_slli_epi32(_mm512_and_si512(_mm512_srli_epi32(h, 6), three), 4));
                    const float *xc = xh + 16 * c;
                    EMIT512(a0, _mm512_mul_ps(_mm512_set1_ps(d * (float)sc[c]), codes_ps(q1, 32)), xc);
                    EMIT512(a1, _mm512_mul_ps(_mm512_set1_ps(d * (float)sc[c + 2]), codes_ps(q2, 32)), xc + 32);
                    EMIT512(a0, _mm512_mul_ps(_mm512_set1_ps(d * (float)sc[c + 4]), codes_ps(q3, 32)), xc + 64);
                    EMIT512(a1, _mm512_mul_ps(_mm512_set1_ps(d * (float)sc[c + 6]), codes_ps(q4, 32)), xc + 96);
                }
            }
        }
        break;
    default:
        break;
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(a0, a1));
}

/// row_dot_avx512 specialized per type (the switch resolved outside the loops), one x row at a time.
#define ROWS_AVX512(T)                                                                                     \
    for (int64_t j = n0; j < n1; j++) {                                                                    \
        const uint8_t *row = w + j * blocks * bb;                                                          \
        for (int64_t i = 0; i < m; i++) {                                                                  \
            const float s = row_dot_avx512(T, row, blocks, x + i * k, NULL);                                  \
            y[i * ldy + j] = bias ? s + bias[j] : s;                                                       \
        }                                                                                                  \
    }

AVX512
static int gemv_fused_avx512(int32_t type, const float *x, int64_t m, int64_t k, const uint8_t *w, const float *bias,
                             float *y, int64_t ldy, int64_t n0, int64_t n1) {
    const int64_t bs = ingot_bq_block_size(type), bb = ingot_bq_block_bytes(type), blocks = k / bs;
    switch (type) {
    case Q4_0: ROWS_AVX512(Q4_0) return 1;
    case Q4_1: ROWS_AVX512(Q4_1) return 1;
    case Q5_0: ROWS_AVX512(Q5_0) return 1;
    case Q8_0: ROWS_AVX512(Q8_0) return 1;
    case Q4_K: ROWS_AVX512(Q4_K) return 1;
    case Q6_K: ROWS_AVX512(Q6_K) return 1;
    default: return 0;
    }
}

__attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma")))
static void gemv_avx512(int32_t type, const float *x, int64_t m, int64_t k, const uint8_t *w, const float *bias,
                        float *y, int64_t ldy, int64_t n0, int64_t n1) {
    const int64_t bs = ingot_bq_block_size(type), bb = ingot_bq_block_bytes(type), blocks = k / bs;
    if (m < 4 && gemv_fused_avx512(type, x, m, k, w, bias, y, ldy, n0, n1)) return;
    float buf[256] __attribute__((aligned(64)));
    for (int64_t j = n0; j < n1; j++) {
        const uint8_t *row = w + j * blocks * bb;
        if (j + 1 < n1) _mm_prefetch((const char *)(row + blocks * bb), _MM_HINT_T0);
        for (int64_t i0 = 0; i0 < m; i0 += 4) {
            const int64_t mi = m - i0 < 4 ? m - i0 : 4;
            __m512 acc[4][2];
            for (int i = 0; i < 4; i++) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
            for (int64_t b = 0; b < blocks; b++) {
                decode_block(type, row + b * bb, buf);
                for (int64_t i = 0; i < mi; i++) {
                    const float *xr = x + (i0 + i) * k + b * bs;
                    for (int64_t t = 0; t < bs; t += 32) {
                        acc[i][0] = _mm512_fmadd_ps(_mm512_load_ps(buf + t), _mm512_loadu_ps(xr + t), acc[i][0]);
                        acc[i][1] = _mm512_fmadd_ps(_mm512_load_ps(buf + t + 16), _mm512_loadu_ps(xr + t + 16), acc[i][1]);
                    }
                }
            }
            for (int64_t i = 0; i < mi; i++) {
                const float s = _mm512_reduce_add_ps(_mm512_add_ps(acc[i][0], acc[i][1]));
                y[(i0 + i) * ldy + j] = bias ? s + bias[j] : s;
            }
        }
    }
}

#define DEQUANT_AVX512(T)                                                                                  \
    for (int64_t r = r0; r < r1; r++) {                                                                    \
        float *o = out + (r - r0) * k;                                                                     \
        (void)row_dot_avx512(T, w + r * blocks * bb, blocks, o, o);                                        \
    }

AVX512
static int dequantize_fused_avx512(int32_t type, const uint8_t *w, int64_t k, int64_t r0, int64_t r1, float *out) {
    const int64_t bs = ingot_bq_block_size(type), bb = ingot_bq_block_bytes(type), blocks = k / bs;
    switch (type) {
    case Q4_0: DEQUANT_AVX512(Q4_0) return 1;
    case Q4_1: DEQUANT_AVX512(Q4_1) return 1;
    case Q5_0: DEQUANT_AVX512(Q5_0) return 1;
    case Q8_0: DEQUANT_AVX512(Q8_0) return 1;
    case Q4_K: DEQUANT_AVX512(Q4_K) return 1;
    case Q6_K: DEQUANT_AVX512(Q6_K) return 1;
    default: return 0;
    }
}
#endif

// MARK: dispatch

/// -1: choose at run time; else a forced INGOT_BQ_PATH_*. Atomic: a model opening with
/// INGOT_KERNEL_PATH set may store it while another model runs.
static int32_t forced_path = -1;

static int32_t best_path(void) {
#if defined(__x86_64__)
    if (ingot_cpu_has_avx512bw()) return INGOT_BQ_PATH_AVX512;
    if (ingot_cpu_has_avx2_fma()) return INGOT_BQ_PATH_AVX2;
#endif
    return INGOT_BQ_PATH_PORTABLE;
}

void ingot_bq_set_path(int32_t path) { __atomic_store_n(&forced_path, path, __ATOMIC_RELAXED); }

int32_t ingot_bq_path(void) {
    const int32_t forced = __atomic_load_n(&forced_path, __ATOMIC_RELAXED), best = best_path();
    if (forced < 0 || forced > best) return best;
    return forced;
}

void ingot_bq_dequantize_rows(int32_t type, const uint8_t *w, int64_t k, int64_t r0, int64_t r1, float *out) {
    if (ingot_bq_block_size(type) == 0) return;
    switch (ingot_bq_path()) {
#if defined(__x86_64__)
    case INGOT_BQ_PATH_AVX512: dequantize_avx512(type, w, k, r0, r1, out); return;
    case INGOT_BQ_PATH_AVX2: dequantize_avx2(type, w, k, r0, r1, out); return;
#endif
    default: dequantize_portable(type, w, k, r0, r1, out); return;
    }
}

void ingot_bq_gemv(int32_t type, const float *x, int64_t m, int64_t k, const uint8_t *w, const float *bias,
                   float *y, int64_t ldy, int64_t n0, int64_t n1) {
    if (ingot_bq_block_size(type) == 0) return;
    switch (ingot_bq_path()) {
#if defined(__x86_64__)
    case INGOT_BQ_PATH_AVX512: gemv_avx512(type, x, m, k, w, bias, y, ldy, n0, n1); return;
    case INGOT_BQ_PATH_AVX2: gemv_avx2(type, x, m, k, w, bias, y, ldy, n0, n1); return;
#endif
    default: gemv_portable(type, x, m, k, w, bias, y, ldy, n0, n1); return;
    }
}
