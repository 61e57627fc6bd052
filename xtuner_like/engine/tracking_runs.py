"""Runs side by side: one summary per work dir, read from what the hooks already wrote.

A work dir holds ``<time>/vis_data/scalars.json`` (mmengine's local backend: every logged
scalar by step, one folder per start of the run), ``run.json`` (RunRecordHook: recipe, delta,
data size, status, wall time) and maybe ``eval_results.jsonl`` (evaluation scores).
:func:`summarize` turns one work dir into a row; :func:`find_runs` finds the work dirs.
"""
from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path
from typing import Any, Iterable

from ..errors import UnknownNameError
from .tracking_record import RUN_FILE, process_alive, read_run

SKIP_DIRS = {'hf', 'mlruns', 'wandb', 'vis_data', '__pycache__'}
# Column -> True when a higher value is better (used to sort best first).
METRICS = {'loss': False, 'val_loss': False, 'reward_acc': True, 'tokens_per_sec': True,
           'wall_s': False, 'steps': True, 'data_rows': True, 'data_tokens': True}
COLUMNS = ('run', 'recipe', 'delta', 'data_rows', 'data_tokens', 'steps', 'loss', 'val_loss',
           'eval', 'reward_acc', 'tokens_per_sec', 'wall_s', 'status')


def is_run_dir(path: Path) -> bool:
    """A work dir: it holds ``run.json`` or a logged ``<time>/vis_data/scalars.json``."""
    return (path / RUN_FILE).is_file() or any(path.glob('*/vis_data/scalars.json'))


def find_runs(roots: Iterable[str | Path]) -> list[Path]:
    """Every work dir under ``roots`` (a root may be a work dir itself), sorted by path."""
    found: list[Path] = []
    for root in map(Path, roots):
        if is_run_dir(root):
            found.append(root)
            continue
        for here, dirs, _ in os.walk(root):
            dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith('.'))
            for d in list(dirs):
                if is_run_dir(Path(here) / d):
                    found.append(Path(here) / d)
                    dirs.remove(d)
    return sorted(set(found))


def read_scalars(work_dir: str | Path) -> dict[str, list[tuple[int, float]]]:
    """``{key: [(step, value), ...]}`` over every start of the run; a later start's value
    for a step replaces an earlier one (a resumed run repeats no steps, a restarted one may)."""
    by_key: dict[str, dict[int, float]] = {}
    for path in sorted(Path(work_dir).glob('*/vis_data/scalars.json')):
        for line in path.read_text(encoding='utf-8').splitlines():
            try:
                row = json.loads(line)
            except ValueError:
                continue   # a line being written now
            step = row.get('step')
            if not isinstance(step, int):
                continue
            for key, value in row.items():
                if key != 'step' and isinstance(value, (int, float)):
                    by_key.setdefault(key, {})[step] = float(value)
    return {k: sorted(v.items()) for k, v in by_key.items()}


def eval_scores(work_dir: str | Path) -> dict[str, float]:
    """Numbers of ``eval_results.jsonl`` as ``{'eval/<task>/<metric>': value}`` (the last
    line of a task wins); {} when the file is missing."""
    path = Path(work_dir) / 'eval_results.jsonl'
    scores: dict[str, float] = {}
    if not path.is_file():
        return scores
    for line in path.read_text(encoding='utf-8').splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if not isinstance(row, dict):
            continue
        task = row.get('task') or row.get('name')
        for key, value in _numbers(row).items():
            if key in ('iter', 'step'):   # EvalTasksHook's rows: {'iter', '<task>/<metric>'}
                continue
            scores[f'eval/{task}/{key}' if task else f'eval/{key}'] = value
    return scores


def _numbers(row: dict, prefix: str = '') -> dict[str, float]:
    out = {}
    for key, value in row.items():
        if isinstance(value, dict):
            out.update(_numbers(value, f'{prefix}{key}/'))
        elif isinstance(value, (int, float)) and not isinstance(value, bool) \
                and key not in ('iter', 'step', 'n', 'samples'):
            out[f'{prefix}{key}'] = float(value)
    return out


