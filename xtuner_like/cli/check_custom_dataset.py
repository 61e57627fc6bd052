"""`xtuner-like check-custom-dataset CONFIG`: every bad row of a recipe's data, and statistics."""
from __future__ import annotations

import argparse
import sys

from mmengine.config import DictAction


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        'check-custom-dataset',
        help="run a recipe's data pipeline over every row: report bad rows and statistics")
    p.add_argument('config', help='config path or shipped recipe name (see list-cfg)')
    p.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                   metavar='KEY=VALUE', help='override config values, e.g. data_files=my.jsonl')
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..dataset.check import check_dataset, format_report
    from ..engine.config import load_config
    cfg = load_config(args.config, dict(args.cfg_options or {}))
    spec = cfg.to_dict()['train_dataloader']['dataset']
    report = check_dataset(spec, progress=lambda msg: print(msg, file=sys.stderr))
    print(format_report(report))
    if not report.ok:
        print(f'FAILED: {len(report.bad_rows)} bad row(s) of {report.rows}', file=sys.stderr)
        return 1
    print(f'OK: all {report.rows} rows pass')
    return 0
