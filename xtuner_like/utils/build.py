"""The one helper that turns a config dict spec (``dict(type=..., **kwargs)``) into an object."""
from __future__ import annotations

import difflib
import inspect
from typing import Any, Callable

from mmengine.utils import get_object_from_string

from ..errors import ConfigError


def locate(type_: Any) -> Callable:
    """Return the callable named by ``type_`` (already a callable, or a dotted path string)."""
    if callable(type_):
        return type_
    obj = get_object_from_string(type_) if isinstance(type_, str) else None
    if obj is None:
        raise ConfigError(f"type={type_!r} is neither a callable nor an importable dotted path "
                          "such as 'peft.LoraConfig'")
    return obj


def unknown_kwargs(fn: Callable, kwargs: dict) -> list[str]:
    """Keyword names in ``kwargs`` that ``fn`` does not accept, with close matches."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return []
    names = [n for n, p in params.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        # **kwargs passed on (e.g. to from_pretrained) take any name, so only a near miss of
        # a declared name, or of one the function lists in ``forwarded_kwargs``, is reported.
        names += list(getattr(fn, 'forwarded_kwargs', ()))
        problems = []
        for key in kwargs:
            close = [] if key in names else difflib.get_close_matches(key, names, n=1,
                                                                       cutoff=0.8)
            if close:
                problems.append(f'{key!r}; did you mean {close[0]!r}?')
        return problems
    problems = []
    for key in kwargs:
        if key not in names:
            close = difflib.get_close_matches(key, names, n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else f'; accepted: {", ".join(names)}'
            problems.append(f'{key!r}{hint}')
    return problems


def build(spec: Any, **default_kwargs: Any) -> Any:
    """Build ``dict(type=..., **kwargs)``; anything that is not such a dict is returned as is.

    ``default_kwargs`` fill arguments the spec does not set. Nested specs are not built: a
    component that takes a spec builds it itself, so it controls when (e.g. after the rank-0
    barrier).
    """
    if not (isinstance(spec, dict) and 'type' in spec):
        return spec
    kwargs = {**default_kwargs, **{k: v for k, v in spec.items() if k != 'type'}}
    fn = locate(spec['type'])
    bad = unknown_kwargs(fn, kwargs)
    if bad:
        raise ConfigError(f'{getattr(fn, "__qualname__", fn)} got unknown argument(s): '
                          + ', '.join(bad))
    return fn(**kwargs)
