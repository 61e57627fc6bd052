"""stack_exchange map_fn: columns in, one conversation turn out."""
from map_fn_pipeline import check_column_map_fn

from xtuner_like.dataset.map_fns.stack_exchange import stack_exchange_map_fn

ROW, CONVERSATION = ({'question': 'q', 'response': 'r', 'qid': 1},
                     [{'input': 'q', 'output': 'r'}])


def test_columns_missing_columns_and_docstring():
    check_column_map_fn(stack_exchange_map_fn, ROW, CONVERSATION)
