"""Two nodes on one machine: two ``train`` processes with ``--nnodes 2`` (node ranks 0 and 1, one
process each) meet through torchrun's c10d rendezvous on 127.0.0.1 (issue 28).

They train like one node of two processes (same global batches: the same losses), write each
checkpoint once, and resume. Killing one node mid-run ends the other with a clear error, and
restarting both with ``--resume auto`` continues exactly. Stopping the launcher of a run leaves
no worker behind (issue 23, item 14).
"""
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from conftest import launch_two_processes

from xtuner_like.launch.distributed import free_port

pytestmark = pytest.mark.multiprocess

RECIPE = 'smollm2_135m_instruct_lora_identity'
MODES = {'ddp': [], 'zero2': ['--deepspeed', 'deepspeed_zero2']}
OPTIONS = ['save_steps=2', 'log_interval=1', 'evaluation_inputs=[]', 'lora_dropout=0.0',
           'param_scheduler=[]', 'export_hf=False', 'lr=1e-2', 'max_iters=4']
TOLERANCE = dict(rel=1e-4, abs=1e-5)   # fp32 sums in another order (test_train_distributed.py)
LAUNCHER_ENV = ('RANK', 'LOCAL_RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT', 'NNODES',
                'NODE_RANK', 'NPROC_PER_NODE', 'ADDR', 'PORT')


def losses(work: Path) -> dict[int, float]:
    """step -> loss of the run folders under ``work`` (one ``<time>/vis_data/scalars.json`` each)"""
    rows = {}
    for path in [*Path(work).glob('vis_data/scalars.json'),
                 *Path(work).glob('*/vis_data/scalars.json')]:
        for line in path.read_text().splitlines():
            row = json.loads(line)
            if 'loss' in row:
                rows[row['step']] = row['loss']
    return rows


def start_node(work: Path, model_dir: Path, rank: int, port: int, args: list[str],
               options: list[str], env: dict | None = None) -> subprocess.Popen:
    """``xtuner-like train --nnodes 2 --node-rank RANK`` (one process), its output in a file."""
    if '--deepspeed' in args:
        pytest.importorskip('deepspeed', reason='pip install -r requirements/deepspeed.txt')
    base = {k: v for k, v in os.environ.items() if k not in LAUNCHER_ENV}
    work.mkdir(parents=True, exist_ok=True)
    log = open(work / f'node{rank}.log', 'a')
    return subprocess.Popen(
        [sys.executable, '-m', 'xtuner_like', 'train', RECIPE, '--work-dir', str(work),
         '--nnodes', '2', '--node-rank', str(rank), '--nproc-per-node', '1',
         '--rdzv-endpoint', f'127.0.0.1:{port}', *args,
         '--cfg-options', f'pretrained_model_name_or_path={model_dir}', *options],
        env={**base, 'OMP_NUM_THREADS': '1', **(env or {})}, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True)


def wait_nodes(nodes: list[subprocess.Popen], timeout: int = 600) -> list[int]:
    return [node.wait(timeout=timeout) for node in nodes]


def train_two_nodes(work: Path, model_dir: Path, args: list[str], options: list[str]) -> str:
    """Both nodes, which must succeed; node 0's output."""
    port = free_port()
    codes = wait_nodes([start_node(work, model_dir, rank, port, args, options)
                        for rank in (0, 1)])
    logs = [(work / f'node{rank}.log').read_text() for rank in (0, 1)]
    assert codes == [0, 0], logs[0][-3000:] + logs[1][-3000:]
    return logs[0]


@pytest.fixture(scope='module')
def one_node(tmp_path_factory, tiny_model_dir, xl_home) -> Path:
    """The reference: one node of two processes (``NPROC_PER_NODE=2``), plain DDP."""
    work = tmp_path_factory.mktemp('one_node')
    out = launch_two_processes(work, tiny_model_dir, [], OPTIONS)
    assert out.returncode == 0, out.stderr[-3000:]
    return work


# A hook for both nodes; on the node whose environment names it, the worker kills its node's
# `train` process with SIGKILL when iteration 4 starts (iterations 1-3 done, iter_2.pth saved).
# That node's torchrun then ends its worker (it dies with its launcher), as when a machine is lost.
KILLER = '''
import os, signal
from mmengine.hooks import IterTimerHook

class KillNodeHook(IterTimerHook):
    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if runner.iter == 3 and os.environ.get('KILL_THIS_NODE'):
            os.kill(int(os.environ['XTUNER_LIKE_LAUNCHER_PID']), signal.SIGKILL)
            signal.pause()
        super().before_train_iter(runner, batch_idx, data_batch)
'''


