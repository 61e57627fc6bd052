"""wizardlm map_fn: columns in, one conversation turn out."""
import pytest
from map_fn_pipeline import check_docstring

from xtuner_like.dataset.map_fns.wizardlm import wizardlm_map_fn
from xtuner_like.errors import DatasetFormatError

ROW, CONVERSATION = ({'conversations': [{'from': 'human', 'value': 'q'},
                                        {'from': 'gpt', 'value': 'a'}]},
                     [{'input': 'q', 'output': 'a'}])


def test_columns():
    assert wizardlm_map_fn(ROW) == {'conversation': CONVERSATION}


def test_missing_columns_say_what_and_how():
    with pytest.raises(DatasetFormatError, match='rename the columns or pick another'):
        wizardlm_map_fn({'unrelated': 'x'})


def test_docstring_example():
    check_docstring(wizardlm_map_fn)
