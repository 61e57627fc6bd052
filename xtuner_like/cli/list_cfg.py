"""`xtuner-like list-cfg [-p PATTERN] [--deepspeed]`: the shipped recipe or DeepSpeed preset names."""
from __future__ import annotations

import argparse


def add_parser(subparsers) -> None:
    p = subparsers.add_parser('list-cfg', help='list shipped recipes')
    p.add_argument('-p', '--pattern', help='substring or glob to filter names')
    p.add_argument('--deepspeed', action='store_true',
                   help='list the DeepSpeed presets (for train --deepspeed) instead')
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..engine.recipes import list_recipes
    if getattr(args, 'deepspeed', False):
        from ..engine.deepspeed import list_presets
        names, kind = list_presets(args.pattern), 'DeepSpeed preset'
    else:
        names, kind = list_recipes(args.pattern), 'recipe'
    print('\n'.join(names) if names else f'no {kind} matches {args.pattern!r}')
    return 0 if names else 1
