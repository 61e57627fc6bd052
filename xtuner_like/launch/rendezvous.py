"""Where this node stands in a run of many: node count, node rank, processes, rendezvous.

One launch front for every way a node is started. The settings come from the command line
(``train --nnodes N --node-rank R --rdzv-endpoint HOST:PORT``) or from the environment that
xtuner-like's own scripts (``NNODES``, ``NODE_RANK``, ``ADDR``, ``PORT``, ``NPROC_PER_NODE``),
torchrun and Kubeflow (``PET_NNODES``, ``PET_NODE_RANK``, ``PET_NPROC_PER_NODE``,
``PET_MASTER_ADDR``, ``PET_MASTER_PORT``: Trainer v2's torch runtime sets them) or a SLURM step
(``SLURM_STEP_NUM_NODES``, ``SLURM_NODEID``, ``SLURM_JOB_ID``) set; each setting is taken from
the first of these that has it. Several nodes meet through torchrun's c10d rendezvous on node
0 (no store or protocol of our own); one node keeps torchrun's static rendezvous on localhost.
"""
from __future__ import annotations

import dataclasses
import os
import subprocess
from collections.abc import Mapping

from ..errors import ConfigError

DEFAULT_PORT = 29500
DEFAULT_RUN_ID = 'xtuner_like'

# setting -> the environment variables that may hold it, in order of precedence
ENV_NAMES = {
    'nnodes': ('NNODES', 'PET_NNODES', 'SLURM_STEP_NUM_NODES'),
    'node_rank': ('NODE_RANK', 'PET_NODE_RANK', 'SLURM_NODEID'),
    'nproc_per_node': ('NPROC_PER_NODE', 'PET_NPROC_PER_NODE'),
    'run_id': ('PET_RDZV_ID', 'SLURM_JOB_ID'),
}


@dataclasses.dataclass(frozen=True)
class NodeSpec:
    """This node's part of a run: ``nnodes`` nodes of ``nproc_per_node`` processes each."""

    nnodes: int = 1
    node_rank: int = 0
    nproc_per_node: int = 1
    endpoint: str | None = None      # HOST:PORT of node 0 (several nodes only)
    run_id: str = DEFAULT_RUN_ID
    source: str = 'command line'     # where nnodes came from, for messages

    @property
    def multi_node(self) -> bool:
        return self.nnodes > 1

    def torchrun_args(self, port: int | None = None) -> list[str]:
        """torchrun's options for this node (``port``: one node's free local port)."""
        args = [f'--nproc_per_node={self.nproc_per_node}', f'--nnodes={self.nnodes}',
                f'--node_rank={self.node_rank}']
        if not self.multi_node:
            return [*args, '--master_addr=127.0.0.1', f'--master_port={port or DEFAULT_PORT}']
        # Node 0 hosts the rendezvous store at the endpoint; the others connect to it (and
        # wait for it). Said explicitly: the hostname guess fails behind a k8s Service name.
        return [*args, '--rdzv_backend=c10d', f'--rdzv_endpoint={self.endpoint}',
                f'--rdzv_id={self.run_id}',
                f'--rdzv_conf=is_host={int(self.node_rank == 0)}', '--max_restarts=0']


def parse_endpoint(text: str, what: str = '--rdzv-endpoint') -> tuple[str, int]:
    """``HOST:PORT`` (or ``HOST``, port 29500) -> (host, port); a clear error otherwise."""
    host, sep, port = str(text).strip().rpartition(':')
    if not sep:
        host, port = port, str(DEFAULT_PORT)
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f'{what} {text!r}: give HOST:PORT of node 0, e.g. 10.0.0.1:29500')
    return host, int(port)


