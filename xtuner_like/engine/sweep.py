"""Sweeps: ``train CONFIG --sweep lr=1e-4,2e-4 lora_r=8,16`` trains every point of the grid.

Each point is one ordinary ``train`` run in ``<work-dir>/<values>`` (e.g.
``lr-1e-4_lora_r-8``), with the point's values added to ``--cfg-options``. The points share
the processed dataset cache (its key holds only what changes the data). A finished point
(``run.json`` says so) is skipped and a point with checkpoints continues with
``--resume auto``, so running the same command again resumes a stopped sweep. At the end the
runs table of the sweep is printed, best first by ``--sweep-sort``.

Where ``sbatch`` exists the grid goes to SLURM as a job array instead: one array task per
point, each running the same command with ``--sweep-index`` (so skipping and resuming work
the same way there).
"""
from __future__ import annotations

import argparse
import itertools
import re
import shlex
import shutil
import subprocess
import sys
import traceback
from pathlib import Path
from typing import Callable

from ..config import load_config, parse_options
from ..errors import ConfigError, XtunerLikeError
from .tracking_record import read_run
from .tracking_runs import default_metric, find_runs, format_table, sort_rows, summarize

CHECKPOINT_POINTER = 'last_checkpoint'
# Flags of `train` a point's own command line replaces (value count; '+' = one or more).
POINT_FLAGS = {'--sweep': '+', '--sweep-sort': 1, '--sweep-mode': 1, '--sweep-index': 1,
               '--work-dir': 1, '--resume': 1, '--cfg-options': '+'}


def parse_grid(items: list[str]) -> list[tuple[str, list[str]]]:
    """``['lr=1e-4,2e-4', 'lora_r=8,16']`` -> ``[('lr', ['1e-4', '2e-4']), ...]``.

    A value holding commas (a list) is written in brackets: ``target=[q_proj,v_proj],[...]``
    is not supported; sweep such keys through a knob instead.
    """
    grid = []
    for item in items:
        key, sep, text = item.partition('=')
        values = [v.strip() for v in text.split(',') if v.strip()]
        if not sep or not key or not values:
            raise ConfigError(f'--sweep {item!r}: write KEY=VALUE1,VALUE2,...')
        if key in dict(grid):
            raise ConfigError(f'--sweep names {key!r} twice')
        grid.append((key, values))
    return grid


def grid_points(grid: list[tuple[str, list[str]]]) -> list[dict[str, str]]:
    """Every combination, the last key varying fastest."""
    keys = [k for k, _ in grid]
    return [dict(zip(keys, combo)) for combo in itertools.product(*(v for _, v in grid))]


def point_name(point: dict[str, str]) -> str:
    """``{'lr': '1e-4', 'lora_r': '8'}`` -> ``'lr-1e-4_lora_r-8'`` (a safe folder name)."""
    return '_'.join(re.sub(r'[^A-Za-z0-9._+-]', '-', f'{k}-{v}') for k, v in point.items())


def strip_flags(argv: list[str], flags: dict) -> tuple[list[str], list[str]]:
    """``argv`` without ``flags`` (and their values), and the values of ``--cfg-options``."""
    out, options, i = [], [], 0
    while i < len(argv):
        flag = argv[i].split('=', 1)[0]
        if flag not in flags:
            out.append(argv[i])
            i += 1
            continue
        if '=' in argv[i]:
            values, i = [argv[i].split('=', 1)[1]], i + 1
        elif flags[flag] == '+':
            j = i + 1
            while j < len(argv) and not argv[j].startswith('--'):
                j += 1
            values, i = argv[i + 1:j], j
        else:
            values, i = argv[i + 1:i + 1 + flags[flag]], i + 1 + flags[flag]
        if flag == '--cfg-options':
            options += values
    return out, options


def point_argv(argv: list[str], work_dir: Path, options: list[str],
               resume: bool) -> list[str]:
    """The ``train`` command line of one point (for a relaunch under torchrun)."""
    rest, given = strip_flags(argv, POINT_FLAGS)
    return [*rest, '--work-dir', str(work_dir), *(['--resume', 'auto'] if resume else []),
            '--cfg-options', *given, *options]


def sweep_root(args: argparse.Namespace) -> Path:
    return Path(args.work_dir or Path('work_dirs') / Path(args.config).stem)


