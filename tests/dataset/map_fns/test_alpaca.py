import pytest

from xtuner_like.dataset.map_fns.alpaca import alpaca_map_fn
from xtuner_like.errors import DatasetFormatError


def test_alpaca_with_and_without_input():
    assert alpaca_map_fn({'instruction': 'Sum.', 'input': '1 2', 'output': '3'}) == {
        'conversation': [{'input': 'Sum.\n1 2', 'output': '3'}]}
    assert alpaca_map_fn({'instruction': 'Hi', 'output': 'Hello'})['conversation'][0] == {
        'input': 'Hi', 'output': 'Hello'}


def test_alpaca_missing_output():
    with pytest.raises(DatasetFormatError, match="'output'.*found \\['instruction'\\]"):
        alpaca_map_fn({'instruction': 'Hi'})


def test_columns_other_rows_fill_with_none_are_not_listed_as_found():
    """A .json file whose rows differ gets every column in every row (None where absent):
    the error names only the columns this row has."""
    with pytest.raises(DatasetFormatError, match=r"found \['instruction'\]\)"):
        alpaca_map_fn({'instruction': 'Hi', 'input': None, 'output': None})
