// Sparse kernels: a linear layer whose weight W[N, K] is stored as CSR rows (values,
// 16-bit column indices, row offsets). It does not prune or choose a format.
#ifndef INGOT_SPARSE_H
#define INGOT_SPARSE_H
#include <stdint.h>

/// yT[n][0..m) = Σ_j values[j] · xT[columns[j]][0..m) for rows n in [row_begin, row_end),
/// j in [row_offsets[n], row_offsets[n+1]). xT is [K][m] (x transposed so a column of W
/// meets m contiguous tokens), yT is [N][m]. With m = 1 these are plain vectors (decode).
/// Columns and offsets must be validated by the caller.
void ingot_spmm_csr_rows(const float *xT, int64_t m, const float *values, const int16_t *columns,
                         const int32_t *row_offsets, int64_t row_begin, int64_t row_end, float *yT);

/// Forces the portable path (tests compare it with the AVX2 one); 0 restores the default.
void ingot_sparse_set_portable(int on);
#endif
