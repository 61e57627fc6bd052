"""``python -m xtuner_like.launch.torchrun ARGS``: torch.distributed.run, minus its traceback.

When a worker fails it has printed its own one-line ``error:`` (or its traceback); torchrun
then raises ``ChildFailedError`` and the interpreter prints a second, longer traceback of the
launcher itself that hides the real error. Here that ends in one line and exit code 1.
"""
from __future__ import annotations

import sys


def run(argv: list[str]) -> int:
    """Run torchrun with ``argv``; 0, or 1 (one summary line) when a worker failed."""
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import main
    try:
        main(argv)
    except ChildFailedError as exc:
        rank, failure = exc.get_first_failure()
        print(f'error: {len(exc.failures)} worker process(es) failed, first rank {rank} '
              f'(exit code {failure.exitcode}); its error is printed above', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(run(sys.argv[1:]))
