"""crime_kg map_fn: columns in, one conversation turn out."""
from map_fn_pipeline import check_column_map_fn

from xtuner_like.dataset.map_fns.crime_kg import crime_kg_map_fn

ROW, CONVERSATION = ({'question': 'q', 'answer': 'a'}, [{'input': 'q', 'output': 'a'}])


def test_columns_missing_columns_and_docstring():
    check_column_map_fn(crime_kg_map_fn, ROW, CONVERSATION)
