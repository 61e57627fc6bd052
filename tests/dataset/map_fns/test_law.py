"""law map_fn: columns in, one conversation turn out."""
from map_fn_pipeline import check_column_map_fn

from xtuner_like.dataset.map_fns.law import law_map_fn

ROW, CONVERSATION = ({'input': '问', 'output': '答', 'reference': '法条'},
                     [{'input': '参考法条：\n法条\n\n问', 'output': '答'}])


def test_columns_missing_columns_and_docstring():
    check_column_map_fn(law_map_fn, ROW, CONVERSATION)
