// Block-quantized weight kernels: GGML block formats kept as stored (Formats/ingot-v1.md,
// "Block-quantized dtypes"; type codes are Ingot's DType codes, q4_0 10 … q6_k 17) multiplied
// by float32 rows. Weights are decoded block by block with exactly the arithmetic of the
// reference decoder (IngotCore BlockQuant, so decoded values are bit-identical on every path),
// then dotted in float with FMA (AVX2 or AVX-512) or in order (portable): products agree with
// decode-then-float to rounding. Activations are never quantized.
#ifndef INGOT_BLOCKQ_H
#define INGOT_BLOCKQ_H
#include <stdint.h>

/// Elements per block of `type` (32 or 256), 0 when `type` is not a block type.
int64_t ingot_bq_block_size(int32_t type);
/// Bytes per block of `type`, 0 when `type` is not a block type.
int64_t ingot_bq_block_bytes(int32_t type);

/// Rows r0 ≤ r < r1 of w [n, k] (k a multiple of the block) decoded into out[(r − r0)·k + t].
void ingot_bq_dequantize_rows(int32_t type, const uint8_t *w, int64_t k, int64_t r0, int64_t r1, float *out);

/// For i < m and n0 ≤ j < n1: y[i·ldy + j] = Σ_t x[i·k + t] · w[j, t] (+ bias[j] when bias is
/// not NULL). x [m, k] f32, w [n, k] of `type`, k a multiple of the block.
void ingot_bq_gemv(int32_t type, const float *x, int64_t m, int64_t k, const uint8_t *w, const float *bias,
                   float *y, int64_t ldy, int64_t n0, int64_t n1);

#define INGOT_BQ_PATH_PORTABLE 0
#define INGOT_BQ_PATH_AVX2 1
#define INGOT_BQ_PATH_AVX512 2

/// Forces a path (one of INGOT_BQ_PATH_*; a path this CPU lacks falls back to the best it has);
/// -1 restores run-time selection.
void ingot_bq_set_path(int32_t path);
/// The path the kernels run now.
int32_t ingot_bq_path(void);

#endif
