#!/usr/bin/env bash
# Runs every path of the packed int8 GEMM, AVX-512 ones included, on any x86-64 CPU through
# SIMDe (Debian package libsimde-dev): compiles Sources/CKernels/q8packed.c with
# -DINGOT_Q8P_EMULATE next to scripts/kernel-paths-emulated.c and checks each path bit for bit
# against a C twin of the kernel contract. Complements IngotKernelsTests.PackedInt8KernelTests,
# which runs the real instructions for the paths this CPU has.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
if [ ! -f /usr/include/simde/x86/avx512.h ]; then
  apt-get install -y libsimde-dev >/dev/null
fi
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
# Baseline x86-64 only: SIMDe then emulates everything past SSE2 in plain C.
clang -std=c11 -O1 -march=x86-64 -Wno-psabi -DINGOT_Q8P_EMULATE -I "$root/Sources/CKernels/include" \
  "$root/Sources/CKernels/q8packed.c" "$root/scripts/kernel-paths-emulated.c" -lm -o "$out/kernel-paths"
"$out/kernel-paths"
