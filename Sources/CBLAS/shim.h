// CBLAS: the system OpenBLAS (Debian libopenblas-dev) seen from Swift.
// Only the C interface: cblas_* and the openblas thread-count controls.
#include <cblas.h>
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
