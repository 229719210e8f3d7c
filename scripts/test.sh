#!/usr/bin/env bash
# The whole test suite, from a clean clone on a fresh Debian machine: installs the system
# libraries and caches the real models (scripts/setup.sh), then builds once in release mode
# (numerical tests on real models need the speed), checks every int8 GEMM path through SIMDe
# (scripts/kernel-paths-emulated.sh), runs every XCTest test, then every fuzz target for 30 s
# (scripts/fuzz.sh: libFuzzer + AddressSanitizer on every reader of untrusted bytes, from the
# seeds in Fixtures/fuzz). A failed build stops here with the build's exit status: stale test
# binaries are never run. The exit status is the XCTest suite's when it failed, else the fuzz
# run's. INGOT_FUZZ_SECONDS sets the per-target budget (0 skips fuzzing, for a quick local run;
# .ci/run always fuzzes 30 s). The PyTorch reference outputs the tests compare with are in
# Fixtures/reference (no ../shared needed).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
# Libraries, MiniLM and SmolLM2, and the whole zoo (scripts/zoo.sh): the Gemma 3 and Qwen2.5 GGUFs
# (tokenizers, templates, native block weights), all-mpnet-base-v2, EmbeddingGemma-300M and
# nomic-embed-text-v1.5 (encoder zoo tests), the two ONNX MiniLMs (ONNX import).
bash scripts/setup.sh --zoo
# The models are cached now: a test that cannot find one (or ingot-run) fails instead of skipping.
export CI=true
flags=(-c release -Xswiftc -enable-testing)
mkdir -p .build
# Progress lines ([12/345] Compiling …) are dropped; errors and warnings pass through.
set +e
swift build "${flags[@]}" --build-tests 2>&1 | grep -E -v '^\[[0-9]+/[0-9]+\]'
build_status=${PIPESTATUS[0]}
set -e
if [ "$build_status" -ne 0 ]; then
  echo "test.sh: swift build failed (exit $build_status); no tests run" >&2
  exit "$build_status"
fi
# Every int8 GEMM path, AVX-512 ones included, bit for bit through SIMDe (this CPU may lack some).
if ! bash scripts/kernel-paths-emulated.sh > .build/kernel-paths-output.txt 2>&1; then
  cat .build/kernel-paths-output.txt >&2
  echo "test.sh: scripts/kernel-paths-emulated.sh failed" >&2
  exit 1
fi
echo "kernel paths (emulated): $(tail -n 1 .build/kernel-paths-output.txt)"
set +e
swift test "${flags[@]}" --skip-build --disable-swift-testing > .build/test-output.txt 2>&1
status=$?
set -e
# Failures, skips and the per-suite summaries; passing cases are only counted.
grep -E -v '^Test Case .* (started|passed)' .build/test-output.txt
fuzz_seconds="${INGOT_FUZZ_SECONDS:-30}"
if [ "$fuzz_seconds" != 0 ]; then
  set +e
  bash scripts/fuzz.sh "$fuzz_seconds"
  fuzz_status=$?
  set -e
  [ "$status" -eq 0 ] && status=$fuzz_status
fi
exit $status
