"""The KV-cache argument of a forward pass: ``cache`` since transformers 5.2x, before that
``past_key_values`` (still accepted there with a deprecation warning). One home for the name."""
from __future__ import annotations

import inspect
from functools import lru_cache
from typing import Any


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
