"""dataset_map_fn: one module per source format, each a pure row -> conversation function.

Modules whose name starts with ``_`` hold helpers shared by several formats.
"""
from __future__ import annotations

from typing import Callable

from ...registry import MAP_FNS
from . import (alpaca, alpaca_zh, arxiv, code_alpaca, colors, crime_kg, law,  # noqa: F401
               medical, moss_sft, msagent_react, oasst1, openai, openorca, pretrain, sharegpt,
               preference, sql, stack_exchange, tiny_codes, wizardlm)


def get_map_fn(name_or_fn: str | Callable | None) -> Callable[[dict], dict] | None:
    """A registered map_fn by name, a callable as is, or None (rows already conversations)."""
    if name_or_fn is None or callable(name_or_fn):
        return name_or_fn
    return MAP_FNS.get(name_or_fn)
