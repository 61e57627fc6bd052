"""colors map_fn: columns in, one conversation turn out."""
from map_fn_pipeline import check_column_map_fn

from xtuner_like.dataset.map_fns.colors import colors_map_fn

ROW, CONVERSATION = ({'description': 'warm red', 'color': '#ff2200'},
                     [{'input': 'warm red', 'output': '#ff2200'}])


def test_columns_missing_columns_and_docstring():
    check_column_map_fn(colors_map_fn, ROW, CONVERSATION)
