"""``python -m xtuner_like.launch.torchrun ARGS``: torch.distributed.run, minus its traceback.

When a worker fails it has printed its own one-line ``error:`` (or its traceback); torchrun
then raises ``ChildFailedError`` and the interpreter prints a second, longer traceback of the
launcher itself that hides the real error. Here that ends in one line and exit code 1. A
signal (SIGTERM, SIGINT ...) stops the workers (torchrun's own handler) and ends here in one
line and 128 + the signal's number.

Started by ``xtuner-like train`` (launch/distributed.py), it also ends when that process dies,
even by ``kill -9``: the workers must not outlive the command that started them.
"""
from __future__ import annotations

import ctypes
import os
import signal
import sys

PARENT_ENV = 'XTUNER_LIKE_LAUNCHER_PID'   # set by launch/distributed.py's launcher
PR_SET_PDEATHSIG = 1


def die_with_parent(env=None) -> bool:
    """SIGTERM to this process when the launcher named by ``PARENT_ENV`` dies (Linux only);
    whether it was set. Exits at once when the launcher is already gone."""
    env = os.environ if env is None else env
    parent = env.get(PARENT_ENV)
    if not parent or not sys.platform.startswith('linux'):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
            return False
    except (OSError, AttributeError):
        return False
    if os.getppid() != int(parent):   # it died before the line above
        sys.exit(128 + signal.SIGTERM)
    return True


def run(argv: list[str]) -> int:
    """Run torchrun with ``argv``; 0, 1 (one summary line) when a worker failed, or
    128 + N when signal N stopped the run."""
    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import main
    try:
        main(argv)
    except ChildFailedError as exc:
        rank, failure = exc.get_first_failure()
        print(f'error: {len(exc.failures)} worker process(es) failed, first rank {rank} '
              f'(exit code {failure.exitcode}); its error is printed above', file=sys.stderr)
        return 1
    except SignalException as exc:
        name = signal.Signals(exc.sigval).name
        print(f'stopped by {name}: the worker processes were ended', file=sys.stderr)
        return 128 + int(exc.sigval)
    return 0


if __name__ == '__main__':
    die_with_parent()
    sys.exit(run(sys.argv[1:]))
