// Row-invariant float32 products (see ingot_f32rows.h): float linear layers on weights
// packed once into panels, and the a·b form for attention's scores and probabilities ×
// values. Tiles only decide which elements share loads; each element's operation sequence
// is the one the header defines, so the AVX2 tiles, their edge cases and the portable loops
// agree bit for bit. Weights are packed only by ingot_f32_pack_panels (once per model, by
// the caller); it does not split work over threads (callers do).
#pragma STDC FP_CONTRACT OFF
#include <math.h>
#include "ingot_f32rows.h"
#include "ingot_q8.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

// MARK: portable

static void panels_portable(const float *x, int64_t ldx, int64_t m, const float *panels, int64_t k, int64_t n,
                            const float *bias, float *out, int64_t ldo, int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; p++) {
        const float *panel = panels + p * k * INGOT_F32_PANEL;
        const int64_t j0 = p * INGOT_F32_PANEL;
        const int64_t cols = n - j0 < INGOT_F32_PANEL ? n - j0 : INGOT_F32_PANEL;
        for (int64_t i = 0; i < m; i++) {
            for (int64_t c = 0; c < cols; c++) {
                float s = 0;
                for (int64_t t = 0; t < k; t++) s = fmaf(x[i * ldx + t], panel[t * INGOT_F32_PANEL + c], s);
                out[i * ldo + j0 + c] = bias ? s + bias[j0 + c] : s;
            }
        }
    }
}

static void nn_portable(const float *a, int64_t lda, int64_t m, const float *b, int64_t ldb, int64_t kk, int64_t n,
                        float alpha, float *out, int64_t ldo) {
    for (int64_t i = 0; i < m; i++) {
        for (int64_t j = 0; j < n; j++) {
            float s = 0;
            for (int64_t t = 0; t < kk; t++) s = fmaf(a[i * lda + t], b[t * ldb + j], s);
            out[i * ldo + j] = alpha == 1.0f ? s : alpha * s;
        }
    }
}

#if defined(__x86_64__)
// MARK: AVX2

/// ROWS × (8·VECS) outputs of the a·b form at column j (ROWS ≤ 6, VECS ≤ 2).
__attribute__((target("avx2,fma")))
static inline __attribute__((always_inline)) void nn_tile(const float *a, int64_t lda, const float *b, int64_t ldb, int64_t kk, float alpha,
                           float *out, int64_t ldo, int64_t j, const int rows, const int vecs) {
    __m256 acc[6][2];
    for (int r = 0; r < rows; r++)
        for (int v = 0; v < vecs; v++) acc[r][v] = _mm256_setzero_ps();
    for (int64_t t = 0; t < kk; t++) {
        __m256 bv[2];
        for (int v = 0; v < vecs; v++) bv[v] = _mm256_loadu_ps(b + t * ldb + j + 8 * v);
        for (int r = 0; r < rows; r++) {
            const __m256 av = _mm256_broadcast_ss(a + r * lda + t);
            for (int v = 0; v < vecs; v++) acc[r][v] = _mm256_fmadd_ps(av, bv[v], acc[r][v]);
        }
    }
    const __m256 al = _mm256_set1_ps(alpha);
    for (int r = 0; r < rows; r++) {
        for (int v = 0; v < vecs; v++) {
            const __m256 s = alpha == 1.0f ? acc[r][v] : _mm256_mul_ps(al, acc[r][v]);
            _mm256_storeu_ps(out + r * ldo + j + 8 * v, s);
        }
    }
}

__attribute__((target("avx2,fma")))
static inline __attribute__((always_inline)) void nn_rows(const float *a, int64_t lda, const float *b, int64_t ldb, int64_t kk, int64_t n, float alpha,
                           float *out, int64_t ldo, const int rows) {
    int64_t j = 0;
    for (; j + 16 <= n; j += 16) nn_tile(a, lda, b, ldb, kk, alpha, out, ldo, j, rows, 2);
    for (; j + 8 <= n; j += 8) nn_tile(a, lda, b, ldb, kk, alpha, out, ldo, j, rows, 1);
    for (; j < n; j++) {
        for (int r = 0; r < rows; r++) {
            float s = 0;
            for (int64_t t = 0; t < kk; t++) s = fmaf(a[r * lda + t], b[t * ldb + j], s);
            out[r * ldo + j] = alpha == 1.0f ? s : alpha * s;
        }
    }
}

