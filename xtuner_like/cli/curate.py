"""`xtuner-like curate INPUT... -o OUT_DIR`: format, clean, dedup, scrub and split data."""
from __future__ import annotations

import argparse
import sys

from ..config import add_cfg_options


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        'curate', help='curate data files: format, clean, exact/near dedup, decontaminate, '
                       'redact personal data, split; writes rows and report.md/report.json')
    p.add_argument('inputs', nargs='+', metavar='INPUT',
                   help='data files in any format the pipeline reads (json, jsonl, parquet, '
                        'csv, txt; every dataset_map_fn format)')
    p.add_argument('-o', '--out-dir', required=True, help='folder for the curated rows and report')
    p.add_argument('--config', help='a curate config holding changes to '
                                    'configs/curate/default.py')
    add_cfg_options(p)
    p.add_argument('--dry-run', action='store_true',
                   help='print the report; write no data')
    p.add_argument('--engine', choices=('datasets', 'ray'),
                   help='where stages run (default: engine.type of the config)')
    p.add_argument('--num-proc', type=int, help='worker processes (engine.num_proc)')
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..curate.config import load_curate_config
    from ..curate.pipeline import curate
    from ..config import parse_options
    options = parse_options(args.cfg_options)
    if args.engine:
        options['engine.type'] = args.engine
    if args.num_proc:
        options['engine.num_proc'] = args.num_proc
    cfg = load_curate_config(args.config, options)
    report = curate(args.inputs, None if args.dry_run else args.out_dir, cfg,
                    dry_run=args.dry_run)
    if args.dry_run:
        print(report.to_markdown())
    else:
        print(f'curated {report.rows_in} rows into {report.rows_out}: '
              + ', '.join(report.outputs) + f'; report in {args.out_dir}/report.md')
    sys.stdout.flush()
    return 0
