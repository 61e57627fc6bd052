"""``xtuner-like launch slurm``: an sbatch script that trains on N nodes of G GPUs.

One srun task per node; each runs ``xtuner-like train --nnodes N --nproc-per-node G`` with the
interpreter that wrote the script, and the nodes meet through torchrun's c10d rendezvous on
the allocation's first host. Node ranks come from ``SLURM_NODEID`` (launch/rendezvous.py).
Every start, also a requeued one, runs ``--resume auto``: a restarted job continues from the
last checkpoint in the (shared) work dir.
"""
from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from ..errors import ConfigError
from .rendezvous import DEFAULT_PORT

# minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS (sbatch --time)
TIME = re.compile(r'\d+(:\d{1,2}){0,2}|\d+-\d{1,2}(:\d{1,2}){0,2}')
PASSED_ENV = ('XTUNER_LIKE_HOME', 'HF_HOME', 'HF_HUB_OFFLINE')


def check_time(text: str | None) -> None:
    if text is not None and not TIME.fullmatch(text):
        raise ConfigError(f'--time {text}: write minutes, HH:MM:SS or D-HH:MM:SS '
                          '(sbatch --time), e.g. 24:00:00')


def job_name(config: str) -> str:
    return 'xtl-' + Path(config).stem


def sbatch_script(config: str, nodes: int, gpus_per_node: int, work_dir: str | Path,
                  train_args: list[str] = (), partition: str | None = None,
                  time: str | None = None, port: int = DEFAULT_PORT,
                  env: dict | None = None) -> str:
    """The sbatch script (text) for ``train CONFIG`` on ``nodes`` x ``gpus_per_node``."""
    if nodes < 1 or gpus_per_node < 0:
        raise ConfigError(f'--nodes {nodes} --gpus-per-node {gpus_per_node}: need at least '
                          'one node and no negative GPU count')
    check_time(time)
    env = os.environ if env is None else env
    work_dir = Path(work_dir).absolute()
    nproc = max(gpus_per_node, 1)
    lines = ['#!/bin/bash',
             f'# Written by `xtuner-like launch slurm`: {nodes} node(s) x {nproc} process(es).',
             f'# Submit with: sbatch {work_dir / "slurm_train.sbatch"}',
             f'#SBATCH --job-name={job_name(config)}',
             f'#SBATCH --nodes={nodes}',
             '# one task per node: it starts torchrun for its GPUs',
             '#SBATCH --ntasks-per-node=1',
             *([f'#SBATCH --gpus-per-node={gpus_per_node}'] if gpus_per_node else []),
             *([f'#SBATCH --partition={partition}'] if partition else []),
             *([f'#SBATCH --time={time}'] if time else []),
             f'#SBATCH --output={work_dir}/slurm-%j.out',
             '#SBATCH --open-mode=append',
             '# a requeued job continues from its last checkpoint (train --resume auto)',
             '#SBATCH --requeue',
             '#SBATCH --export=ALL',
             'set -euo pipefail',
             f'cd {shlex.quote(str(Path.cwd()))}',
             '# Every node must see the same work dir and dataset cache (a shared filesystem).',
             *[f'export {k}={shlex.quote(env[k])}' for k in PASSED_ENV if env.get(k)],
             'export TOKENIZERS_PARALLELISM=false',
             'head_node=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)',
             f'echo "rendezvous: $head_node:{port}, job $SLURM_JOB_ID, {nodes} node(s)"']
    train = [sys.executable, '-m', 'xtuner_like', 'train', config, '--work-dir', str(work_dir),
             '--nnodes', str(nodes), '--nproc-per-node', str(nproc), '--resume', 'auto',
             *train_args]
    lines.append('srun --kill-on-bad-exit=1 --nodes={n} --ntasks-per-node=1 \\\n    {cmd} \\\n'
                 '    --rdzv-endpoint "$head_node:{port}" --rdzv-id "$SLURM_JOB_ID"'.format(
                     n=nodes, cmd=shlex.join(train), port=port))
    return '\n'.join(lines) + '\n'


def submit(script: str, work_dir: str | Path) -> int:
    """Write ``script`` to ``WORK_DIR/slurm_train.sbatch`` and submit it with ``sbatch`` when
    there is one (else say how); sbatch's exit code, or 0."""
    path = Path(work_dir).absolute() / 'slurm_train.sbatch'
    path.parent.mkdir(parents=True, exist_ok=True)   # sbatch needs the --output folder
    path.write_text(script)
    path.chmod(0o755)
    sbatch = shutil.which('sbatch')
    if sbatch is None:
        print(f'wrote {path}; no sbatch here: submit it with `sbatch {path}` on the cluster',
              file=sys.stderr)
        return 0
    print(f'wrote {path}; submitting', file=sys.stderr)
    return subprocess.run([sbatch, str(path)], check=False).returncode
