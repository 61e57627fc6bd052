"""Shared column checks of map_fns."""
import pytest

from xtuner_like.dataset.map_fns._columns import first_present, join, present, text_fields
from xtuner_like.errors import DatasetFormatError


def test_text_fields():
    assert text_fields({'q': 'a', 'c': None}, 'fmt', ('q',), ('c',)) == ['a', '']
    with pytest.raises(DatasetFormatError, match=r"fmt row needs .*\['q'\].*found \['q', 'x'\]"):
        text_fields({'x': 'y', 'q': ' '}, 'fmt', ('q',))
    with pytest.raises(DatasetFormatError, match='must be text'):
        text_fields({'q': 'a', 'c': 3}, 'fmt', ('q',), ('c',))


def test_small_helpers():
    assert first_present({'b': 1, 'c': 2}, 'a', 'c', 'b') == 'c'
    assert first_present({}, 'a') is None
    assert join('a', '', 'b') == 'a\nb' and join('a', 'b', sep=' ') == 'a b'
    assert present({'a': None, 'b': 1}) == ['b']
