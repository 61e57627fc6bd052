"""medical map_fn: columns in, one conversation turn out."""
import pytest
from map_fn_pipeline import check_docstring

from xtuner_like.dataset.map_fns.medical import medical_map_fn
from xtuner_like.errors import DatasetFormatError

ROW, CONVERSATION = ({'instruction': '发烧', 'input': '三天', 'output': '就医'},
                     [{'input': '发烧\n三天', 'output': '就医'}])


def test_columns():
    assert medical_map_fn(ROW) == {'conversation': CONVERSATION}


def test_missing_columns_say_what_and_how():
    with pytest.raises(DatasetFormatError, match='rename the columns or pick another'):
        medical_map_fn({'unrelated': 'x'})


def test_docstring_example():
    check_docstring(medical_map_fn)
