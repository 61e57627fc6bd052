"""tiny_codes map_fn: columns in, one conversation turn out."""
import pytest
from map_fn_pipeline import check_docstring

from xtuner_like.dataset.map_fns.tiny_codes import tiny_codes_map_fn
from xtuner_like.errors import DatasetFormatError

ROW, CONVERSATION = ({'prompt': 'p', 'response': 'r', 'idx': 3},
                     [{'input': 'p', 'output': 'r'}])


def test_columns():
    assert tiny_codes_map_fn(ROW) == {'conversation': CONVERSATION}


def test_missing_columns_say_what_and_how():
    with pytest.raises(DatasetFormatError, match='rename the columns or pick another'):
        tiny_codes_map_fn({'unrelated': 'x'})


def test_docstring_example():
    check_docstring(tiny_codes_map_fn)