def run_point(args: argparse.Namespace, point: dict[str, str], root: Path,
              train: Callable[[argparse.Namespace], int]) -> int | None:
    """Train one point (None: it had finished before); its exit code."""
    work_dir = root / point_name(point)
    record = read_run(work_dir)
    if record.get('status') == 'finished':
        print(f'sweep: {work_dir.name} finished before; skipped', file=sys.stderr)
        return None
    resume = (work_dir / CHECKPOINT_POINTER).is_file()
    options = [f'{k}={v}' for k, v in point.items()]
    print(f'sweep: {work_dir.name}' + (' (resumed)' if resume else ''), file=sys.stderr)
    point_args = argparse.Namespace(**vars(args))
    point_args.sweep, point_args.sweep_index = None, None
    point_args.sweep_point = point
    point_args.work_dir = str(work_dir)
    point_args.resume = 'auto' if resume else None
    point_args.overwrite = False
    point_args.cfg_options = [*args.cfg_options, *options]
    point_args.argv = point_argv(list(getattr(args, 'argv', None) or []), work_dir, options,
                                 resume)
    try:
        return int(train(point_args) or 0)
    except KeyboardInterrupt:
        raise
    except XtunerLikeError as exc:   # e.g. diverged: the next point may do better
        print(f'sweep: {work_dir.name} failed: {exc}', file=sys.stderr)
    except Exception:  # noqa: BLE001 - show it, go on with the other points
        traceback.print_exc()
    return 1


def slurm_script(args: argparse.Namespace, points: list[dict], root: Path) -> str:
    """The text of a SLURM job array script: task i trains point i of the grid."""
    argv = [a for a in (getattr(args, 'argv', None) or []) if a]
    command = [sys.executable, '-m', 'xtuner_like', 'train',
               *strip_flags(argv, {'--sweep-mode': 1, '--sweep-index': 1})[0],
               '--sweep-mode', 'local', '--sweep-index']
    names = ' '.join(point_name(p) for p in points)
    return '\n'.join([
        '#!/bin/bash',
        f'#SBATCH --job-name=sweep-{Path(args.config).stem}',
        f'#SBATCH --array=0-{len(points) - 1}',
        f'#SBATCH --output={root.resolve()}/slurm-%A_%a.out',
        '# One array task per grid point (in this order): ' + names,
        '# A finished point is skipped and a stopped one resumes: resubmit to continue.',
        '# Add #SBATCH lines for GPUs, time and partition; NPROC_PER_NODE=N trains a point',
        '# on N processes.',
        f'cd {shlex.quote(str(Path.cwd()))}',
        shlex.join(command) + ' "$SLURM_ARRAY_TASK_ID"', ''])


def submit_slurm(args: argparse.Namespace, points: list[dict], root: Path) -> int:
    root.mkdir(parents=True, exist_ok=True)
    script = root / 'sweep.sbatch'
    script.write_text(slurm_script(args, points, root), encoding='utf-8')
    done = subprocess.run(['sbatch', str(script)], capture_output=True, text=True)
    sys.stderr.write(done.stdout + done.stderr)
    if done.returncode == 0:
        print(f'sweep: {len(points)} runs submitted ({script}); when they end: '
              f'xtuner-like runs {root}', file=sys.stderr)
    return done.returncode


def runs_table(root: Path, metric: str | None) -> str:
    """The runs table of a sweep folder, best first."""
    rows = [summarize(d) for d in find_runs([root])]
    for row in rows:
        row['run'] = Path(row['run']).name
    rows = sort_rows(rows, metric or default_metric(rows))
    return format_table(rows)


def run_sweep(args: argparse.Namespace, train: Callable[[argparse.Namespace], int]) -> int:
    """Train the grid of ``args.sweep`` (see the module doc); 0 when every point finished."""
    grid = parse_grid(args.sweep)
    points = grid_points(grid)
    root = sweep_root(args)
    # A wrong key fails here, before any point starts.
    load_config(args.config, {**parse_options(args.cfg_options),
                              **parse_options([f'{k}={v}' for k, v in points[0].items()])})
    if args.sweep_index is not None:
        if not 0 <= args.sweep_index < len(points):
            raise ConfigError(f'--sweep-index {args.sweep_index}: the grid has {len(points)} '
                              'points')
        return run_point(args, points[args.sweep_index], root, train) or 0
    if args.sweep_mode == 'slurm' or (args.sweep_mode == 'auto' and shutil.which('sbatch')):
        return submit_slurm(args, points, root)
    codes = [run_point(args, point, root, train) for point in points]
    print(runs_table(root, args.sweep_sort))
    failed = sum(1 for c in codes if c)
    if failed:
        print(f'sweep: {failed} of {len(points)} runs did not finish', file=sys.stderr)
    return 1 if failed else 0
