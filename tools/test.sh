#!/usr/bin/env bash
# The test command: sets up .venv if needed, then runs every test (CPU; a few use SmolLM2).
set -euo pipefail
source "$(dirname "$0")/setup_env.sh"
python -m pytest -q --durations=30 tests "$@"
