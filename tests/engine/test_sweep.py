"""Sweep grid, folder names, the command line of a point, the SLURM script, skip and resume."""
from __future__ import annotations

import argparse
import json

import pytest

from xtuner_like.engine import sweep
from xtuner_like.errors import ConfigError, TrainingDivergedError

RECIPE = 'smollm2_135m_instruct_lora_identity'


def test_grid_points_and_their_folder_names():
    grid = sweep.parse_grid(['lr=1e-4,2e-4', 'lora_r=8,16'])
    points = sweep.grid_points(grid)
    assert [sweep.point_name(p) for p in points] == [
        'lr-1e-4_lora_r-8', 'lr-1e-4_lora_r-16', 'lr-2e-4_lora_r-8', 'lr-2e-4_lora_r-16']
    assert sweep.point_name({'model.lora.r': '8', 'system': 'Be brief/now'}) == \
        'model.lora.r-8_system-Be-brief-now'
    for bad in (['lr'], ['lr='], ['lr=1', 'lr=2']):
        with pytest.raises(ConfigError):
            sweep.parse_grid(bad)


def test_a_point_replaces_work_dir_resume_and_merges_cfg_options(tmp_path):
    argv = [RECIPE, '--sweep', 'lr=1,2', 'r=3', '--cfg-options', 'max_iters=2', 'a=b c',
            '--work-dir', 'w', '--sweep-sort', 'loss', '--seed', '3']
    assert sweep.point_argv(argv, tmp_path / 'p', ['lr=1', 'r=3'], resume=True) == [
        RECIPE, '--seed', '3', '--work-dir', str(tmp_path / 'p'), '--resume', 'auto',
        '--cfg-options', 'max_iters=2', 'a=b c', 'lr=1', 'r=3']


def args_for(tmp_path, **kw):
    base = dict(config=RECIPE, sweep=['lr=1e-4,2e-4', 'lora_r=8,16'], sweep_sort=None,
                sweep_mode='local', sweep_index=None, work_dir=str(tmp_path / 'sweep'),
                cfg_options=['max_iters=2'], resume=None, overwrite=False,
                argv=[RECIPE, '--sweep', 'lr=1e-4,2e-4', 'lora_r=8,16', '--cfg-options',
                      'max_iters=2', '--work-dir', str(tmp_path / 'sweep')])
    return argparse.Namespace(**{**base, **kw})


def test_the_slurm_script_runs_one_point_per_array_task(tmp_path):
    args = args_for(tmp_path, sweep_mode='slurm')
    points = sweep.grid_points(sweep.parse_grid(args.sweep))
    text = sweep.slurm_script(args, points, tmp_path / 'sweep')
    assert text.startswith('#!/bin/bash\n')
    assert '#SBATCH --array=0-3\n' in text and f'#SBATCH --job-name=sweep-{RECIPE}' in text
    assert 'lr-1e-4_lora_r-8 lr-1e-4_lora_r-16 lr-2e-4_lora_r-8 lr-2e-4_lora_r-16' in text
    last = text.strip().splitlines()[-1]
    assert "-m xtuner_like train" in last and "--sweep lr=1e-4,2e-4 lora_r=8,16" in last
    assert last.endswith('--sweep-mode local --sweep-index "$SLURM_ARRAY_TASK_ID"')


def test_slurm_submission_writes_the_script_and_calls_sbatch(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(sweep.shutil, 'which', lambda name: '/usr/bin/sbatch')
    monkeypatch.setattr(sweep.subprocess, 'run', lambda cmd, **kw: calls.append(cmd) or
                        argparse.Namespace(returncode=0, stdout='Submitted batch job 7\n',
                                           stderr=''))
    assert sweep.run_sweep(args_for(tmp_path, sweep_mode='auto'), lambda a: 0) == 0
    script = tmp_path / 'sweep' / 'sweep.sbatch'
    assert calls == [['sbatch', str(script)]] and '--array=0-3' in script.read_text()


def test_finished_points_are_skipped_and_stopped_ones_resume(tmp_path, capsys):
    root = tmp_path / 'sweep'
    done, stopped = root / 'lr-1e-4_lora_r-8', root / 'lr-1e-4_lora_r-16'
    for d in (done, stopped):
        d.mkdir(parents=True)
    (done / 'run.json').write_text(json.dumps({'status': 'finished'}))
    (stopped / 'run.json').write_text(json.dumps({'status': 'stopped'}))
    (stopped / 'last_checkpoint').write_text(str(stopped / 'iter_1.pth'))
    seen = []

    def train(args):
        seen.append((args.work_dir, args.resume, args.cfg_options, args.sweep_point))
        if 'lora_r=16' in args.cfg_options and 'lr=2e-4' in args.cfg_options:
            raise TrainingDivergedError('loss is nan')
        return 0

    assert sweep.run_sweep(args_for(tmp_path), train) == 1      # one point diverged
    assert [(s[0].split('/')[-1], s[1]) for s in seen] == [
        ('lr-1e-4_lora_r-16', 'auto'), ('lr-2e-4_lora_r-8', None), ('lr-2e-4_lora_r-16', None)]
    assert seen[1][2] == ['max_iters=2', 'lr=2e-4', 'lora_r=8']
    assert seen[1][3] == {'lr': '2e-4', 'lora_r': '8'}
    err = capsys.readouterr().err
    assert 'lr-1e-4_lora_r-8 finished before; skipped' in err and 'loss is nan' in err
    assert '1 of 4 runs did not finish' in err


def test_one_array_task_trains_its_point_and_a_wrong_key_fails_first(tmp_path):
    seen = []
    assert sweep.run_sweep(args_for(tmp_path, sweep_index=2), seen.append) == 0
    assert [a.sweep_point for a in seen] == [{'lr': '2e-4', 'lora_r': '8'}]
    with pytest.raises(ConfigError, match='--sweep-index 9'):
        sweep.run_sweep(args_for(tmp_path, sweep_index=9), seen.append)
    with pytest.raises(ConfigError, match="did you mean 'lora_r'"):
        sweep.run_sweep(args_for(tmp_path, sweep=['lora_rr=8']), seen.append)
    assert len(seen) == 1
