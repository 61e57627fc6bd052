"""`xtuner-like runs [DIR ...]`: the runs under the work dirs side by side, best first.

Reads what training already wrote (``scalars.json``, ``run.json``, ``eval_results.jsonl``);
``--plot`` overlays every run's loss and validation loss in one picture.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..errors import ConfigError


def add_parser(subparsers) -> None:
    p = subparsers.add_parser('runs', help='one table of the runs under work dirs')
    p.add_argument('dirs', nargs='*', default=['work_dirs'], metavar='DIR',
                   help='work dirs, or folders holding them (default: work_dirs)')
    p.add_argument('--sort', metavar='METRIC',
                   help='best first by: loss, val_loss, reward_acc, tokens_per_sec, wall_s, '
                   'steps or an eval/<task>/<metric> column (default: val_loss, else loss)')
    p.add_argument('--plot', metavar='PNG', nargs='?', const='runs.png',
                   help='also draw the runs\' loss and validation curves into PNG '
                   '(default runs.png)')
    p.add_argument('--json', action='store_true', help='print the rows as JSON lines')
    p.set_defaults(run=run, light=True)


def plot_runs(rows: list[dict], path: Path) -> bool:
    """Training loss and validation loss of every run, overlaid; False without matplotlib."""
    try:
        import matplotlib
    except ImportError:
        return False
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    panels = [('training loss', 'loss'), ('validation loss', 'val_loss')]
    panels = [p for p in panels if any(r['curves'][p[1]] for r in rows)] or panels[:1]
    fig, axes = plt.subplots(len(panels), 1, figsize=(8, 3.2 * len(panels)), squeeze=False)
    for ax, (title, key) in zip(axes[:, 0], panels):
        for row in rows:
            points = row['curves'][key]
            if points:
                steps, values = zip(*points)
                ax.plot(steps, values, marker='.' if len(points) < 50 else None,
                        label=Path(row['run']).name)
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    axes[-1, 0].set_xlabel('iteration')
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def run(args: argparse.Namespace) -> int:
    from ..engine.tracking_runs import (default_metric, find_runs, format_table, sort_rows,
                                        summarize)
    missing = [d for d in args.dirs if not Path(d).is_dir()]
    if missing:
        raise ConfigError(f'runs: no folder {missing[0]}; give work dirs or folders holding '
                          'them (default: work_dirs)')
    rows = [summarize(d) for d in find_runs(args.dirs)]
    if not rows:
        raise ConfigError(f'runs: no training runs under {", ".join(args.dirs)} (a run leaves '
                          '<time>/vis_data/scalars.json or run.json in its work dir)')
    rows = sort_rows(rows, args.sort or default_metric(rows))
    if args.json:
        for row in rows:
            print(json.dumps({k: v for k, v in row.items() if k != 'curves'}))
    else:
        print(format_table(rows))
    if args.plot:
        if not plot_runs(rows, Path(args.plot)):
            raise ConfigError('runs --plot: matplotlib is not installed '
                              '(pip install -r requirements/plot.txt)')
        print(f'curves of {len(rows)} runs written to {args.plot}')
    return 0
