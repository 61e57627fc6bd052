"""tiny_codes map_fn: columns in, one conversation turn out."""
from map_fn_pipeline import check_column_map_fn

from xtuner_like.dataset.map_fns.tiny_codes import tiny_codes_map_fn

ROW, CONVERSATION = ({'prompt': 'p', 'response': 'r', 'idx': 3},
                     [{'input': 'p', 'output': 'r'}])


def test_columns_missing_columns_and_docstring():
    check_column_map_fn(tiny_codes_map_fn, ROW, CONVERSATION)
