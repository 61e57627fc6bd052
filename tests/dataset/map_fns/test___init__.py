"""Every registered map_fn shows a passing before/after example in its docstring."""
from __future__ import annotations

import doctest
import importlib

import pytest

from xtuner_like.dataset.map_fns import MAP_FNS

@pytest.mark.parametrize('name', list(MAP_FNS))
def test_docstring_shows_before_and_after(name):
    fn = MAP_FNS.get(name)
    assert '->' in fn.__doc__.splitlines()[0] and '>>>' in fn.__doc__
    module = importlib.import_module(fn.__module__)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0 and result.attempted > 0