@pytest.mark.parametrize('mode', list(MODES))
def test_two_nodes_train_like_one_node_survive_a_lost_node_and_resume_exactly(
        mode, one_node, tmp_path, tiny_model_dir):
    """Two nodes train with the losses of one node of two processes and write each checkpoint
    once; node 1 is killed at iteration 4, node 0 ends with a clear error (no hang), and both
    started again with ``--resume auto`` continue from iter_2.pth with the same losses."""
    hooks = tmp_path / 'hooks'
    hooks.mkdir()
    (hooks / 'mn_killer.py').write_text(textwrap.dedent(KILLER))
    path = os.pathsep.join([str(hooks), os.environ.get('PYTHONPATH', '')])
    work = tmp_path / 'work'
    port = free_port()
    killer = ['default_hooks.timer.type=mn_killer.KillNodeHook']
    nodes = [start_node(work, tiny_model_dir, rank, port, MODES[mode], [*OPTIONS, *killer],
                        env={'PYTHONPATH': path, **({'KILL_THIS_NODE': '1'} if rank else {})})
             for rank in (0, 1)]
    codes = wait_nodes(nodes, timeout=300)     # bounded: no hang on the lost peer
    log = (work / 'node0.log').read_text()
    assert '--rdzv_backend=c10d' in log and '--rdzv_endpoint=127.0.0.1:' in log
    assert codes[1] == -signal.SIGKILL
    assert codes[0] == 1, log[-3000:]
    assert re.search(r'error( \(rank \d\))?: lost contact with another process of this run '
                     r'\(2 processes\): ', log), log[-3000:]
    assert 'Traceback' not in log
    assert not leftovers(work)        # node 1's torchrun and worker died with its `train`
    ref, first = losses(one_node), losses(work)
    assert sorted(first) == [1, 2, 3]
    for step in first:
        assert first[step] == pytest.approx(ref[step], **TOLERANCE), (mode, step)
    # written once (by global rank 0): one run folder; iter_2 whole, iter_4 never begun
    checkpoint = work / 'iter_2.pth'
    assert checkpoint.is_dir() if mode == 'zero2' else checkpoint.is_file()
    assert not (work / 'iter_4.pth').exists() and not list(work.glob('.*.tmp'))
    before = set(work.glob('*/vis_data/scalars.json'))
    assert len(before) == 1

    train_two_nodes(work, tiny_model_dir, [*MODES[mode], '--resume', 'auto'], OPTIONS)
    (after,) = set(work.glob('*/vis_data/scalars.json')) - before
    again = losses(after.parents[1])
    assert sorted(again) == [3, 4]
    for step in again:
        assert again[step] == pytest.approx(ref[step], **TOLERANCE), (mode, step)
    assert (work / 'iter_4.pth').exists()


def leftovers(work: Path, wait: float = 60) -> list[int]:
    """Processes still running whose command line names ``work`` (after up to ``wait`` s)."""
    import psutil
    deadline = time.monotonic() + wait
    while True:
        found = [p.pid for p in psutil.process_iter(['cmdline'])
                 if str(work) in ' '.join(p.info['cmdline'] or []) and alive(p.pid)]
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def descendants(pid: int) -> list[int]:
    import psutil
    try:
        return [p.pid for p in psutil.Process(pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def alive(pid: int) -> bool:
    import psutil
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_sigterm_to_the_launcher_ends_every_worker(tmp_path, tiny_model_dir, xl_home):
    """Issue 23, item 14: ``NPROC_PER_NODE=2 xtuner-like train``, SIGTERM once both workers
    exist: the launcher passes it on, torchrun ends the workers, nobody is left."""
    base = {k: v for k, v in os.environ.items() if k not in LAUNCHER_ENV}
    work = tmp_path / 'work'
    launcher = subprocess.Popen(
        [sys.executable, '-m', 'xtuner_like', 'train', RECIPE, '--work-dir', str(work),
         '--cfg-options', f'pretrained_model_name_or_path={tiny_model_dir}', 'max_iters=100000',
         'save_steps=100000', 'evaluation_inputs=[]', 'export_hf=False'],
        env={**base, 'NPROC_PER_NODE': '2', 'OMP_NUM_THREADS': '1'},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        workers = []
        while len(workers) < 3 and launcher.poll() is None:   # torchrun and its 2 workers
            time.sleep(0.5)
            workers = descendants(launcher.pid)
        assert launcher.poll() is None, launcher.stderr.read()[-3000:]
        time.sleep(2)                     # the workers are importing, or training
        workers = descendants(launcher.pid)
        launcher.send_signal(signal.SIGTERM)
        code = launcher.wait(timeout=120)
        err = launcher.stderr.read()
        assert code == 128 + signal.SIGTERM, err[-3000:]
        assert 'stopped by SIGTERM' in err
        deadline = time.monotonic() + 60   # torchrun waits for its workers before it exits
        while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not [pid for pid in workers if alive(pid)]
    finally:
        for pid in [launcher.pid, *descendants(launcher.pid)]:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
