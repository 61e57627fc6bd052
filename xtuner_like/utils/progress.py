"""Progress bars for people at a terminal; nothing extra in logs, pipes or CI."""
from __future__ import annotations

import sys
from typing import Iterable, Iterator, TypeVar

T = TypeVar('T')


def on_terminal() -> bool:
    """Whether stderr is a terminal: only then do progress bars (which redraw a line) help."""
    return bool(getattr(sys.stderr, 'isatty', None) and sys.stderr.isatty())


def progress(items: Iterable[T], desc: str, total: int | None = None,
             enabled: bool | None = None) -> Iterator[T]:
    """``items`` with a tqdm bar on stderr when it is a terminal (``enabled=None``)."""
    if not (on_terminal() if enabled is None else enabled):
        yield from items
        return
    from tqdm import tqdm  # installed with datasets
    yield from tqdm(items, desc=desc, total=total, file=sys.stderr, leave=False,
                    dynamic_ncols=True)
