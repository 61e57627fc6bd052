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
