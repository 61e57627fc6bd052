"""Processes: re-launching under torchrun, and the process group set up before the runner.

Two of the DeepSpeed/CPU fixes of DESIGN.md live here (the third, the optimizer registration,
is in ``deepspeed_strategy.py``):

- mmengine's ``pytorch`` and ``slurm`` launchers call ``torch.cuda.set_device``, so on the CPU
  :func:`init_process_group` creates the gloo group itself before the runner is built;
  mmengine skips its own initialisation when a group exists.
- DeepSpeed in one process without launcher variables tries MPI; :func:`single_process_env`
  sets RANK/WORLD_SIZE/MASTER_ADDR/MASTER_PORT first.
"""
from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
from collections.abc import Iterator

import torch
import torch.distributed as dist

from ..errors import ConfigError
from ..utils.logging import log_once

LAUNCHERS = ('none', 'pytorch', 'slurm')


def free_port() -> int:
    """A TCP port nobody listens on now (for a single-node rendezvous)."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def torchrun_command(argv: list[str], env: dict | None = None) -> list[str] | None:
    """The torchrun command that re-runs ``xtuner-like ARGV`` with NPROC_PER_NODE processes.

    Reads NPROC_PER_NODE, NNODES, NODE_RANK, ADDR and PORT from ``env``. Returns None when no
    re-launch is wanted: NPROC_PER_NODE unset (or 1 on one node), or already under a launcher.
    The same interpreter runs torchrun (``sys.executable -m xtuner_like.launch.torchrun``:
    torch.distributed.run, ending a failed run with one line), so the virtualenv of the first
    process is the one every worker uses.
    """
    env = os.environ if env is None else env
    nproc = int(env.get('NPROC_PER_NODE', 0) or 0)
    nnodes = int(env.get('NNODES', 1) or 1)
    if nproc < 1 or (nproc == 1 and nnodes == 1) or 'LOCAL_RANK' in env:
        return None
    cmd = [sys.executable, '-m', 'xtuner_like.launch.torchrun', f'--nproc_per_node={nproc}',
           f'--nnodes={nnodes}', f"--node_rank={env.get('NODE_RANK', 0)}"]
    if nnodes == 1:
        cmd += ['--master_addr=127.0.0.1', f"--master_port={env.get('PORT') or free_port()}"]
    else:
        if not env.get('ADDR'):
            raise ConfigError(f'NNODES={nnodes}: set ADDR (the address of node 0) and PORT')
        cmd += [f"--master_addr={env['ADDR']}", f"--master_port={env.get('PORT', 29500)}"]
    return [*cmd, '-m', 'xtuner_like', *argv, '--launcher', 'pytorch']


def relaunch(argv: list[str]) -> int | None:
    """Run ``torchrun_command(argv)`` when NPROC_PER_NODE asks for it; its exit code, or None."""
    cmd = torchrun_command(argv)
    if cmd is None:
        return None
    print('launching: ' + ' '.join(cmd), file=sys.stderr, flush=True)
    return subprocess.call(cmd)


def slurm_env() -> None:
    """RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT from srun's SLURM_* variables."""
    try:
        os.environ.setdefault('RANK', os.environ['SLURM_PROCID'])
        os.environ.setdefault('WORLD_SIZE', os.environ['SLURM_NTASKS'])
        os.environ.setdefault('LOCAL_RANK', os.environ['SLURM_LOCALID'])
    except KeyError as exc:
        raise ConfigError(f'--launcher slurm: {exc.args[0]} is not set; run under srun') from None
    if 'MASTER_ADDR' not in os.environ:
        nodes = os.environ.get('SLURM_STEP_NODELIST') or os.environ.get('SLURM_NODELIST', '')
        out = subprocess.run(['scontrol', 'show', 'hostnames', nodes], capture_output=True,
                             text=True, check=False).stdout.split()
        os.environ['MASTER_ADDR'] = out[0] if out else '127.0.0.1'
    os.environ.setdefault('MASTER_PORT', '29500')


def single_process_env() -> None:
    """Launcher variables for one process, so DeepSpeed does not look for MPI (DESIGN.md)."""
    for key, value in (('RANK', '0'), ('LOCAL_RANK', '0'), ('WORLD_SIZE', '1'),
                       ('MASTER_ADDR', '127.0.0.1')):
        os.environ.setdefault(key, value)
    os.environ.setdefault('MASTER_PORT', str(free_port()))


@contextlib.contextmanager
def process_group(launcher: str, use_deepspeed: bool) -> Iterator[None]:
    """:func:`init_process_group` for the body, then the group destroyed (when this made it).

    Destroying it joins gloo's worker threads while the interpreter is still whole; left to
    exit-time destructors they can abort the process ("terminate called without an active
    exception") after a run that succeeded.
    """
    made = not dist.is_initialized()
    init_process_group(launcher, use_deepspeed)
    try:
        yield
    finally:
        if made and dist.is_initialized():
            dist.destroy_process_group()


def init_process_group(launcher: str, use_deepspeed: bool) -> None:
    """Create the process group before the runner (gloo on the CPU, nccl on CUDA).

    ``launcher='none'`` creates a one-process group only for DeepSpeed, which needs one.
    """
    if launcher not in LAUNCHERS:
        raise ConfigError(f'--launcher {launcher}: choose one of {", ".join(LAUNCHERS)}')
    if launcher == 'none' and not use_deepspeed:
        return
    if launcher == 'slurm':
        slurm_env()
    elif launcher == 'none':
        single_process_env()
    if dist.is_initialized():
        return
    if torch.cuda.is_available():
        torch.cuda.set_device(int(os.environ.get('LOCAL_RANK', 0)))
        backend = 'nccl'
    else:
        backend = 'gloo'
    dist.init_process_group(backend=backend, init_method='env://')
    log_once(f'process group: {backend}, rank {dist.get_rank()} of {dist.get_world_size()} '
             f'({launcher} launcher)')
