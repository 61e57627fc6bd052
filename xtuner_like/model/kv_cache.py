"""The KV cache of a forward pass: its argument name, and the row/column surgery that
continuous batching needs. One home for transformers' cache details.

The argument is ``cache`` since transformers 5.2x, before that ``past_key_values`` (still
accepted there with a deprecation warning). A cache holds, per layer, keys and values of shape
``[batch, kv heads, tokens, head dim]``; the helpers below select rows, drop leading columns
and stack two caches' rows, for caches whose layers all grow by concatenation
(:func:`splicable`): a sliding-window or static layer keeps its own bookkeeping of positions,
so it is left alone.
"""
from __future__ import annotations

import inspect
from functools import lru_cache
from typing import Any, Callable

import torch


@lru_cache(maxsize=None)
def _cache_arg(model_class: type) -> str:
    names = inspect.signature(model_class.forward).parameters
    return 'cache' if 'cache' in names else 'past_key_values'


def with_cache(model: Any, cache: Any) -> dict[str, Any]:
    """Keyword arguments passing ``cache`` to ``model``'s forward (PEFT wrappers included)."""
    base = model.get_base_model() if hasattr(model, 'get_base_model') else model
    return {_cache_arg(type(base)): cache}


def cache_of(output: Any) -> Any:
    """The KV cache a forward pass returned."""
    cache = getattr(output, 'cache', None)
    return cache if cache is not None else getattr(output, 'past_key_values', None)


def splicable(cache: Any) -> bool:
    """Whether every layer of ``cache`` is a plain growing one (rows and columns may be cut
    and stacked); False for sliding-window, static, quantized or offloaded layers."""
    from transformers.cache_utils import DynamicLayer
    layers = getattr(cache, 'layers', None)
    return bool(layers) and not getattr(cache, 'offloading', False) and all(
        type(layer) is DynamicLayer and layer.is_initialized for layer in layers)


def _map(cache: Any, fn: Callable[[torch.Tensor], torch.Tensor]) -> None:
    for layer in cache.layers:
        layer.keys, layer.values = fn(layer.keys), fn(layer.values)


def select_rows(cache: Any, rows: torch.Tensor) -> None:
    """Keep the batch rows ``rows`` (indices, in that order) of a :func:`splicable` cache."""
    _map(cache, lambda t: t.index_select(0, rows))


def drop_columns(cache: Any, count: int) -> None:
    """Drop the first ``count`` token columns (padding no row attends to any more)."""
    if count:
        _map(cache, lambda t: t[:, :, count:])


def stack_rows(cache: Any, other: Any) -> None:
    """Append ``other``'s rows to ``cache``'s, the shorter left-padded with zero columns
    (callers mask them out); both must be :func:`splicable`."""
    for layer, extra in zip(cache.layers, other.layers):
        for name in ('keys', 'values'):
            a, b = getattr(layer, name), getattr(extra, name)
            width = max(a.shape[2], b.shape[2])
            out = a.new_zeros((a.shape[0] + b.shape[0], *a.shape[1:2], width, a.shape[3]))
            out[:a.shape[0], :, width - a.shape[2]:] = a
            out[a.shape[0]:, :, width - b.shape[2]:] = b
            setattr(layer, name, out)
