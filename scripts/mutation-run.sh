#!/usr/bin/env bash
# The hostile-input acceptance run of issue 14 (Mutation/): builds ingot and ingot-run in
# release mode and the mutation harness, then runs N mutated artifacts and N mutated
# checkpoint folders / GGUF files through inspect, build, run and ingot-run, and fails on any
# signal, hang, exit 70 or undocumented exit code, or peak RSS above 2 × input + 100 MB.
# Not part of CI (about 15 minutes for the default 2,000 + 2,000 on 2 cores).
#   scripts/mutation-run.sh [artifacts] [checkpoints] [seed]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bash scripts/setup.sh
# GNU time measures each child's peak RSS (Mutation/Sources/mutation-run/main.swift, runChild).
[ -x /usr/bin/time ] || { SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo; $SUDO apt-get install -y -qq time >/dev/null; }
swift build -c release --product ingot 2>&1 | grep -E -v '^\[[0-9]+/[0-9]+\]'
swift build -c release --product ingot-run 2>&1 | grep -E -v '^\[[0-9]+/[0-9]+\]'
(cd Mutation && swift build -c release 2>&1 | grep -E -v '^\[[0-9]+/[0-9]+\]')
exec Mutation/.build/release/mutation-run --bin "$root/.build/release" --models "$root/.cache/models" \
  --work "${TMPDIR:-/tmp}/ingot-mutation" --artifacts "${1:-2000}" --checkpoints "${2:-2000}" --seed "${3:-1}" --jobs 2
