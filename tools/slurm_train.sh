#!/usr/bin/env bash
# Train on a Slurm cluster: one task per GPU, every task runs `xtuner-like train --launcher slurm`.
# (`xtuner-like launch slurm CONFIG --nodes N --gpus-per-node G` writes and submits a script
# that runs one torchrun per node instead, with --resume auto on a requeue: docs/scaling.md.)
# Submit with:  sbatch tools/slurm_train.sh CONFIG [train options...]
#   e.g.        sbatch tools/slurm_train.sh llama3_1_8b_instruct_qlora_alpaca --deepspeed deepspeed_zero2
# Each task reads its rank from SLURM_PROCID/SLURM_NTASKS/SLURM_LOCALID; node 0 (the first
# host of the allocation) is the rendezvous, on MASTER_PORT (default 29500).
#SBATCH --job-name=xtuner-like
#SBATCH --nodes=2                  # machines
#SBATCH --ntasks-per-node=8        # one task per GPU
#SBATCH --gpus-per-node=8
#SBATCH --cpus-per-task=8          # dataloader workers and tokenisation
#SBATCH --time=24:00:00
#SBATCH --output=%x-%j.out
set -euo pipefail

# Run from the repository; the virtualenv's interpreter is the one every task uses.
cd "${SLURM_SUBMIT_DIR:-.}"
# shellcheck disable=SC1091
. .venv/bin/activate
export MASTER_PORT="${MASTER_PORT:-29500}"
export TOKENIZERS_PARALLELISM=false
# The processed dataset is built once by rank 0 under XTUNER_LIKE_HOME (put it on a shared
# filesystem); the other ranks wait and load it.
srun --kill-on-bad-exit=1 python -m xtuner_like train "$@" --launcher slurm
