#!/usr/bin/env bash
# The whole test suite, from a clean clone on a fresh Debian machine: installs the system
# libraries and caches the real models (scripts/setup.sh), then builds once in release mode
# (numerical tests on real models need the speed) and runs every XCTest test.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bash scripts/setup.sh
flags=(-c release -Xswiftc -enable-testing)
swift build "${flags[@]}" --build-tests 2>&1 | grep -E -v '^\[[0-9]+/[0-9]+\]' || true
mkdir -p .build
set +e
swift test "${flags[@]}" --skip-build --disable-swift-testing > .build/test-output.txt 2>&1
status=$?
set -e
# Failures, skips and the per-suite summaries; passing cases are only counted.
grep -E -v '^Test Case .* (started|passed)' .build/test-output.txt
exit $status
