"""Runs table rows from work dirs written by hand: scalars, run.json, eval results, sorting."""
from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from xtuner_like.engine import tracking_runs as runs
from xtuner_like.errors import UnknownNameError


def make_run(work: Path, losses, val=(), run=None, start='20260101_000000', extra=()):
    """A work dir as training leaves it: scalars.json (train and val rows) and run.json."""
    vis = work / start / 'vis_data'
    vis.mkdir(parents=True)
    rows = [{'loss': v, 'lr': 1e-4, 'tokens_per_sec': 100.0, 'step': s} for s, v in losses]
    rows += [{'val/loss': v, 'step': s} for s, v in val] + list(extra)
    (vis / 'scalars.json').write_text('\n'.join(json.dumps(r) for r in rows) + '\n')
    if run is not None:
        (work / 'run.json').write_text(json.dumps(run))
    return work


def test_a_row_holds_what_the_hooks_logged(tmp_path):
    work = make_run(tmp_path / 'a', [(1, 3.0), (2, 2.5)], val=[(2, 2.8), (4, 2.6)],
                    run={'status': 'finished', 'recipe': 'r', 'delta': 'lr=0.001',
                         'data_rows': 10, 'data_tokens': 500, 'wall_seconds': 12.5,
                         'tokens_per_sec': 99.0})
    (work / 'eval_results.jsonl').write_text(
        json.dumps({'task': 'arc', 'acc': 0.5, 'n': 100}) + '\n' + json.dumps({'mmlu': 0.3})
        + '\n' + json.dumps({'iter': 4, 'val_loss/loss': 1.25}))     # EvalTasksHook's rows
    row = runs.summarize(work)
    assert row['recipe'] == 'r' and row['delta'] == 'lr=0.001' and row['status'] == 'finished'
    assert (row['steps'], row['loss'], row['val_loss']) == (2, 2.5, 2.6)
    assert (row['data_rows'], row['data_tokens'], row['wall_s']) == (10, 500, 12.5)
    assert row['tokens_per_sec'] == 99.0 and row['reward_acc'] is None
    assert row['eval/arc/acc'] == 0.5 and row['eval/mmlu'] == 0.3 and 'eval/arc/n' not in row
    assert row['eval/val_loss/loss'] == 1.25 and 'eval/iter' not in row
    assert row['eval'] == 'arc/acc=0.5 mmlu=0.3 val_loss/loss=1.25'
    assert row['curves']['loss'] == [(1, 3.0), (2, 2.5)]


def test_resumed_starts_merge_and_reward_accuracy_is_read(tmp_path):
    work = make_run(tmp_path / 'p', [(1, 0.7), (2, 0.69)],
                    extra=[{'rewards/accuracy': 0.5, 'step': 2}])
    make_run(work, [(3, 0.6), (4, 0.5)], start='20260101_010000',
             extra=[{'rewards/accuracy': 0.75, 'step': 4}])
    row = runs.summarize(work)
    assert row['steps'] == 4 and row['loss'] == 0.5 and row['reward_acc'] == 0.75
    assert row['status'] == 'unknown' and row['tokens_per_sec'] == 100.0   # no run.json
    (work / 'run.json').write_text(json.dumps({'status': 'finished'}))
    make_run(work, [(5, float('nan'))], start='20260101_020000')
    assert runs.summarize(work)['status'] == 'diverged'


def test_a_running_record_of_a_gone_process_reads_as_stopped(tmp_path):
    work = make_run(tmp_path / 'r', [(1, 1.0)], run={
        'status': 'running', 'host': 'another-machine', 'pid': 1, 'segment_start': 0})
    assert runs.summarize(work)['status'] == 'running'
    gone = subprocess.run([sys.executable, '-c', 'import os; print(os.getpid())'],
                          capture_output=True, text=True)
    (work / 'run.json').write_text(json.dumps({
        'status': 'running', 'host': socket.gethostname(), 'pid': int(gone.stdout),
        'segment_start': 0}))
    assert runs.summarize(work)['status'] == 'stopped'


def test_find_runs_walks_folders_but_not_into_runs(tmp_path):
    a = make_run(tmp_path / 'sweep' / 'lr-1', [(1, 1.0)])
    b = make_run(tmp_path / 'sweep' / 'lr-2', [(1, 2.0)])
    (a / 'hf').mkdir()
    (tmp_path / 'sweep' / 'mlruns').mkdir()
    assert runs.find_runs([tmp_path]) == [a, b]
    assert runs.find_runs([a]) == [a]


def test_sort_best_first_with_missing_values_last():
    rows = [{'run': 'a', 'loss': 2.0, 'reward_acc': None}, {'run': 'b', 'loss': 1.0,
            'reward_acc': 0.9}, {'run': 'c', 'loss': None, 'reward_acc': 0.5}]
    assert [r['run'] for r in runs.sort_rows(rows, 'loss')] == ['b', 'a', 'c']
    assert [r['run'] for r in runs.sort_rows(rows, 'reward_acc')] == ['b', 'c', 'a']
    assert runs.default_metric(rows) == 'loss'
    with pytest.raises(UnknownNameError, match="did you mean 'val_loss'"):
        runs.sort_rows(rows, 'val_los')


def test_the_table_leaves_out_empty_columns():
    text = runs.format_table([{'run': 'a', 'loss': 1.23456, 'status': 'finished',
                               'val_loss': None}])
    header, line = text.splitlines()
    assert header.split() == ['run', 'loss', 'status'] and line.split() == ['a', '1.235',
                                                                              'finished']
