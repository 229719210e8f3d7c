#!/usr/bin/env bash
# fuzz.sh: builds the fuzz package (Fuzzing/: libFuzzer + AddressSanitizer, release) and runs
# each fuzz target for a time budget, starting from its seeds (Fixtures/fuzz/<target>/) and the
# corpus earlier runs grew (.build-fuzz/corpus/<target>/, git-ignored), with its dictionary
# (Fuzzing/Dictionaries/<target>.dict). Prints, per target, the inputs executed, their rate,
# the corpus size and the exit status. A crash, a timeout (10 s on one input), running out of
# memory (2048 MB) or a leak fails the script: libFuzzer saves the input under
# fuzz-crashes/<target>/ (git-ignored), and its path and the top of the report are printed.
# It does not minimize crashes or merge corpora.
#
#   scripts/fuzz.sh [seconds-per-target] [target…]    default 30 s, every target
#   scripts/fuzz.sh --seeds                            rewrite Fixtures/fuzz from .cache/models
#   scripts/fuzz.sh --list                             the target names
#
# Reproduce a crash: .build-fuzz/release/fuzz-<target> fuzz-crashes/<target>/crash-…
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

all_targets=(safetensors gguf artifact recipe jsonl report tokenizer vocab encode pytorch onnx)
mode=run
seconds=30
case "${1:-}" in
    --seeds) mode=seeds; shift ;;
    --list) printf '%s\n' "${all_targets[@]}"; exit 0 ;;
esac
if [[ $# -gt 0 && "$1" =~ ^[0-9]+$ ]]; then seconds=$1; shift; fi
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${all_targets[@]}")
for t in "${targets[@]}"; do
    if [[ ! " ${all_targets[*]} " == *" $t "* ]]; then
        echo "fuzz.sh: unknown target '$t', expected one of: ${all_targets[*]}" >&2
        exit 64
    fi
done

# -use-ld=lld: see Fuzzing/Package.swift (gold fails on SwiftPM's --defsym main next to libFuzzer's main).
flags=(-c release --package-path Fuzzing --scratch-path .build-fuzz
       -Xswiftc -sanitize=fuzzer,address -Xswiftc -use-ld=lld -Xswiftc -enable-testing)
build_start=$(date +%s)
set +e
swift build "${flags[@]}" 2>&1 | grep -E -v '^\[[0-9]+/[0-9]+\]|Cannot export local symbol'
build_status=${PIPESTATUS[0]}
set -e
if [ "$build_status" -ne 0 ]; then
    echo "fuzz.sh: building the fuzz package failed (exit $build_status)" >&2
    exit "$build_status"
fi
bin="$(swift build "${flags[@]}" --show-bin-path)"
echo "fuzz.sh: fuzz package built in $(( $(date +%s) - build_start )) s"

if [ "$mode" = seeds ]; then
    exec "$bin/fuzz-seeds"
fi

# Swift's own crash backtracer reads memory from a helper thread, which AddressSanitizer
# reports as a second error on top of the real one; libFuzzer prints the stack instead.
export SWIFT_BACKTRACE=enable=no
logs=.build-fuzz/logs
mkdir -p "$logs"
failed=()
rows=()
for t in "${targets[@]}"; do
    corpus=".build-fuzz/corpus/$t"
    crashes="fuzz-crashes/$t"
    mkdir -p "$corpus" "$crashes"
    dict=()
    [ -f "Fuzzing/Dictionaries/$t.dict" ] && dict=(-dict="Fuzzing/Dictionaries/$t.dict")
    log="$logs/$t.log"
    if [ -z "$(ls -A "Fixtures/fuzz/$t" 2>/dev/null)" ]; then
        echo "fuzz.sh: $t: no seeds in Fixtures/fuzz/$t (scripts/fuzz.sh --seeds writes them)" >&2
        failed+=("$t"); rows+=("$(printf '%-12s %12s %10s %8s %6s' "$t" 0 0 0 seeds)"); continue
    fi
    # The target's input file lives here (in memory when /dev/shm is writable), gone afterwards
    # even when the target crashed.
    scratch="$(mktemp -d /dev/shm/ingot-fuzz.XXXXXX 2>/dev/null || mktemp -d)"
    echo "fuzz.sh: $t for $seconds s"
    set +e
    INGOT_FUZZ_SCRATCH="$scratch" "$bin/fuzz-$t" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
        -print_final_stats=1 -artifact_prefix="$crashes/" "${dict[@]}" "$corpus" "Fixtures/fuzz/$t" >"$log" 2>&1
    status=$?
    set -e
    rm -rf "$scratch"
    executions=$(awk '/stat::number_of_executed_units:/ { n = $2 } END { print n + 0 }' "$log")
    rate=$(awk '/stat::average_exec_per_sec:/ { n = $2 } END { print n + 0 }' "$log")
    corpus_size=$(find "$corpus" -type f | wc -l)
    rows+=("$(printf '%-12s %12s %10s %8s %6s' "$t" "$executions" "$rate" "$corpus_size" "$status")")
    if [ "$status" -ne 0 ]; then
        failed+=("$t")
        saved=$(grep -o 'Test unit written to [^ ]*' "$log" | tail -1 | sed 's/Test unit written to //' || true)
        echo "fuzz.sh: $t FAILED (exit $status); input: ${saved:-none saved}; log: $log" >&2
        # The report's first lines: the sanitizer or fatal error and the top of the stack.
        grep -E -m 12 '==ERROR|SUMMARY|Fatal error|fatalError|Swift runtime failure|deadly signal|^ *#[0-9] |ALARM|out-of-memory|leak' "$log" >&2 || tail -20 "$log" >&2
    fi
done

printf '%-12s %12s %10s %8s %6s\n' target executions "exec/s" corpus status
printf '%s\n' "${rows[@]}"
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz.sh: ${#failed[@]} target(s) failed: ${failed[*]} (inputs in fuzz-crashes/)" >&2
    exit 1
fi
echo "fuzz.sh: every target ran $seconds s without a crash"