def _int(value, name: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ConfigError(f'{name}={value!r}: expected a whole number') from None


def _first(env: Mapping[str, str], names: tuple[str, ...]) -> tuple[str | None, str | None]:
    for name in names:
        if env.get(name, '') != '':
            return name, env[name]
    return None, None


def slurm_head_node(env: Mapping[str, str]) -> str | None:
    """The first host of this SLURM step (node 0), by ``scontrol show hostnames``."""
    nodes = env.get('SLURM_STEP_NODELIST') or env.get('SLURM_JOB_NODELIST')
    if not nodes:
        return None
    try:
        out = subprocess.run(['scontrol', 'show', 'hostnames', nodes], capture_output=True,
                             text=True, check=False).stdout.split()
    except OSError:
        return None
    return out[0] if out else None


def env_endpoint(env: Mapping[str, str]) -> tuple[str | None, str | None]:
    """(endpoint, variable names) from ADDR/PORT, PET_RDZV_ENDPOINT, PET_MASTER_ADDR/PORT or
    the SLURM step's first node (with MASTER_PORT)."""
    if env.get('ADDR'):
        return f"{env['ADDR']}:{env.get('PORT') or DEFAULT_PORT}", 'ADDR/PORT'
    if env.get('PET_RDZV_ENDPOINT'):
        return env['PET_RDZV_ENDPOINT'], 'PET_RDZV_ENDPOINT'
    if env.get('PET_MASTER_ADDR'):
        port = env.get('PET_MASTER_PORT') or DEFAULT_PORT
        return f"{env['PET_MASTER_ADDR']}:{port}", 'PET_MASTER_ADDR/PORT'
    if env.get('SLURM_STEP_NUM_NODES'):
        head = slurm_head_node(env)
        if head:
            return f"{head}:{env.get('MASTER_PORT') or DEFAULT_PORT}", 'SLURM_STEP_NODELIST'
    return None, None


def default_nproc() -> int:
    """Processes per node when nothing says: one per visible GPU, else 1."""
    import torch
    return max(torch.cuda.device_count(), 1) if torch.cuda.is_available() else 1


def node_spec(flags: Mapping | None = None, env: Mapping[str, str] | None = None
              ) -> NodeSpec | None:
    """This node's :class:`NodeSpec` from ``flags`` (None values are unset) and ``env``.

    None when there is nothing to launch: one node and one process. One node starts several
    processes only when asked (``--nproc-per-node``/``NPROC_PER_NODE``); several nodes start
    one process per GPU unless told otherwise.
    """
    env = os.environ if env is None else env
    flags = {k: v for k, v in (flags or {}).items() if v is not None}
    values, names = {}, {}
    for key, env_names in ENV_NAMES.items():
        if key in flags:
            values[key], names[key] = flags[key], f'--{key.replace("_", "-")}'
        else:
            name, value = _first(env, env_names)
            if name:
                values[key], names[key] = value, name
    nnodes = _int(values.get('nnodes', 1), names.get('nnodes', 'nnodes'))
    node_rank = _int(values.get('node_rank', 0), names.get('node_rank', 'node_rank'))
    if 'nproc_per_node' in values:
        nproc = _int(values['nproc_per_node'], names['nproc_per_node'])
    else:
        nproc = default_nproc() if nnodes > 1 else 0
    if nnodes < 1 or nproc < 0:
        raise ConfigError(f'{names.get("nnodes", "nnodes")}={nnodes}, processes per node '
                          f'{nproc}: both must be at least 1')
    if nnodes == 1 and nproc <= 1:
        return None
    if not 0 <= node_rank < nnodes:
        raise ConfigError(f'{names.get("node_rank", "node rank")}={node_rank}: a node rank '
                          f'runs from 0 to {nnodes - 1} (nnodes {nnodes})')
    endpoint = flags.get('endpoint')
    if nnodes > 1:
        if endpoint is None:
            endpoint, _ = env_endpoint(env)
        if endpoint is None:
            raise ConfigError(
                f'{names["nnodes"]}={nnodes}: say where node 0 is: --rdzv-endpoint HOST:PORT '
                '(or set ADDR and PORT) on every node')
        host, port = parse_endpoint(endpoint)
        endpoint = f'{host}:{port}'
    return NodeSpec(nnodes=nnodes, node_rank=node_rank, nproc_per_node=max(nproc, 1),
                    endpoint=endpoint, run_id=str(values.get('run_id', DEFAULT_RUN_ID)),
                    source=names.get('nnodes', 'NPROC_PER_NODE'))
