"""Launch helpers: the torchrun command, slurm variables, one-process launcher variables."""
import contextlib
import sys

import pytest

from xtuner_like.launch import distributed
from xtuner_like.errors import ConfigError


def test_no_relaunch_without_nproc_or_under_a_launcher():
    assert distributed.torchrun_command(['train', 'x'], {}) is None
    assert distributed.torchrun_command(['train', 'x'], {'NPROC_PER_NODE': '1'}) is None
    assert distributed.torchrun_command(['train', 'x'],
                                        {'NPROC_PER_NODE': '2', 'LOCAL_RANK': '0'}) is None


def test_single_node_reexecutes_the_same_interpreter():
    cmd = distributed.torchrun_command(['train', 'cfg', '--deepspeed', 'zero2'],
                                       {'NPROC_PER_NODE': '2', 'PORT': '29555'})
    assert cmd[:3] == [sys.executable, '-m', 'xtuner_like.launch.torchrun']
    assert '--nproc_per_node=2' in cmd and '--nnodes=1' in cmd and '--master_port=29555' in cmd
    assert cmd[cmd.index('-m', 3):] == ['-m', 'xtuner_like', 'train', 'cfg', '--deepspeed',
                                        'zero2', '--launcher', 'pytorch']


def test_multi_node_meets_through_the_c10d_rendezvous_on_node_0():
    env = {'NPROC_PER_NODE': '8', 'NNODES': '2', 'NODE_RANK': '1', 'ADDR': '10.0.0.1'}
    cmd = distributed.torchrun_command(['train', 'cfg'], env)
    assert {'--nnodes=2', '--node_rank=1', '--rdzv_backend=c10d',
            '--rdzv_endpoint=10.0.0.1:29500', '--rdzv_conf=is_host=0'} <= set(cmd)
    with pytest.raises(ConfigError, match='say where node 0 is'):
        distributed.torchrun_command(['train', 'cfg'], {'NPROC_PER_NODE': '8', 'NNODES': '2'})


def test_flags_give_the_node_settings():
    cmd = distributed.torchrun_command(['train', 'cfg'], {}, flags={
        'nnodes': 2, 'node_rank': 0, 'nproc_per_node': 1, 'endpoint': '127.0.0.1:29400'})
    assert '--rdzv_conf=is_host=1' in cmd and '--nproc_per_node=1' in cmd


def test_under_torchrun_only_with_its_variables():
    assert distributed.under_torchrun({'LOCAL_RANK': '0', 'WORLD_SIZE': '2',
                                       'TORCHELASTIC_RUN_ID': 'x'})
    assert not distributed.under_torchrun({'LOCAL_RANK': '0', 'WORLD_SIZE': '1',
                                           'TORCHELASTIC_RUN_ID': 'x'})
    assert not distributed.under_torchrun({'WORLD_SIZE': '2'})


def test_a_lost_peer_is_one_line_that_says_what_to_do():
    err = distributed.peer_lost(RuntimeError(
        '[/x/gloo/transport/tcp/pair.cc:553] Connection closed by peer [127.0.0.1]:4. This is '
        'typically caused by a remote worker crashing.'))
    assert str(err).startswith('lost contact with another process of this run (? processes): '
                               'Connection closed by peer [127.0.0.1]:4. A node or process')
    assert '--resume auto' in str(err)
    assert distributed.peer_lost(RuntimeError('CUDA out of memory')) is None
    assert distributed.peer_lost(ValueError('Connection closed by peer')) is None


def test_signals_to_the_launcher_reach_its_child(tmp_path):
    """call_forwarding_signals: SIGTERM to this process goes to the child's process group."""
    import os
    import signal
    import threading
    import time
    ready = tmp_path / 'ready'
    child = (f"import signal, sys, time, pathlib\n"
             f"signal.signal(signal.SIGTERM, lambda *a: sys.exit(7))\n"
             f"pathlib.Path({str(ready)!r}).write_text('1')\n"
             f"time.sleep(60)\n")

    def kill_when_ready():
        while not ready.exists():
            time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGTERM)

    before = signal.getsignal(signal.SIGTERM)
    threading.Thread(target=kill_when_ready, daemon=True).start()
    assert distributed.call_forwarding_signals([sys.executable, '-c', child]) == 7
    assert signal.getsignal(signal.SIGTERM) is before    # this process's handler is back


def test_a_child_killed_by_a_signal_gives_128_plus_its_number():
    assert distributed.call_forwarding_signals(
        [sys.executable, '-c', 'import os, signal; os.kill(os.getpid(), signal.SIGKILL)']) == 137


def test_slurm_variables_become_launcher_variables(monkeypatch):
    for key in ('RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'MASTER_PORT'):
        monkeypatch.setenv(key, '')      # recorded, so the values set below are undone
        monkeypatch.delenv(key)
    monkeypatch.setenv('MASTER_ADDR', 'node0')
    monkeypatch.setenv('SLURM_PROCID', '3')
    monkeypatch.setenv('SLURM_NTASKS', '4')
    monkeypatch.setenv('SLURM_LOCALID', '1')
    distributed.slurm_env()
    import os
    assert (os.environ['RANK'], os.environ['WORLD_SIZE'], os.environ['LOCAL_RANK'],
            os.environ['MASTER_PORT']) == ('3', '4', '1', '29500')


def test_slurm_outside_srun_is_a_clear_error(monkeypatch):
    for key in ('RANK', 'SLURM_PROCID'):
        monkeypatch.setenv(key, '')
        monkeypatch.delenv(key)
    with pytest.raises(ConfigError, match='run under srun'):
        distributed.slurm_env()


def test_unknown_launcher_is_an_error():
    with pytest.raises(ConfigError, match='choose one of none, pytorch, slurm'):
        distributed.init_process_group('mpi', use_deepspeed=False)


def _one_process_env(monkeypatch):
    for key in ('RANK', 'LOCAL_RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT'):
        monkeypatch.setenv(key, '')      # recorded, so single_process_env's values are undone
        monkeypatch.delenv(key)


@pytest.mark.parametrize('fails', [False, True])
def test_the_process_group_made_for_a_run_is_destroyed_after_it(monkeypatch, fails):
    """A run that made the group destroys it, also when the run fails (gloo's threads must
    not be left to exit-time destructors)."""
    import torch.distributed as dist
    _one_process_env(monkeypatch)
    seen = []
    with pytest.raises(RuntimeError) if fails else contextlib.nullcontext():
        with distributed.process_group('none', use_deepspeed=True):
            seen.append((dist.is_initialized(), dist.get_backend(), dist.get_world_size()))
            if fails:
                raise RuntimeError('the run failed')
    assert seen == [(True, 'gloo', 1)]
    assert not dist.is_initialized()


def test_a_group_that_existed_before_the_run_is_left_alone(monkeypatch):
    import torch.distributed as dist
    _one_process_env(monkeypatch)
    distributed.single_process_env()
    dist.init_process_group('gloo', init_method='env://')
    try:
        with distributed.process_group('none', use_deepspeed=True):
            pass
        assert dist.is_initialized()
    finally:
        dist.destroy_process_group()


def test_no_group_without_a_launcher_or_deepspeed(monkeypatch):
    import torch.distributed as dist
    _one_process_env(monkeypatch)
    with distributed.process_group('none', use_deepspeed=False):
        assert not dist.is_initialized()
