#!/usr/bin/env bash
# tsan.sh: the tests that run one loaded Model on several threads at once (SharedModelTests:
# MiniLM embeddings, a KV-cache decoder) and the kernels' thread pool tests, built with
# ThreadSanitizer (debug, its own build folder .build-tsan) and run. Any ThreadSanitizer
# report fails the script, as does a failing test; the full output is kept in
# .build-tsan/tsan-output.txt. Needs the models scripts/setup.sh caches. Not part of
# scripts/test.sh (a second whole build of the tests).
#
#   scripts/tsan.sh [extra swift test arguments]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
# A missing model fails the MiniLM test instead of skipping it.
export CI=true
# Reports are counted below; halting at the first would hide the others.
export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=0 second_deadlock_stack=1}"
mkdir -p .build-tsan
set +e
swift test --sanitize=thread --build-path .build-tsan --disable-swift-testing \
    --filter 'IngotRuntimeTests.SharedModelTests|IngotKernelsTests.ThreadPoolTests' "$@" 2>&1 \
    | grep -E -v '^\[[0-9]+/[0-9]+\]' > .build-tsan/tsan-output.txt
status=${PIPESTATUS[0]}
set -e
reports=$(grep -c '^WARNING: ThreadSanitizer' .build-tsan/tsan-output.txt || true)
grep -E -v '^Test Case .* (started|passed)' .build-tsan/tsan-output.txt | grep -E -A 30 'WARNING: ThreadSanitizer|error:|failed|Executed' || true
echo "tsan.sh: swift test exit $status, $reports ThreadSanitizer report(s); output in .build-tsan/tsan-output.txt"
if [ "$reports" -ne 0 ]; then exit 1; fi
exit "$status"
