// CZstd: the system zstd library (Debian libzstd-dev) seen from Swift.
#include <zstd.h>
