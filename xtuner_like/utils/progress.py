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


class Steps:
    """A bar over the named stages of a long job (loading, merging, saving), on a terminal.

    ``step = Steps('merge', ['load base', 'apply adapter', 'save']); step('load base')``
    shows ``merge: 1/3 load base [00:04]``; not on a terminal it draws nothing.
    """

    def __init__(self, desc: str, names: list[str], enabled: bool | None = None):
        self._bar = None
        self._names = list(names)
        if on_terminal() if enabled is None else enabled:
            from tqdm import tqdm
            self._bar = tqdm(total=len(names), desc=desc, file=sys.stderr, leave=False,
                             bar_format='{desc}: {n_fmt}/{total_fmt}{postfix} [{elapsed}]')

    def __call__(self, name: str) -> None:
        """Mark the start of stage ``name`` (one of the names given)."""
        if self._bar is not None:
            self._bar.n = self._names.index(name)
            self._bar.set_postfix_str(name)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.n = len(self._names)
            self._bar.close()
