"""arxiv map_fn: columns in, one conversation turn out."""
import pytest
from map_fn_pipeline import check_docstring

from xtuner_like.dataset.map_fns.arxiv import arxiv_map_fn
from xtuner_like.errors import DatasetFormatError

ROW, CONVERSATION = ({'abstract': ' A  study.\n', 'title': 'On\n  Things', 'id': '1'},
                     [{'input': 'A  study.', 'output': 'On Things'}])


def test_columns():
    assert arxiv_map_fn(ROW) == {'conversation': CONVERSATION}


def test_missing_columns_say_what_and_how():
    with pytest.raises(DatasetFormatError, match='rename the columns or pick another'):
        arxiv_map_fn({'unrelated': 'x'})


def test_docstring_example():
    check_docstring(arxiv_map_fn)
