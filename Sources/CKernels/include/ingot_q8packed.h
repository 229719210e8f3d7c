// Packed int8 kernels for `linear_int8_packed`: asymmetric per-row u8 activation
// quantization (codes 0...255, or 0...127) and a u8 × s7 (or u7 × s8) GEMM over weights
// pre-packed in panels of 16 output columns (the layout is in Formats/ops.md). The GEMM has five
// paths (ingot_q8p_path): portable C, AVX2, 256-bit VNNI, AVX-512BW and AVX-512 VNNI. Integer
// sums are exact in all of them and the float epilogue has one expression order, so all five
// produce identical bits. It does not pack weights (the `pack` pass does, at build time) or
// handle grouped scales.
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

/// The GEMM's instruction paths; Int8KernelPath (IngotKernels) mirrors these values.
///   PORTABLE     plain C loops.
///   AVX2         vpmaddubsw + vpmaddwd by ones on 256-bit registers (needs the bound above).
///   AVX2_VNNI    vpdpbusd on 256-bit registers: the VEX form (AVX-VNNI) where the CPU has it,
///                else the EVEX form (AVX-512 VNNI + VL).
///   AVX512BW     vpmaddubsw + vpmaddwd by ones on 512-bit registers (needs the bound above).
///   AVX512_VNNI  vpdpbusd on 512-bit registers.
/// vpdpbusd adds each group of four u8·s8 products straight into int32, so the VNNI paths are
/// exact for any bytes; the maddubs paths rely on the q/w bound, which the `pack` pass and the
/// loader enforce.
enum {
    INGOT_Q8P_PATH_PORTABLE = 0,
    INGOT_Q8P_PATH_AVX2 = 1,
    INGOT_Q8P_PATH_AVX2_VNNI = 2,
    INGOT_Q8P_PATH_AVX512BW = 3,
    INGOT_Q8P_PATH_AVX512_VNNI = 4,
};

/// 1 when this CPU (and OS) can run the path, else 0 (also for an unknown value).
int ingot_q8p_path_available(int path);

/// The fastest path this CPU has: AVX512_VNNI, AVX512BW, AVX2_VNNI, AVX2, PORTABLE in that order.
int ingot_q8p_best_path(void);

/// Makes ingot_q8p_gemm (and the row quantizer: AVX2 unless PORTABLE) use the path from now on.
/// Returns 0, or -1 and changes nothing when the path is not available. Set it while no GEMM runs.
int ingot_q8p_set_path(int path);

/// The path ingot_q8p_gemm runs now (ingot_q8p_best_path() until ingot_q8p_set_path is called).
int ingot_q8p_path(void);

#endif
