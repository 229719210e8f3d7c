// Packed int8 kernels for `linear_int8_packed`: asymmetric per-row u8 activation
// quantization (codes 0...255, or 0...127) and a u8 × s7 (or u7 × s8) GEMM over weights
// pre-packed in panels of 16 output columns (the layout is in Formats/ops.md). Integer sums
// are exact in the AVX-512 VNNI, AVX2 and portable paths and the float epilogue has one
// expression order, so all three produce identical bits. It does not pack weights (the
// `pack` pass does, at build time) or handle grouped scales.
#ifndef INGOT_Q8PACKED_H
#define INGOT_Q8PACKED_H
#include <stdint.h>

/// Columns per panel and inputs per block of the packed layout.
#define INGOT_Q8P_PANEL 16
#define INGOT_Q8P_KBLOCK 4

/// x[rows, k] → q[rows, kp] (kp ≥ k, a multiple of 4; bytes k..<kp are 0), per row with
/// L = levels (255, or 127 for 8-bit weights; any other value is taken as 255):
/// lo = min(0, min x), hi = max(0, max x), scale = (hi − lo) / L, zero = round(−lo / scale),
/// q = clamp(round-half-even(x · (1/scale)) + zero, 0, L); x ≈ scale · (q − zero). A row of
/// zeros gets scale 0, zero 0 and q 0.
void ingot_q8p_quantize_rows(const float *x, int64_t rows, int64_t k, int64_t kp, int32_t levels, uint8_t *q, float *scales, int32_t *zeros);

/// For i < m and columns j of panels p0 ≤ p < p1 (j < n):
///   y[i·n + j] = (float)(Σ_t q[i,t]·w[j,t] − zeros[i]·colsums[j]) · (scales[i]·ws[j]) + bias[j]
/// (bias may be NULL). q is [m, kp]; wp is the packed weight [⌈n/16⌉, kp/4, 16, 4] with
/// q ≤ 255 and |w| ≤ 63, or q ≤ 127 and |w| ≤ 127, so each vpmaddubsw pair sum is at most
/// 2·255·63 or 2·127·127, below 2^15, and never saturates; colsums[j] = Σ_t w[j,t];
/// kp ≤ 65536 keeps every int32 sum exact.
void ingot_q8p_gemm(const uint8_t *q, const float *scales, const int32_t *zeros, int64_t m, int64_t kp,
                    const int8_t *wp, const float *ws, const int32_t *colsums, int64_t n, const float *bias,
                    float *y, int64_t p0, int64_t p1);

/// 0 keeps the GEMM on the AVX2 path even where AVX-512 VNNI exists (tests compare both);
/// 1 (the default) lets it use VNNI. ingot_q8_set_portable(1) still forces the portable path.
void ingot_q8p_set_vnni(int allowed);

/// Whether ingot_q8p_gemm runs its AVX-512 VNNI path now.
int ingot_q8p_uses_vnni(void);

#endif
