"""`xtuner-like check-custom-dataset CONFIG`: every bad row of a recipe's data, and statistics."""
from __future__ import annotations

import argparse
import sys

from ..config import add_cfg_options, dataset_spec, load_config, parse_options


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        'check-custom-dataset',
        help="run a recipe's data pipeline over every row: report bad rows and statistics")
    p.add_argument('config', help='config path or shipped recipe name (see list-cfg)')
    add_cfg_options(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    # Imported here, not at the top: the pipeline loads torch and transformers.
    from ..dataset.check import check_dataset, closing_line, format_report
    cfg = load_config(args.config, parse_options(args.cfg_options))
    spec = dataset_spec(cfg)
    report = check_dataset(spec, progress=lambda msg: print(msg, file=sys.stderr))
    print(format_report(report))
    line = closing_line(report)
    if line.startswith('FAILED'):
        print(line, file=sys.stderr)
        return 1
    print(line)
    return 0
