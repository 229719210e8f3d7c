// CBLAS: the system OpenBLAS (Debian libopenblas-dev) seen from Swift.
// The C interface (cblas_*), the openblas thread-count controls, and the one LAPACK
// routine the distillation passes use.
#include <cblas.h>
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
/// LAPACK (bundled in OpenBLAS): solves A·X = B for symmetric positive definite A (Cholesky).
void sposv_(const char *uplo, const int *n, const int *nrhs, float *a, const int *lda, float *b, const int *ldb, int *info);
