"""``<work_dir>/run.json``: the facts of a run the logs do not hold (status, wall time, recipe,
delta, data size), written atomically so ``xtuner-like runs`` never reads half a file.

``RunRecordHook`` writes it while the run goes; :func:`recording` (around ``runner.train()``)
marks a run that raised as ``diverged`` (a non-finite loss or gradient) or ``stopped``.
A run killed without a chance to write stays ``running``; the reader turns that into
``stopped`` when its process is gone.
"""
from __future__ import annotations

import json
import os
import socket
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from ..errors import TrainingDivergedError
from ..utils.io import atomic_write_text

RUN_FILE = 'run.json'
STATUSES = ('finished', 'stopped', 'diverged', 'running')


def read_run(work_dir: str | Path) -> dict:
    """The run record of ``work_dir`` ({} when there is none or it cannot be read)."""
    try:
        return json.loads((Path(work_dir) / RUN_FILE).read_text(encoding='utf-8'))
    except (OSError, ValueError):
        return {}


def update_run(work_dir: str | Path, **fields: Any) -> dict:
    """Merge ``fields`` into the run record and write it atomically; the new record."""
    record = {**read_run(work_dir), **fields}
    atomic_write_text(Path(work_dir) / RUN_FILE, json.dumps(record, indent=1, default=str))
    return record


def start_segment(work_dir: str | Path, **fields: Any) -> dict:
    """Record that training (re)starts now in this process: status running."""
    record = read_run(work_dir)
    now = time.time()
    return update_run(work_dir, status='running', started=record.get('started', now),
                      segment_start=now, wall_seconds_before=record.get('wall_seconds', 0.0),
                      pid=os.getpid(), host=socket.gethostname(), **fields)


def end_segment(work_dir: str | Path, status: str, **fields: Any) -> dict:
    """Record the end of this process's training with ``status`` and the summed wall time."""
    record = read_run(work_dir)
    if not record:
        return {}
    now = time.time()
    wall = record.get('wall_seconds_before', 0.0) + now - record.get('segment_start', now)
    return update_run(work_dir, status=status, ended=now, wall_seconds=wall, **fields)


def is_main_rank() -> bool:
    """Rank 0 (or no distributed launch): the process that writes the run record."""
    return os.environ.get('RANK', '0') == '0'


@contextmanager
def recording(work_dir: str | Path) -> Iterator[None]:
    """Around ``runner.train()``: a run that raises is marked diverged or stopped in its
    record, and an open MLflow / W&B run is closed as failed, before the error goes on."""
    try:
        yield
    except BaseException as exc:
        diverged = isinstance(exc, TrainingDivergedError)
        if is_main_rank() and read_run(work_dir).get('status') == 'running':
            end_segment(work_dir, 'diverged' if diverged else 'stopped',
                        error=f'{type(exc).__name__}: {exc}'[:500])
        from .tracking_backends import end_active_runs
        end_active_runs(failed=not isinstance(exc, KeyboardInterrupt))
        raise


def process_alive(record: dict) -> bool:
    """Whether the process that wrote a running record still runs (unknown: True)."""
    if record.get('host') != socket.gethostname() or not record.get('pid'):
        return True
    try:
        os.kill(int(record['pid']), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, ValueError, OverflowError):
        return True
    return True
