"""run.json: atomic updates, wall time over resumed segments, the status of a run that raised."""
from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from xtuner_like.engine import tracking_record as record
from xtuner_like.errors import TrainingDivergedError


def test_segments_add_up_their_wall_time(tmp_path, monkeypatch):
    clock = iter([100.0, 110.0, 200.0, 205.0])
    monkeypatch.setattr(record.time, 'time', lambda: next(clock))
    record.start_segment(tmp_path, recipe='r')
    assert record.read_run(tmp_path)['status'] == 'running'
    record.end_segment(tmp_path, 'stopped')
    record.start_segment(tmp_path)                                  # resumed
    done = record.end_segment(tmp_path, 'finished', iter=4)
    assert done['wall_seconds'] == pytest.approx(15.0)
    assert done['started'] == 100.0 and done['recipe'] == 'r' and done['iter'] == 4
    assert not list(tmp_path.glob('.*tmp*'))                        # written atomically


def test_no_record_means_nothing_to_end(tmp_path):
    assert record.read_run(tmp_path) == {} and record.end_segment(tmp_path, 'finished') == {}
    (tmp_path / record.RUN_FILE).write_text('{half')
    assert record.read_run(tmp_path) == {}


@pytest.mark.parametrize('error, status', [
    (TrainingDivergedError('loss is nan'), 'diverged'),
    (KeyboardInterrupt(), 'stopped'),
    (RuntimeError('out of memory'), 'stopped'),
])
def test_a_run_that_raises_is_marked(tmp_path, error, status):
    record.start_segment(tmp_path)
    with pytest.raises(type(error)):
        with record.recording(tmp_path):
            raise error
    run = record.read_run(tmp_path)
    assert run['status'] == status and 'wall_seconds' in run
    assert type(error).__name__ in run['error']


def test_a_finished_run_stays_finished_and_other_ranks_write_nothing(tmp_path, monkeypatch):
    record.start_segment(tmp_path)
    record.end_segment(tmp_path, 'finished')
    with pytest.raises(RuntimeError), record.recording(tmp_path):
        raise RuntimeError('after the end')
    assert record.read_run(tmp_path)['status'] == 'finished'
    record.update_run(tmp_path, status='running')
    monkeypatch.setenv('RANK', '1')
    with pytest.raises(RuntimeError), record.recording(tmp_path):
        raise RuntimeError('rank 1')
    assert record.read_run(tmp_path)['status'] == 'running'


def test_a_dead_process_is_seen_on_this_host():
    done = subprocess.run([sys.executable, '-c', 'import os; print(os.getpid())'],
                          capture_output=True, text=True)
    host = socket.gethostname()
    assert not record.process_alive({'host': host, 'pid': int(done.stdout)})
    assert record.process_alive({'host': host, 'pid': os.getpid()})
    assert record.process_alive({'host': 'another-machine', 'pid': int(done.stdout)})
