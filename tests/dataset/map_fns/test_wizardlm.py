"""wizardlm map_fn: columns in, one conversation turn out."""
from map_fn_pipeline import check_column_map_fn

from xtuner_like.dataset.map_fns.wizardlm import wizardlm_map_fn

ROW, CONVERSATION = ({'conversations': [{'from': 'human', 'value': 'q'},
                                        {'from': 'gpt', 'value': 'a'}]},
                     [{'input': 'q', 'output': 'a'}])


def test_columns_missing_columns_and_docstring():
    check_column_map_fn(wizardlm_map_fn, ROW, CONVERSATION)
