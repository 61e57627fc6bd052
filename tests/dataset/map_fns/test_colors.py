"""colors map_fn: columns in, one conversation turn out."""
import pytest
from map_fn_pipeline import check_docstring

from xtuner_like.dataset.map_fns.colors import colors_map_fn
from xtuner_like.errors import DatasetFormatError

ROW, CONVERSATION = ({'description': 'warm red', 'color': '#ff2200'},
                     [{'input': 'warm red', 'output': '#ff2200'}])


def test_columns():
    assert colors_map_fn(ROW) == {'conversation': CONVERSATION}


def test_missing_columns_say_what_and_how():
    with pytest.raises(DatasetFormatError, match='rename the columns or pick another'):
        colors_map_fn({'unrelated': 'x'})


def test_docstring_example():
    check_docstring(colors_map_fn)
