"""code_alpaca map_fn: columns in, one conversation turn out."""
import pytest
from map_fn_pipeline import check_docstring

from xtuner_like.dataset.map_fns.code_alpaca import code_alpaca_map_fn
from xtuner_like.errors import DatasetFormatError

ROW, CONVERSATION = ({'instruction': 'Sort', 'input': '[2, 1]', 'output': '[1, 2]'},
                     [{'input': 'Sort\n[2, 1]', 'output': '[1, 2]'}])


def test_columns():
    assert code_alpaca_map_fn(ROW) == {'conversation': CONVERSATION}


def test_missing_columns_say_what_and_how():
    with pytest.raises(DatasetFormatError, match='rename the columns or pick another'):
        code_alpaca_map_fn({'unrelated': 'x'})


def test_docstring_example():
    check_docstring(code_alpaca_map_fn)
