"""`xtuner-like copy-cfg NAME DEST_DIR`: a standalone, editable copy of a recipe."""
from __future__ import annotations

import argparse
from pathlib import Path

from ..config.dump import write_standalone


def add_parser(subparsers) -> None:
    p = subparsers.add_parser('copy-cfg', help='copy a recipe into one standalone file')
    p.add_argument('name', help='recipe name (see list-cfg) or config path')
    p.add_argument('dest_dir', help='folder for <name>_copy.py')
    p.set_defaults(run=run, light=True)


def run(args: argparse.Namespace) -> int:
    dest = Path(args.dest_dir)
    dest.mkdir(parents=True, exist_ok=True)
    out = write_standalone(args.name, dest)
    print(f'copied {args.name} to {out}')
    return 0
