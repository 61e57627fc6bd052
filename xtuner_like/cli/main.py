"""`xtuner-like`: one subcommand per module; the real error is shown and the exit code is 1."""
from __future__ import annotations

import argparse
import importlib
import sys
import traceback

from ..errors import XtunerLikeError

COMMANDS = ('train', 'list_cfg', 'copy_cfg')


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog='xtuner-like', description='Fine-tune LLMs from Python config files.')
    subparsers = parser.add_subparsers(dest='command', metavar='COMMAND', required=True)
    for name in COMMANDS:
        importlib.import_module(f'{__package__}.{name}').add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; return its exit code."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except XtunerLikeError as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print('interrupted', file=sys.stderr)
        return 130
    except Exception:  # an unexpected failure: show the real traceback, never the help text
        traceback.print_exc()
        return 1


if __name__ == '__main__':
    sys.exit(main())
