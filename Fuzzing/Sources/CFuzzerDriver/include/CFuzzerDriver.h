// libFuzzer's driver entry (compiler-rt FuzzerInterface): runs the fuzzing loop with `callback`
// as the target, reading libFuzzer's flags and corpus folders from argv.
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
