import pytest

from xtuner_like.dataset.map_fns.pretrain import pretrain_map_fn
from xtuner_like.errors import DatasetFormatError


def test_pretrain():
    assert pretrain_map_fn({'text': 'abc'}) == {'conversation': [{'input': '', 'output': 'abc'}]}
    with pytest.raises(DatasetFormatError, match="'text'"):
        pretrain_map_fn({'content': 'abc'})


def test_columns_other_rows_fill_with_none_are_not_listed_as_found():
    with pytest.raises(DatasetFormatError, match=r"found \['content'\]\)"):
        pretrain_map_fn({'content': 'abc', 'text': None})
