"""dataset_map_fn: one module per source format, each a pure row -> conversation function."""
from __future__ import annotations

from typing import Callable

from ...registry import MAP_FNS
from . import alpaca, openai, pretrain  # noqa: F401  (registers them)


def get_map_fn(name_or_fn: str | Callable | None) -> Callable[[dict], dict] | None:
    """A registered map_fn by name, a callable as is, or None (rows already conversations)."""
    if name_or_fn is None or callable(name_or_fn):
        return name_or_fn
    return MAP_FNS.get(name_or_fn)
