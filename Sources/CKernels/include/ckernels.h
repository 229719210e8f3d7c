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
#include "ingot_blockq.h"

/// 1 when the running CPU supports AVX2 and FMA and the OS saves YMM state, else 0.
int ingot_cpu_has_avx2_fma(void);
/// AVX-512 F, BW and VL, AVX2 and FMA, and the OS saves opmask and ZMM state.
int ingot_cpu_has_avx512bw(void);
/// AVX-512 VNNI on top of ingot_cpu_has_avx512bw (so its 256-bit VL forms too).
int ingot_cpu_has_avx512_vnni(void);
/// AVX-VNNI (the VEX-encoded 256-bit vpdpbusd) with AVX2, FMA and YMM state.
int ingot_cpu_has_avx_vnni(void);

/// CPUs in this process's affinity mask, or 0 when it cannot be read.
int ingot_affinity_cpu_count(void);

#endif
