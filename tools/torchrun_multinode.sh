#!/usr/bin/env bash
# Multi-node training without Slurm: run this on every machine, changing only NODE_RANK.
#   node 0:  NODE_RANK=0 ADDR=10.0.0.1 tools/torchrun_multinode.sh CONFIG --deepspeed deepspeed_zero3
#   node 1:  NODE_RANK=1 ADDR=10.0.0.1 tools/torchrun_multinode.sh CONFIG --deepspeed deepspeed_zero3
# ADDR is node 0's address (reachable from every node), PORT a free port on it. xtuner-like
# re-executes itself as `python -m torch.distributed.run --nproc_per_node ... -m xtuner_like
# train ... --launcher pytorch` with the same interpreter, so the virtualenv is kept.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck disable=SC1091
. .venv/bin/activate
export NNODES="${NNODES:-2}"                   # machines in the job
export NPROC_PER_NODE="${NPROC_PER_NODE:-8}"   # processes (GPUs) per machine
export NODE_RANK="${NODE_RANK:?set NODE_RANK (0 on the first machine)}"
export ADDR="${ADDR:?set ADDR to the address of node 0}"
export PORT="${PORT:-29500}"
exec xtuner-like train "$@"
