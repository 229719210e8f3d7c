#!/usr/bin/env bash
# Rewrites README.md's "Measured" table (between the measured:begin/end markers) from JSON the
# ingot CLI writes: for each recipe below, `ingot build --report` (size, accuracy against
# float32 on the dev data, and latency as the ratio of p50 times against the float32 baseline
# timed interleaved in the same process). Every figure in the table comes from those files;
# nothing is typed in by hand. It prints no absolute times: speed against peers is a same-run
# ratio from ../shared/peers. Run it on a quiet machine. It does not keep old tables (git has them).
#
#   scripts/measured.sh [--runs N] [--threads T] [--only NAME,NAME] [--out DIR] [--no-readme]
#
# Needs the cached models (scripts/setup.sh) and a release build of `ingot` (built if missing).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

runs=10 threads=2 only="" out=".build/measured" write_readme=1
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --only) only="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --no-readme) write_readme=0; shift ;;
    *) echo "measured.sh: unknown argument $1" >&2; exit 64 ;;
  esac
done

# name | model | passes | calibration (yes/no)
recipes=(
  "minilm-f32|minilm|fuse|no"
  "minilm-int8|minilm|fuse,quantize=int8:weight-bits=8:smooth=0.5:max-drop=0.001|yes"
  "minilm-int8-packed|minilm|fuse,quantize=int8:weight-bits=7:smooth=0.5:max-drop=0.00105,pack|yes"
  "smollm2-f32|smollm2|fuse|no"
  "smollm2-int8-weights|smollm2|fuse,quantize=int8:group=32:mode=weight-only|no"
)

bash scripts/setup.sh >&2
ingot="${INGOT:-.build/release/ingot}"
if [ ! -x "$ingot" ]; then swift build -c release --product ingot >&2; fi
mkdir -p "$out"
rows_file="$out/rows.tsv"
: > "$rows_file"

for recipe in "${recipes[@]}"; do
  IFS="|" read -r name model passes calibrate <<< "$recipe"
  if [ -n "$only" ] && [[ ",$only," != *",$name,"* ]]; then continue; fi
  case "$model" in
    minilm) src=".cache/models/all-MiniLM-L6-v2"; cal="Fixtures/eval/calibration-sentences.txt"; eval="Fixtures/eval/minilm-dev-sentences.txt" ;;
    smollm2) src=".cache/models/SmolLM2-135M-Instruct.Q4_1.gguf"; cal="Fixtures/eval/calibration-text.txt"; eval="Fixtures/eval/smollm2-dev.txt" ;;
  esac
  build=(build "$src" -o "$out/$name.ingot" --passes "$passes" --eval "$eval")
  [ "$calibrate" = yes ] && build+=(--calibration "$cal")
  build+=(--report "$out/$name.report.json" --report-runs "$runs" --threads "$threads" -q)
  echo "measured.sh: $name" >&2
  "$ingot" "${build[@]}" >&2
  shown_build="ingot ${build[*]}"; shown_build="${shown_build//$out\//}"
  printf '%s\t%s\t%s\n' "$name" "$out/$name.report.json" "$shown_build" >> "$rows_file"
done

# The table: a small Swift step reading the JSON (no Python).
cat > "$out/table.swift" <<'SWIFT'
import Foundation
func load(_ path: String) -> [String: Any] {
    (try? JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path)))) as? [String: Any] ?? [:]
}
func num(_ d: [String: Any], _ path: String) -> Double? {
    var node: Any? = d
    for key in path.split(separator: ".") { node = (node as? [String: Any])?[String(key)] }
    return (node as? NSNumber)?.doubleValue
}
func f(_ x: Double?, _ digits: Int) -> String { x.map { String(format: "%.\(digits)f", $0) } ?? "–" }
func bytes(_ x: Double?) -> String {
    guard let x else { return "–" }
    let n = NumberFormatter(); n.numberStyle = .decimal; n.groupingSeparator = ","
    return (n.string(from: NSNumber(value: Int(x))) ?? "\(Int(x))") + " B"
}
let args = CommandLine.arguments
let rows = (try String(contentsOfFile: args[1], encoding: .utf8)).split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
print("| recipe | command | artifact | accuracy against float32 (dev data) | p50 time ÷ the float32 baseline's (unfused, same source), interleaved in one process |")
print("|---|---|---|---|---|")
var machine = ""
for r in rows {
    let report = load(r[1])
    let size = "\(bytes(num(report, "artifact.bytes"))) (\(f(num(report, "size_ratio").map { $0 * 100 }, 1))% of the source)"
    var accuracy = "–"
    if (report["accuracy"] as? [String: Any])?["task"] as? String == "embedding" {
        accuracy = "cosine mean \(f(num(report, "accuracy.cosine_mean"), 5)), min \(f(num(report, "accuracy.cosine_min"), 5)), top-1 neighbour \(f(num(report, "accuracy.top1_agreement").map { $0 * 100 }, 1))% (\(f(num(report, "accuracy.samples"), 0)) sentences)"
    } else if report["accuracy"] != nil {
        accuracy = "perplexity \(f(num(report, "accuracy.perplexity"), 4)) (\(f(num(report, "accuracy.perplexity_delta_pct"), 2).replacingOccurrences(of: "^([0-9])", with: "+$1", options: .regularExpression))%), next-token top-1 \(f(num(report, "accuracy.next_token_top1_agreement").map { $0 * 100 }, 1))%"
    }
    let latencyRows = (report["latency"] as? [String: Any])?["rows"] as? [[String: Any]] ?? []
    let ratios = latencyRows.map { row -> String in
        "\(row["label"] as? String ?? "?") \(f((row["p50_ratio"] as? NSNumber)?.doubleValue, 2))×"
    }.joined(separator: ", ")
    let threads = num(report, "latency.threads").map { " (\(Int($0)) threads)" } ?? ""
    print("| \(r[0]) | `\(r[2])` | \(size) | \(accuracy) | \(ratios.isEmpty ? "–" : ratios + threads) |")
    if let m = report["machine"] as? [String: Any] {
        machine = "\(m["cpu"] as? String ?? "?"), \((m["usable_cpus"] as? NSNumber)?.intValue ?? 0) usable CPUs"
    }
}
print("")
print("Machine: \(machine). Commit \(args[2]). Generated by `scripts/measured.sh \(args[3])`; the JSON it read is in `\(args[4])/`.")
SWIFT
commit="$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- Sources Package.swift || echo '+changes')"
invocation="--runs $runs --threads $threads${only:+ --only $only}"
swift "$out/table.swift" "$rows_file" "$commit" "$invocation" "$out" > "$out/table.md"

if [ "$write_readme" = 1 ]; then
  begin='<!-- measured:begin'; end='<!-- measured:end'
  grep -q "^$begin" README.md && grep -q "^$end" README.md || { echo "measured.sh: README.md has no measured markers" >&2; exit 65; }
  awk -v table="$out/table.md" -v begin="$begin" -v end="$end" '
    index($0, begin) == 1 { print; while ((getline line < table) > 0) print line; skipping = 1; next }
    index($0, end) == 1 { skipping = 0 }
    !skipping { print }
  ' README.md > "$out/README.md.new"
  mv "$out/README.md.new" README.md
  echo "measured.sh: README.md updated" >&2
else
  cat "$out/table.md"
fi
