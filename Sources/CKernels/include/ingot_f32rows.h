// Row-invariant float32 products: every output element is computed by one fixed sequence
// of correctly rounded operations that depends only on its own row and column, never on
// how many rows or columns the call covers or where the element sits in a tile. So a
// sentence gives the same bits alone and inside any padded batch (OpenBLAS sgemm does not:
// its result for a row depends on the row's place in the micro-kernel's blocking). Each has
// an AVX2+FMA path and a portable path (fmaf) that produce identical bits;
// ingot_q8_set_portable(1) selects the portable path here too.
#ifndef INGOT_F32ROWS_H
#define INGOT_F32ROWS_H
#include <stdint.h>

/// Output columns per panel of packed weights.
#define INGOT_F32_PANEL 16

/// w [n, k] (weights as [out, in]) → panels [⌈n/16⌉, k, 16]: panels[(p·k + t)·16 + c] =
/// w[(16p + c)·k + t], 0 for columns ≥ n. panels holds ⌈n/16⌉·16·k floats.
void ingot_f32_pack_panels(const float *w, int64_t n, int64_t k, float *panels);

/// For i < m and the columns j < n of panels p0 ≤ p < p1: out[i·ldo + j] = s + bias[j] (bias
/// may be NULL), where s is the fma chain of x[i·ldx + t]·w[j, t] over t = 0..<k ascending,
/// from 0, with w read from its panels.
void ingot_f32_gemm_panels(const float *x, int64_t ldx, int64_t m, const float *panels, int64_t k, int64_t n,
                           const float *bias, float *out, int64_t ldo, int64_t p0, int64_t p1);

/// For i < m and j < n: out[i·ldo + j] = alpha · s where s is the fma chain of a[i·lda + t]·b[t·ldb + j]
/// over t = 0..<kk ascending, from 0 (alpha = 1 skips the multiply; kk = 0 gives 0).
void ingot_f32_gemm_nn(const float *a, int64_t lda, int64_t m, const float *b, int64_t ldb, int64_t kk, int64_t n,
                       float alpha, float *out, int64_t ldo);

#endif
