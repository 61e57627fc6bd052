"""openorca map_fn: columns in, one conversation turn out."""
from map_fn_pipeline import check_column_map_fn

from xtuner_like.dataset.map_fns.openorca import openorca_map_fn

ROW, CONVERSATION = ({'id': 'x', 'system_prompt': '', 'question': 'q', 'response': 'r'},
                     [{'input': 'q', 'output': 'r'}])


def test_columns_missing_columns_and_docstring():
    check_column_map_fn(openorca_map_fn, ROW, CONVERSATION)
