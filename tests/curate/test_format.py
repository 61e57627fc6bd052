import pytest

from xtuner_like.curate.format import (SIGNATURES, detect_map_fn, format_batch, output_batch,
                                       resolve_map_fn, to_messages, to_turns)
from xtuner_like.dataset.map_fns import get_map_fn
from xtuner_like.errors import ConfigError, DatasetFormatError, UnknownNameError


@pytest.mark.parametrize('columns, name', [(sorted(c), n) for c, n in SIGNATURES])
def test_every_signature_is_detected_and_names_a_registered_map_fn(columns, name):
    assert detect_map_fn('f.json', columns + ['extra']) == name
    get_map_fn(name)


def test_unknown_columns_and_unknown_map_fn():
    with pytest.raises(ConfigError, match=r"f.csv: cannot tell the format .*\['a', 'b'\]"):
        detect_map_fn('f.csv', ['a', 'b'])
    with pytest.raises(UnknownNameError, match="did you mean 'alpaca'"):
        resolve_map_fn('f.json', ['x'], 'alpacca')


def test_format_batch_keeps_provenance_and_marks_bad_rows():
    batch = {'_row': [0, 1], 'instruction': ['Add 2 and 3.', None], 'input': ['', ''],
             'output': ['5', None]}
    out = format_batch(batch, map_fn='alpaca', source='a.json', offset=10, on_bad_row='drop')
    assert out['_id'] == [10, 11] and out['row'] == [0, 1] and out['source'] == ['a.json'] * 2
    assert out['conversation'][0] == [{'system': '', 'input': 'Add 2 and 3.', 'output': '5'}]
    assert out['conversation'][1] == [] and out['_reason'] == ['', 'format_error']
    with pytest.raises(DatasetFormatError, match="a.json, row 1: alpaca row needs"):
        format_batch(batch, map_fn='alpaca', source='a.json', offset=0, on_bad_row='error')


def test_messages_round_trip_through_the_openai_map_fn():
    turns = [{'system': 'Be brief.', 'input': 'Hi', 'output': 'Hello'},
             {'system': '', 'input': 'Bye', 'output': 'Goodbye'}]
    back = get_map_fn('openai')({'messages': to_messages(turns)})['conversation']
    assert back == [{'system': 'Be brief.', 'input': 'Hi', 'output': 'Hello'},
                    {'input': 'Bye', 'output': 'Goodbye'}]
    out = output_batch({'conversation': [turns], 'source': ['s'], 'row': [3], '_id': [7]})
    assert out['_split'] == ['train'] and out['row'] == [3]


def test_tool_calls_and_results_are_kept_as_text_for_the_filters():
    row = {'messages': [{'role': 'user', 'content': 'q'}, {'role': 'assistant', 'content': None,
            'tool_calls': [{'function': {'name': 'f', 'arguments': {}}}]},
                        {'role': 'tool', 'content': 'R'}, {'role': 'assistant', 'content': 'a'}]}
    turns = to_turns(get_map_fn('openai')(row)['conversation'])
    assert turns[0]['output'] == '<tool_call>\n{"name": "f", "arguments": {}}\n</tool_call>'
    assert turns[1]['input'] == '<tool_response>\nR\n</tool_response>'
