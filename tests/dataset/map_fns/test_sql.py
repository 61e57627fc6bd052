"""sql map_fn: columns in, one conversation turn out."""
import pytest
from map_fn_pipeline import check_docstring

from xtuner_like.dataset.map_fns.sql import sql_map_fn
from xtuner_like.errors import DatasetFormatError

ROW, CONVERSATION = ({'context': 'CREATE TABLE t (a INT)', 'question': 'Count', 'answer': 'SELECT 1'},
                     [{'input': 'CREATE TABLE t (a INT)\nCount', 'output': 'SELECT 1'}])


def test_columns():
    assert sql_map_fn(ROW) == {'conversation': CONVERSATION}


def test_missing_columns_say_what_and_how():
    with pytest.raises(DatasetFormatError, match='rename the columns or pick another'):
        sql_map_fn({'unrelated': 'x'})


def test_docstring_example():
    check_docstring(sql_map_fn)
