"""`xtuner-like copy-cfg NAME DEST_DIR`: a standalone, editable copy of a recipe."""
from __future__ import annotations

import argparse
from pathlib import Path

from ..config.dump import write_standalone
from ..config.recipes import find_config
from ..errors import ConfigError


def add_parser(subparsers) -> None:
    p = subparsers.add_parser('copy-cfg', help='copy a recipe into one standalone file')
    p.add_argument('name', help='recipe name (see list-cfg) or config path')
    p.add_argument('dest_dir', help='folder for <name>_copy.py')
    p.add_argument('--force', action='store_true', help='overwrite an existing copy')
    p.set_defaults(run=run, light=True)


def run(args: argparse.Namespace) -> int:
    dest = Path(args.dest_dir)
    existing = dest / f'{find_config(args.name).stem}_copy.py'
    if existing.exists() and not args.force:  # it may hold the user's edits
        raise ConfigError(f'{existing} already exists; pass --force to overwrite it')
    out = write_standalone(args.name, dest)
    print(f'copied {args.name} to {out}')
    return 0
