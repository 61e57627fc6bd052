"""crime_kg map_fn: columns in, one conversation turn out."""
import pytest
from map_fn_pipeline import check_docstring

from xtuner_like.dataset.map_fns.crime_kg import crime_kg_map_fn
from xtuner_like.errors import DatasetFormatError

ROW, CONVERSATION = ({'question': 'q', 'answer': 'a'}, [{'input': 'q', 'output': 'a'}])


def test_columns():
    assert crime_kg_map_fn(ROW) == {'conversation': CONVERSATION}


def test_missing_columns_say_what_and_how():
    with pytest.raises(DatasetFormatError, match='rename the columns or pick another'):
        crime_kg_map_fn({'unrelated': 'x'})


def test_docstring_example():
    check_docstring(crime_kg_map_fn)
