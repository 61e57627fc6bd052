"""medical map_fn: columns in, one conversation turn out."""
from map_fn_pipeline import check_column_map_fn

from xtuner_like.dataset.map_fns.medical import medical_map_fn

ROW, CONVERSATION = ({'instruction': '发烧', 'input': '三天', 'output': '就医'},
                     [{'input': '发烧\n三天', 'output': '就医'}])


def test_columns_missing_columns_and_docstring():
    check_column_map_fn(medical_map_fn, ROW, CONVERSATION)
