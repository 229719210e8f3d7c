#!/usr/bin/env bash
# run.sh: runs the kernel benchmarks once and prints, per shape, the median wall-clock time
# of each kernel and its ratio to the baseline of the same run (f32 sgemm for the linear
# shapes, ReferenceKernels.softmaxRow for softmax). It reads the benchmark package's
# histogramPercentiles export (one TSV per benchmark and metric, row "50<TAB>median").
# It does not install anything, keep results between runs, or compare against older runs.
# Extra arguments go to the benchmark command, e.g. --filter 'qkv.*'.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
scratch="$here/../.build-bench"
results="$scratch/benchmark-results"
rm -rf "$results"
mkdir -p "$results"

cd "$here"
swift package --scratch-path "$scratch" benchmark --no-progress \
    --format histogramPercentiles --time-units nanoseconds --path "$results" "$@" >"$results/benchmark.log" 2>&1 \
    || { cat "$results/benchmark.log" >&2; exit 1; }

prefix="Current_run.IngotKernelBenchmarks."
suffix=".wallClock.histogram.percentiles.tsv"
shopt -s nullglob
files=("$results/$prefix"*"$suffix")
if [ ${#files[@]} -eq 0 ]; then
    cat "$results/benchmark.log" >&2
    echo "run.sh: no wall-clock results in $results" >&2
    exit 1
fi

# One line per benchmark: "<shape>\t<kernel>\t<median ns>"; names are "<shape>: <kernel>" with
# spaces written as "_" in the file names.
for f in "${files[@]}"; do
    name="$(basename "$f")"
    name="${name#"$prefix"}"
    name="${name%"$suffix"}"
    median="$(awk -F '\t' '$1 == "50" { print $2 }' "$f")"
    printf '%s\t%s\t%s\n' "${name%%:_*}" "${name#*:_}" "$median"
done | tr '_' ' ' | awk -F '\t' '
    { shape[NR] = $1; kernel[NR] = $2; median[NR] = $3
      if ($2 == "f32 sgemm" || $2 == "ReferenceKernels.softmaxRow") baseline[$1] = $3
      if (!($1 in seen)) { seen[$1] = 1; order[++shapes] = $1 } }
    END {
      printf "%-26s %-28s %12s %8s\n", "shape", "kernel", "median us", "ratio"
      for (s = 1; s <= shapes; s++)
        for (i = 1; i <= NR; i++) {
          if (shape[i] != order[s]) continue
          ratio = (order[s] in baseline) ? sprintf("%.2f", median[i] / baseline[order[s]]) : "-"
          printf "%-26s %-28s %12.1f %8s\n", shape[i], kernel[i], median[i] / 1000, ratio
        }
    }'
echo "ratio: median time / median of the baseline row (f32 sgemm, ReferenceKernels.softmaxRow) of this run"