__attribute__((target("avx2,fma")))
static void nn_avx2(const float *a, int64_t lda, int64_t m, const float *b, int64_t ldb, int64_t kk, int64_t n,
                    float alpha, float *out, int64_t ldo) {
    int64_t i = 0;
    for (; i + 6 <= m; i += 6) nn_rows(a + i * lda, lda, b, ldb, kk, n, alpha, out + i * ldo, ldo, 6);
    switch (m - i) {
    case 5: nn_rows(a + i * lda, lda, b, ldb, kk, n, alpha, out + i * ldo, ldo, 5); break;
    case 4: nn_rows(a + i * lda, lda, b, ldb, kk, n, alpha, out + i * ldo, ldo, 4); break;
    case 3: nn_rows(a + i * lda, lda, b, ldb, kk, n, alpha, out + i * ldo, ldo, 3); break;
    case 2: nn_rows(a + i * lda, lda, b, ldb, kk, n, alpha, out + i * ldo, ldo, 2); break;
    case 1: nn_rows(a + i * lda, lda, b, ldb, kk, n, alpha, out + i * ldo, ldo, 1); break;
    default: break;
    }
}
/// Blocks of rows (kept in L2) outermost, then the panels: each panel runs the a·b tile
/// over the block; the bias is added after each element's chain, as in the portable loop.
__attribute__((target("avx2,fma")))
static void panels_avx2(const float *x, int64_t ldx, int64_t m, const float *panels, int64_t k, int64_t n,
                        const float *bias, float *out, int64_t ldo, int64_t p0, int64_t p1) {
    int64_t rowBlock = k > 0 ? (96 * 1024 / 4) / k / 6 * 6 : m;
    if (rowBlock < 6) rowBlock = 6;
    for (int64_t i0 = 0; i0 < m; i0 += rowBlock) {
        const int64_t rows = m - i0 < rowBlock ? m - i0 : rowBlock;
        for (int64_t p = p0; p < p1; p++) {
            const int64_t j0 = p * INGOT_F32_PANEL;
            const int64_t cols = n - j0 < INGOT_F32_PANEL ? n - j0 : INGOT_F32_PANEL;
            float *o = out + i0 * ldo + j0;
            nn_avx2(x + i0 * ldx, ldx, rows, panels + p * k * INGOT_F32_PANEL, INGOT_F32_PANEL, k, cols, 1.0f, o, ldo);
            if (bias) {
                for (int64_t i = 0; i < rows; i++) {
                    for (int64_t c = 0; c < cols; c++) o[i * ldo + c] = o[i * ldo + c] + bias[j0 + c];
                }
            }
        }
    }
}
#endif

void ingot_f32_pack_panels(const float *w, int64_t n, int64_t k, float *panels) {
    const int64_t count = (n + INGOT_F32_PANEL - 1) / INGOT_F32_PANEL;
    for (int64_t p = 0; p < count; p++) {
        float *panel = panels + p * k * INGOT_F32_PANEL;
        for (int64_t c = 0; c < INGOT_F32_PANEL; c++) {
            const int64_t j = p * INGOT_F32_PANEL + c;
            for (int64_t t = 0; t < k; t++) panel[t * INGOT_F32_PANEL + c] = j < n ? w[j * k + t] : 0.0f;
        }
    }
}

void ingot_f32_gemm_panels(const float *x, int64_t ldx, int64_t m, const float *panels, int64_t k, int64_t n,
                           const float *bias, float *out, int64_t ldo, int64_t p0, int64_t p1) {
#if defined(__x86_64__)
    if (ingot_q8_uses_avx2()) {
        panels_avx2(x, ldx, m, panels, k, n, bias, out, ldo, p0, p1);
        return;
    }
#endif
    panels_portable(x, ldx, m, panels, k, n, bias, out, ldo, p0, p1);
}

void ingot_f32_gemm_nn(const float *a, int64_t lda, int64_t m, const float *b, int64_t ldb, int64_t kk, int64_t n,
                       float alpha, float *out, int64_t ldo) {
#if defined(__x86_64__)
    if (ingot_q8_uses_avx2()) {
        nn_avx2(a, lda, m, b, ldb, kk, n, alpha, out, ldo);
        return;
    }
#endif
    nn_portable(a, lda, m, b, ldb, kk, n, alpha, out, ldo);
}
