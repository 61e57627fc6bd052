"""law map_fn: columns in, one conversation turn out."""
import pytest
from map_fn_pipeline import check_docstring

from xtuner_like.dataset.map_fns.law import law_map_fn
from xtuner_like.errors import DatasetFormatError

ROW, CONVERSATION = ({'input': '问', 'output': '答', 'reference': '法条'},
                     [{'input': '参考法条：\n法条\n\n问', 'output': '答'}])


def test_columns():
    assert law_map_fn(ROW) == {'conversation': CONVERSATION}


def test_missing_columns_say_what_and_how():
    with pytest.raises(DatasetFormatError, match='rename the columns or pick another'):
        law_map_fn({'unrelated': 'x'})


def test_docstring_example():
    check_docstring(law_map_fn)
