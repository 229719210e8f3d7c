// CKernels: hand-written C kernels where Swift SIMD is not enough (AVX2 intrinsics),
// each selected at run time by CPU feature; every kernel has a portable path.
#ifndef INGOT_CKERNELS_H
#define INGOT_CKERNELS_H
#include <stdint.h>
#include <stddef.h>

#include "ingot_sync.h"
#include "ingot_q8.h"
#include "ingot_q8packed.h"
#include "ingot_sparse.h"
#include "ingot_f32rows.h"

/// 1 when the running CPU supports AVX2 and FMA, else 0.
int ingot_cpu_has_avx2_fma(void);
/// AVX-512 VNNI with 256-bit (VL) forms, and the OS saves AVX-512 state.
int ingot_cpu_has_avx512_vnni(void);

/// CPUs in this process's affinity mask, or 0 when it cannot be read.
int ingot_affinity_cpu_count(void);

#endif
