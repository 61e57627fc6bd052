"""Tests for xtuner_like/launch/torchrun.py: a failed worker ends the launcher with one line."""
import pytest

from xtuner_like.launch import torchrun


def test_a_failed_worker_gives_one_line_and_exit_code_1(monkeypatch, capsys, tmp_path):
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.elastic.multiprocessing.api import ProcessFailure

    def failing_main(argv):
        failure = ProcessFailure(local_rank=1, pid=1234, exitcode=1,
                                 error_file=str(tmp_path / 'none.json'))
        raise ChildFailedError('xtuner_like', {1: failure})

    monkeypatch.setattr('torch.distributed.run.main', failing_main)
    assert torchrun.run(['--nproc_per_node=2', '-m', 'xtuner_like']) == 1
    err = capsys.readouterr().err
    assert err.strip() == ('error: 1 worker process(es) failed, first rank 1 (exit code 1); '
                           'its error is printed above')
    assert 'Traceback' not in err


def test_a_successful_run_returns_0(monkeypatch):
    calls = []
    monkeypatch.setattr('torch.distributed.run.main', calls.append)
    assert torchrun.run(['--nproc_per_node=2']) == 0
    assert calls == [['--nproc_per_node=2']]


def test_other_errors_are_not_swallowed(monkeypatch):
    def broken(argv):
        raise ValueError('bad launcher argument')
    monkeypatch.setattr('torch.distributed.run.main', broken)
    with pytest.raises(ValueError, match='bad launcher argument'):
        torchrun.run([])


def test_a_signal_stops_the_run_with_one_line(monkeypatch, capsys):
    import signal
    from torch.distributed.elastic.multiprocessing.api import SignalException

    def stopped(argv):
        raise SignalException('got SIGTERM', sigval=signal.SIGTERM)
    monkeypatch.setattr('torch.distributed.run.main', stopped)
    assert torchrun.run([]) == 128 + signal.SIGTERM
    assert capsys.readouterr().err.strip() == ('stopped by SIGTERM: the worker processes were '
                                               'ended')


def test_dies_with_its_launcher_only_when_one_is_named(tmp_path):
    """The parent death signal is asked for only under xtuner-like's launcher; a torchrun whose
    launcher is already gone exits at once."""
    import os
    import subprocess
    import sys
    assert torchrun.die_with_parent({}) is False
    code = ('import sys; from xtuner_like.launch import torchrun; '
            'print(torchrun.die_with_parent())')
    env = {**os.environ, torchrun.PARENT_ENV: str(os.getpid())}
    out = subprocess.run([sys.executable, '-c', code], env=env, capture_output=True, text=True)
    assert out.stdout.strip() == ('True' if sys.platform.startswith('linux') else 'False')
    gone = {**os.environ, torchrun.PARENT_ENV: '1'}    # not our parent: it is gone
    out = subprocess.run([sys.executable, '-c', code], env=gone, capture_output=True, text=True)
    if sys.platform.startswith('linux'):
        assert out.returncode == 128 + 15 and out.stdout == ''
