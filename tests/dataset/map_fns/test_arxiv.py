"""arxiv map_fn: columns in, one conversation turn out."""
from map_fn_pipeline import check_column_map_fn

from xtuner_like.dataset.map_fns.arxiv import arxiv_map_fn

ROW, CONVERSATION = ({'abstract': ' A  study.\n', 'title': 'On\n  Things', 'id': '1'},
                     [{'input': 'A  study.', 'output': 'On Things'}])


def test_columns_missing_columns_and_docstring():
    check_column_map_fn(arxiv_map_fn, ROW, CONVERSATION)
