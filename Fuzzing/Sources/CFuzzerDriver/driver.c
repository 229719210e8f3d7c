// CFuzzerDriver: only the declaration of libFuzzer's driver entry (include/CFuzzerDriver.h);
// the symbol comes from libclang_rt.fuzzer, linked by -sanitize=fuzzer.
#include "CFuzzerDriver.h"
