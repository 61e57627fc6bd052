"""`xtuner-like list-cfg [-p PATTERN] [--deepspeed]`: the shipped recipe or DeepSpeed preset names."""
from __future__ import annotations

import argparse

from ..config import list_recipes
from ..config.recipes import list_presets


def add_parser(subparsers) -> None:
    p = subparsers.add_parser('list-cfg', help='list shipped recipes')
    p.add_argument('-p', '--pattern', help='substring or glob to filter names')
    p.add_argument('--deepspeed', action='store_true',
                   help='list the DeepSpeed presets (for train --deepspeed) instead')
    p.set_defaults(run=run, light=True)


def run(args: argparse.Namespace) -> int:
    if getattr(args, 'deepspeed', False):
        names, kind = list_presets(args.pattern), 'DeepSpeed preset'
    else:
        names, kind = list_recipes(args.pattern), 'recipe'
    print('\n'.join(names) if names else f'no {kind} matches {args.pattern!r}')
    return 0 if names else 1
