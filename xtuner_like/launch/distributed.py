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
import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator

import torch
import torch.distributed as dist

from ..errors import ConfigError, PeerLostError
from ..utils.logging import log_once
from .rendezvous import node_spec
from .torchrun import PARENT_ENV   # launch/torchrun.py dies with the process it names

LAUNCHERS = ('none', 'pytorch', 'slurm')


def free_port() -> int:
    """A TCP port nobody listens on now (for a single-node rendezvous)."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def torchrun_command(argv: list[str], env: dict | None = None,
                     flags: dict | None = None) -> list[str] | None:
    """The torchrun command that re-runs ``xtuner-like ARGV`` as this node's processes.

    ``flags`` (``nnodes``, ``node_rank``, ``nproc_per_node``, ``endpoint``, ``run_id``) and
    ``env`` say where this node stands (:func:`rendezvous.node_spec`). Returns None when no
    re-launch is wanted: one node of one process, or already under a launcher. The same
    interpreter runs torchrun (``sys.executable -m xtuner_like.launch.torchrun``:
    torch.distributed.run, ending a failed run with one line), so the virtualenv of the first
    process is the one every worker uses.
    """
    env = os.environ if env is None else env
    if 'LOCAL_RANK' in env:
        return None
    spec = node_spec(flags, env)
    if spec is None:
        return None
    port = None if spec.multi_node else int(env.get('PORT') or free_port())
    return [sys.executable, '-m', 'xtuner_like.launch.torchrun', *spec.torchrun_args(port),
            '-m', 'xtuner_like', *argv, '--launcher', 'pytorch']


FORWARDED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def call_forwarding_signals(cmd: list[str]) -> int:
    """Run ``cmd`` in its own process group and wait for it; SIGINT, SIGTERM and SIGHUP sent to
    this process are passed on to that group, so stopping the launcher stops its workers
    (torchrun ends them on the signal) instead of leaving them running under PID 1."""
    child = subprocess.Popen(cmd, start_new_session=True,
                             env={**os.environ, PARENT_ENV: str(os.getpid())})

    def forward(signum, frame):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signum)

    main = threading.current_thread() is threading.main_thread()   # where handlers may go
    previous = {sig: signal.signal(sig, forward) for sig in FORWARDED_SIGNALS} if main else {}
    try:
        code = child.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 128 - code if code < 0 else code   # killed by signal N: 128 + N, as a shell says


def relaunch(argv: list[str], flags: dict | None = None) -> int | None:
    """Run ``torchrun_command(argv, flags=flags)`` when asked for; its exit code, or None."""
    cmd = torchrun_command(argv, flags=flags)
    if cmd is None:
        return None
    print('launching: ' + ' '.join(cmd), file=sys.stderr, flush=True)
    return call_forwarding_signals(cmd)


# What a collective says when a peer process is gone (gloo, NCCL, the TCP store)
PEER_LOST = ('Connection closed by peer', 'Connection reset by peer', 'Broken pipe',
             'remote worker crash', 'remote process exited',
             'gloo/transport/', 'NCCL communicator was aborted',
             'Watchdog caught collective operation timeout', 'failed to recv, got 0 bytes',
             'Socket Timeout')


def peer_lost(exc: BaseException) -> PeerLostError | None:
    """The one-line error for ``exc`` when it says another process of the run is gone."""
    text = str(exc)
    if not isinstance(exc, RuntimeError) or not any(s in text for s in PEER_LOST):
        return None
    world = dist.get_world_size() if dist.is_initialized() else '?'
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    first = re.sub(r'^\[[^\]]*\]\s*', '', first).split('. ')[0]   # no gloo source path
    return PeerLostError(
        f'lost contact with another process of this run ({world} processes): {first[:200]}. '
        'A node or process stopped, or the network failed: see the first error in the other '
        "nodes' logs, then start every node again with --resume auto")


def under_torchrun(env: dict | None = None) -> bool:
    """Whether this process is one of several that torchrun started (its variables are set)."""
    env = os.environ if env is None else env
    return 'LOCAL_RANK' in env and 'TORCHELASTIC_RUN_ID' in env and int(
        env.get('WORLD_SIZE', '1') or 1) > 1


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
