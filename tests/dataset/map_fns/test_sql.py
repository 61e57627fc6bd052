"""sql map_fn: columns in, one conversation turn out."""
from map_fn_pipeline import check_column_map_fn

from xtuner_like.dataset.map_fns.sql import sql_map_fn

ROW, CONVERSATION = ({'context': 'CREATE TABLE t (a INT)', 'question': 'Count', 'answer': 'SELECT 1'},
                     [{'input': 'CREATE TABLE t (a INT)\nCount', 'output': 'SELECT 1'}])


def test_columns_missing_columns_and_docstring():
    check_column_map_fn(sql_map_fn, ROW, CONVERSATION)