def _last(series: list[tuple[int, float]] | None) -> float | None:
    return series[-1][1] if series else None


def _status(record: dict) -> str:
    status = record.get('status')
    if status == 'running' and not process_alive(record):
        return 'stopped'
    return status or 'unknown'


def _wall(record: dict) -> float | None:
    if 'wall_seconds' in record and record.get('status') != 'running':
        return record['wall_seconds']
    if 'segment_start' in record:
        return record.get('wall_seconds_before', 0.0) + time.time() - record['segment_start']
    return None


def summarize(work_dir: str | Path) -> dict[str, Any]:
    """One row of the runs table for ``work_dir`` (missing facts are None)."""
    work_dir = Path(work_dir)
    record = read_run(work_dir)
    scalars = read_scalars(work_dir)
    loss = scalars.get('loss', [])
    val = [v for _, v in scalars.get('val/loss', [])]
    accuracy = scalars.get('heldout/accuracy') or scalars.get('rewards/accuracy')
    speed = record.get('tokens_per_sec')
    if speed is None and scalars.get('tokens_per_sec'):
        speeds = [v for _, v in scalars['tokens_per_sec']]
        speed = sum(speeds) / len(speeds)
    configs = sorted(p.stem for p in work_dir.glob('*.py'))
    row = {
        'run': str(work_dir), 'recipe': record.get('recipe') or (configs[0] if configs else None),
        'delta': record.get('delta', ''), 'data_rows': record.get('data_rows'),
        'data_tokens': record.get('data_tokens'),
        'steps': loss[-1][0] if loss else record.get('iter'),
        'loss': _last(loss), 'val_loss': min(val) if val else None,
        'reward_acc': _last(accuracy), 'tokens_per_sec': speed,
        'wall_s': _wall(record), 'status': _status(record) if record else 'unknown',
    }
    if row['status'] == 'finished' and row['loss'] is not None and not math.isfinite(row['loss']):
        row['status'] = 'diverged'
    scores = eval_scores(work_dir)
    row.update(scores)
    row['eval'] = ' '.join(f'{k[5:]}={v:.4g}' for k, v in scores.items())
    row['curves'] = {'loss': loss, 'val_loss': scalars.get('val/loss', [])}
    return row


def sort_rows(rows: list[dict], metric: str) -> list[dict]:
    """Best first by ``metric`` (lower loss, higher accuracy/speed/eval); missing values last.

    Raises:
        UnknownNameError: ``metric`` is no column of these runs.
    """
    known = set(METRICS) | {k for r in rows for k in r if k.startswith('eval/')}
    if metric not in known:
        raise UnknownNameError('metric to sort by', metric, known)
    higher = METRICS.get(metric, True)
    present = [r for r in rows if isinstance(r.get(metric), (int, float))]
    missing = [r for r in rows if not isinstance(r.get(metric), (int, float))]
    return sorted(present, key=lambda r: r[metric], reverse=higher) + missing


def default_metric(rows: list[dict]) -> str:
    """``val_loss`` when some run has one, else ``loss``."""
    return 'val_loss' if any(r.get('val_loss') is not None for r in rows) else 'loss'


def _cell(value: Any) -> str:
    if value is None or value == '':
        return '-'
    if isinstance(value, float):
        return f'{value:.4g}' if abs(value) < 1e5 else f'{value:.3g}'
    return str(value)


def format_table(rows: list[dict], columns: Iterable[str] = COLUMNS) -> str:
    """A plain-text table; columns no run has a value for are left out."""
    columns = [c for c in columns if c in ('run', 'status')
               or any(r.get(c) not in (None, '') for r in rows)]
    cells = [[_cell(r.get(c)) for c in columns] for r in rows]
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(columns)]
    lines = ['  '.join(c.ljust(w) for c, w in zip(columns, widths))]
    lines += ['  '.join(v.ljust(w) for v, w in zip(row, widths)) for row in cells]
    return '\n'.join(line.rstrip() for line in lines)
