#!/usr/bin/env bash
# Multi-node training without a scheduler: run this on every machine, changing only NODE_RANK.
#   node 0:  NODE_RANK=0 ADDR=10.0.0.1 tools/torchrun_multinode.sh CONFIG --deepspeed deepspeed_zero3
#   node 1:  NODE_RANK=1 ADDR=10.0.0.1 tools/torchrun_multinode.sh CONFIG --deepspeed deepspeed_zero3
# ADDR is node 0's address (reachable from every node), PORT a free port on it: node 0 hosts
# torchrun's c10d rendezvous there. It is `xtuner-like train CONFIG --nnodes 2 --node-rank R
# --nproc-per-node 8 --rdzv-endpoint ADDR:PORT`, which re-executes itself under torchrun with
# the same interpreter, so the virtualenv is kept. After a failure, start every node again
# with `--resume auto` added. The work dir and XTUNER_LIKE_HOME must be on a shared filesystem.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck disable=SC1091
. .venv/bin/activate
NNODES="${NNODES:-2}"                   # machines in the job
NPROC_PER_NODE="${NPROC_PER_NODE:-8}"   # processes (GPUs) per machine
NODE_RANK="${NODE_RANK:?set NODE_RANK (0 on the first machine)}"
ADDR="${ADDR:?set ADDR to the address of node 0}"
PORT="${PORT:-29500}"
exec xtuner-like train "$@" --nnodes "$NNODES" --node-rank "$NODE_RANK" \
    --nproc-per-node "$NPROC_PER_NODE" --rdzv-endpoint "$ADDR:$PORT"
