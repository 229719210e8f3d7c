// int8 kernels: symmetric row quantization, int8×int8→int32 GEMM with per-group float
// scales, and an int8-weight × float-activation GEMV for decoding. Each has an AVX2 path
// chosen at run time and a portable C path; the integer sums are exact in both, and the
// float epilogue uses the same expression order, so both produce identical bits.
#ifndef INGOT_Q8_H
#define INGOT_Q8_H
#include <stdint.h>

/// x[rows, k] → q[rows, k] in [-127, 127], scales[rows, k/group]: per group, scale = max|x| / 127,
/// q = round-half-even(x · (1/scale)); an all-zero group gets scale 0 and q 0. group divides k.
void ingot_q8_quantize_rows(const float *x, int64_t rows, int64_t k, int64_t group, int8_t *q, float *scales);

/// For i < m and n0 ≤ j < n1: y[i·n + j] = Σ_g (float)(Σ_{t∈g} xq[i,t]·wq[j,t]) · (xs[i,g]·ws[j,g]) + bias[j]
/// (groups in order, accumulated in float; bias may be NULL). xq [m, k], xs [m, k/group],
/// wq [n, k] (weights as [out, in]), ws [n, k/group], y [m, n].
void ingot_q8_gemm(const int8_t *xq, const float *xs, int64_t m, const int8_t *wq, const float *ws,
                   int64_t n, int64_t k, int64_t group, const float *bias, float *y, int64_t n0, int64_t n1);

/// Weight-only: for n0 ≤ j < n1, y[j] = Σ_g (Σ_{t∈g} x[t]·wq[j,t]) · ws[j,g] + bias[j]. Float sums
/// run in a different order per path, so results agree only to rounding.
void ingot_q8_gemv_f32(const float *x, const int8_t *wq, const float *ws, int64_t n, int64_t k, int64_t group,
                       const float *bias, float *y, int64_t n0, int64_t n1);

/// out[r, t] = wq[r, t] · ws[r, t / group] for rows r0 ≤ r < r1 (out starts at row r0).
void ingot_q8_dequantize_rows(const int8_t *wq, const float *ws, int64_t k, int64_t group, int64_t r0, int64_t r1, float *out);

/// 1 forces the portable paths (tests); 0 restores run-time selection.
void ingot_q8_set_portable(int on);
/// 1 when the AVX2 paths are in use.
int ingot_q8_uses_avx2(void);

#endif
