// CSR sparse × dense products for `linear_sparse` (see ingot_sparse.h). AVX2 keeps 64
// tokens of one output row in 8 registers and streams each nonzero's input row through
// them (one broadcast, eight loads, eight FMAs per nonzero), then 32- and 16-token tiles so
// short inputs pass over a row's nonzeros once (MiniLM 90% sparse, 16 tokens: 2.21 → 1.83
// ms); the portable path is plain
// loops. The single-token case (decode) is a dot product over the row's nonzeros with four
// scalar accumulators (measured faster than AVX2 gathers on this CPU).
#include "ingot_sparse.h"
#include "ckernels.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

static int force_portable = 0;

void ingot_sparse_set_portable(int on) { force_portable = on; }

static void spmm_portable(const float *xT, int64_t m, const float *values, const int16_t *columns,
                          const int32_t *row_offsets, int64_t row_begin, int64_t row_end, float *yT) {
    for (int64_t n = row_begin; n < row_end; n++) {
        float *y = yT + n * m;
        for (int64_t t = 0; t < m; t++) y[t] = 0;
        for (int32_t j = row_offsets[n]; j < row_offsets[n + 1]; j++) {
            const float v = values[j];
            const float *x = xT + (int64_t)columns[j] * m;
            for (int64_t t = 0; t < m; t++) y[t] += v * x[t];
        }
    }
}

#if defined(__x86_64__)
__attribute__((target("avx2,fma")))
static void spmm_avx2(const float *xT, int64_t m, const float *values, const int16_t *columns,
                      const int32_t *row_offsets, int64_t row_begin, int64_t row_end, float *yT) {
    for (int64_t n = row_begin; n < row_end; n++) {
        const int32_t j0 = row_offsets[n], j1 = row_offsets[n + 1];
        float *y = yT + n * m;
        if (m == 1) {
            // Decode: scalar loads beat vgatherdps here (three load ports, no gather microcode).
            float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
            int32_t j = j0;
            for (; j + 4 <= j1; j += 4) {
                s0 += values[j] * xT[columns[j]];
                s1 += values[j + 1] * xT[columns[j + 1]];
                s2 += values[j + 2] * xT[columns[j + 2]];
                s3 += values[j + 3] * xT[columns[j + 3]];
            }
            for (; j < j1; j++) s0 += values[j] * xT[columns[j]];
            y[0] = (s0 + s1) + (s2 + s3);
            continue;
        }
        int64_t t = 0;
        for (; t + 64 <= m; t += 64) {
            __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
            __m256 a4 = _mm256_setzero_ps(), a5 = _mm256_setzero_ps(), a6 = _mm256_setzero_ps(), a7 = _mm256_setzero_ps();
            for (int32_t j = j0; j < j1; j++) {
                const __m256 v = _mm256_broadcast_ss(values + j);
                const float *x = xT + (int64_t)columns[j] * m + t;
                a0 = _mm256_fmadd_ps(v, _mm256_loadu_ps(x), a0);
                a1 = _mm256_fmadd_ps(v, _mm256_loadu_ps(x + 8), a1);
                a2 = _mm256_fmadd_ps(v, _mm256_loadu_ps(x + 16), a2);
                a3 = _mm256_fmadd_ps(v, _mm256_loadu_ps(x + 24), a3);
                a4 = _mm256_fmadd_ps(v, _mm256_loadu_ps(x + 32), a4);
                a5 = _mm256_fmadd_ps(v, _mm256_loadu_ps(x + 40), a5);
                a6 = _mm256_fmadd_ps(v, _mm256_loadu_ps(x + 48), a6);
                a7 = _mm256_fmadd_ps(v, _mm256_loadu_ps(x + 56), a7);
            }
            _mm256_storeu_ps(y + t, a0);
            _mm256_storeu_ps(y + t + 8, a1);
            _mm256_storeu_ps(y + t + 16, a2);
            _mm256_storeu_ps(y + t + 24, a3);
            _mm256_storeu_ps(y + t + 32, a4);
            _mm256_storeu_ps(y + t + 40, a5);
            _mm256_storeu_ps(y + t + 48, a6);
            _mm256_storeu_ps(y + t + 56, a7);
        }
        // Shorter sequences: one pass over the row's nonzeros for 32 or 16 tokens at a time.
        for (; t + 32 <= m; t += 32) {
            __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
            for (int32_t j = j0; j < j1; j++) {
                const __m256 v = _mm256_broadcast_ss(values + j);
                const float *x = xT + (int64_t)columns[j] * m + t;
                a0 = _mm256_fmadd_ps(v, _mm256_loadu_ps(x), a0);
                a1 = _mm256_fmadd_ps(v, _mm256_loadu_ps(x + 8), a1);
                a2 = _mm256_fmadd_ps(v, _mm256_loadu_ps(x + 16), a2);
                a3 = _mm256_fmadd_ps(v, _mm256_loadu_ps(x + 24), a3);
            }
            _mm256_storeu_ps(y + t, a0);
            _mm256_storeu_ps(y + t + 8, a1);
            _mm256_storeu_ps(y + t + 16, a2);
            _mm256_storeu_ps(y + t + 24, a3);
        }
        for (; t + 16 <= m; t += 16) {
            __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
            for (int32_t j = j0; j < j1; j++) {
                const __m256 v = _mm256_broadcast_ss(values + j);
                const float *x = xT + (int64_t)columns[j] * m + t;
                a0 = _mm256_fmadd_ps(v, _mm256_loadu_ps(x), a0);
                a1 = _mm256_fmadd_ps(v, _mm256_loadu_ps(x + 8), a1);
            }
            _mm256_storeu_ps(y + t, a0);
            _mm256_storeu_ps(y + t + 8, a1);
        }
        for (; t + 8 <= m; t += 8) {
            __m256 a = _mm256_setzero_ps();
            for (int32_t j = j0; j < j1; j++) {
                a = _mm256_fmadd_ps(_mm256_broadcast_ss(values + j), _mm256_loadu_ps(xT + (int64_t)columns[j] * m + t), a);
            }
            _mm256_storeu_ps(y + t, a);
        }
        for (; t < m; t++) {
            float s = 0;
            for (int32_t j = j0; j < j1; j++) s += values[j] * xT[(int64_t)columns[j] * m + t];
            y[t] = s;
        }
    }
}
#endif

void ingot_spmm_csr_rows(const float *xT, int64_t m, const float *values, const int16_t *columns,
                         const int32_t *row_offsets, int64_t row_begin, int64_t row_end, float *yT) {
#if defined(__x86_64__)
    if (!force_portable && ingot_cpu_has_avx2_fma()) {
        spmm_avx2(xT, m, values, columns, row_offsets, row_begin, row_end, yT);
        return;
    }
#endif
    spmm_portable(xT, m, values, columns, row_offsets, row_begin, row_end, yT);
}
