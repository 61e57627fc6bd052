"""`xtuner-like list-dataset-format`: the registered dataset_map_fns, one line each."""
from __future__ import annotations

import argparse
import inspect


def add_parser(subparsers) -> None:
    p = subparsers.add_parser('list-dataset-format',
                              help='list dataset formats (dataset_map_fn names)')
    p.add_argument('-v', '--verbose', action='store_true',
                   help='show the whole docstring (with its before/after example)')
    p.set_defaults(run=run, light=True)


def run(args: argparse.Namespace) -> int:
    from ..dataset.map_fns import MAP_FNS
    items = MAP_FNS.items()
    width = max(len(name) for name, _ in items)
    for name, fn in items:
        doc = inspect.getdoc(fn) or ''
        if args.verbose:
            print(f'{name}:\n  ' + doc.replace('\n', '\n  ') + '\n')
        else:
            print(f'{name:<{width}}  {doc.splitlines()[0] if doc else ""}')
    return 0
