"""`xtuner-like list-cfg [-p PATTERN]`: the shipped recipe names."""
from __future__ import annotations

import argparse


def add_parser(subparsers) -> None:
    p = subparsers.add_parser('list-cfg', help='list shipped recipes')
    p.add_argument('-p', '--pattern', help='substring or glob to filter names')
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..engine.recipes import list_recipes
    names = list_recipes(args.pattern)
    print('\n'.join(names) if names else f'no recipe matches {args.pattern!r}')
    return 0 if names else 1
