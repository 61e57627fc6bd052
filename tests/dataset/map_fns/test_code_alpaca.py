"""code_alpaca map_fn: columns in, one conversation turn out."""
from map_fn_pipeline import check_column_map_fn

from xtuner_like.dataset.map_fns.code_alpaca import code_alpaca_map_fn

ROW, CONVERSATION = ({'instruction': 'Sort', 'input': '[2, 1]', 'output': '[1, 2]'},
                     [{'input': 'Sort\n[2, 1]', 'output': '[1, 2]'}])


def test_columns_missing_columns_and_docstring():
    check_column_map_fn(code_alpaca_map_fn, ROW, CONVERSATION)
