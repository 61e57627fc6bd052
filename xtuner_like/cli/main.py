"""`xtuner-like`: one subcommand per module; the real error is shown and the exit code is 1.

Startup stays fast: command modules import only the config package at the top; what loads
torch, transformers or mmengine's runner is imported inside each ``run()`` (a deliberate
lazy import for startup time, not to dodge a cycle). Commands that only read configs
(``set_defaults(light=True)``: list-cfg, copy-cfg, list-dataset-format) never load them.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
import traceback
from pathlib import Path

from ..errors import XtunerLikeError
from ..utils.optional_imports import OPTIONAL, without
from ..utils.quiet import filter_known_warnings


def command_modules() -> list[str]:
    """Every module of this package that defines a command (``add_parser`` + ``run``)."""
    here = Path(__file__).parent
    return sorted(p.stem for p in here.glob('*.py') if p.stem != 'main' and not p.stem.startswith('_'))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog='xtuner-like', description='Fine-tune LLMs from Python config files.')
    subparsers = parser.add_subparsers(dest='command', metavar='COMMAND', required=True)
    for name in command_modules():
        importlib.import_module(f'{__package__}.{name}').add_parser(subparsers)
    return parser


def quiet_imports() -> None:
    """Import mmengine's runner (and DeepSpeed, which it imports when installed) with stdout
    pointed at stderr: DeepSpeed logs to the stdout of import time, and stdout is for results
    (``chat`` answers) that scripts read. Lazy: light commands never pay for it."""
    with contextlib.redirect_stdout(sys.stderr):
        import mmengine.runner  # noqa: F401


def unused_optional_packages(args: argparse.Namespace) -> set[str]:
    """Optional packages the command's ``optional_packages(args)`` says it will not use."""
    used = getattr(args, 'optional_packages', None)
    return set(OPTIONAL) - used(args) if used is not None else set()


def main(argv: list[str] | None = None) -> int:
    """Run one command; return its exit code."""
    filter_known_warnings()  # before DeepSpeed's import-time warning (utils/quiet.py)
    args = build_parser().parse_args(argv)
    # Only the program's own process leaves packages out (see utils/optional_imports.py).
    with without(unused_optional_packages(args) if argv is None else ()):
        return _run(args, argv)


def _run(args: argparse.Namespace, argv: list[str] | None) -> int:
    if not (getattr(args, 'light', False) or getattr(args, 'dry_run', False)):
        quiet_imports()
    args.argv = [str(a) for a in (sys.argv[1:] if argv is None else argv)]  # for re-launching
    try:
        return int(args.run(args) or 0)
    except XtunerLikeError as exc:
        rank = os.environ.get('RANK', '0')   # under torchrun every rank may hit the same error
        line = f'error: {exc}' if rank == '0' else f'error (rank {rank}): {exc}'
        # One write of the whole line: print() writes text and newline apart, so two ranks'
        # errors could land on one line of the shared terminal.
        sys.stderr.write(line + '\n')
        sys.stderr.flush()
        return 1
    except KeyboardInterrupt:
        print('interrupted', file=sys.stderr)
        return 130
    except Exception:  # an unexpected failure: show the real traceback, never the help text
        traceback.print_exc()
        return 1


def exit_process(code: int) -> None:
    """Leave the process with ``code``. A torchrun worker (``WORLD_SIZE`` > 1) runs Python's
    exit handlers and flushes, then leaves without C++ static destructors: gloo and torch
    threads still joinable there abort a finished run ("terminate called without an active
    exception", exit -6) now and then. Any other process exits normally."""
    if int(os.environ.get('WORLD_SIZE', '1') or 1) <= 1:
        sys.exit(code)
    from ..compat import run_exit_handlers
    run_exit_handlers()   # what normal exit runs first: logging.shutdown, writers' flush
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == '__main__':
    exit_process(main())
