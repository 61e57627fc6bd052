import json

import pytest

from xtuner_like.curate.format import (SIGNATURES, bad_row_policy, check_spec, check_tokenizer,
                                       convert_rows, detect_format, format_batch, output_batch,
                                       resolve_format)
from xtuner_like.dataset.map_fns import get_map_fn
from xtuner_like.dataset.pipeline import ROW_TYPES
from xtuner_like.errors import ConfigError, DatasetFormatError, UnknownNameError

TOOL_ROW = {'messages': [
    {'role': 'user', 'content': 'Weather in Paris?'},
    {'role': 'assistant', 'content': None, 'reasoning_content': 'Call the tool.',
     'tool_calls': [{'function': {'name': 'weather', 'arguments': {'city': 'Paris'}}}]},
    {'role': 'tool', 'content': '21 C'},
    {'role': 'assistant', 'content': 'It is 21 C.'}],
    'tools': [{'type': 'function', 'function': {'name': 'weather', 'parameters': {}}}]}


@pytest.mark.parametrize('columns, name, row_type',
                         [(sorted(c), n, t) for c, n, t in SIGNATURES])
def test_every_signature_is_detected_and_names_registered_names(columns, name, row_type):
    assert detect_format('f.json', columns + ['extra']) == (name, row_type)
    get_map_fn(name)
    ROW_TYPES.get(row_type)


def test_unknown_columns_map_fn_and_row_type():
    with pytest.raises(ConfigError, match=r"f.csv: cannot tell the format .*\['a', 'b'\]"):
        detect_format('f.csv', ['a', 'b'])
    with pytest.raises(UnknownNameError, match="did you mean 'alpaca'"):
        resolve_format('f.json', ['x'], 'alpacca', None)
    assert resolve_format('f.json', ['x'], 'sharegpt_preference', None) == (
        'sharegpt_preference', 'preference')
    with pytest.raises(UnknownNameError, match="did you mean 'kto'"):
        resolve_format('f.json', ['messages'], None, 'ktoo')


def test_bad_row_policy_names_are_trainings_and_drop_is_deprecated():
    said = []
    assert bad_row_policy('drop', said.append) == 'skip' and 'deprecated' in said[0]
    assert bad_row_policy('error') == 'error' and bad_row_policy('skip') == 'skip'
    with pytest.raises(ConfigError, match="use one of \\('error', 'skip'\\)"):
        bad_row_policy('ignore')


def test_format_batch_keeps_provenance_and_marks_bad_rows_as_training_does():
    batch = {'_row': [0, 1], 'instruction': ['Add 2 and 3.', 'Say nothing.'],
             'input': ['', ''], 'output': ['5', None]}
    out = format_batch(batch, map_fn='alpaca', row_type='sft', source='a.json', offset=10,
                       on_bad_row='skip')
    assert out['_id'] == [10, 11] and out['row'] == [0, 1] and out['source'] == ['a.json'] * 2
    assert json.loads(out['sample'][0]) == {'conversation': [{'input': 'Add 2 and 3.',
                                                              'output': '5'}]}
    assert out['_reason'] == ['', 'format_error'] and 'alpaca row' in out['_detail'][1]
    with pytest.raises(DatasetFormatError, match="a.json, row 1: alpaca row .*on_bad_row='skip'"):
        format_batch(batch, map_fn='alpaca', row_type='sft', source='a.json', offset=0,
                     on_bad_row='error')


def test_a_map_fn_bug_is_a_bug_not_a_bad_row():
    def buggy(row):
        return {'conversation': [{'input': row['question'], 'output': row['answer']}]}
    spec = check_spec(buggy, 'sft', None)
    with pytest.raises(KeyError) as err:           # training lets it surface too
        convert_rows([{'q': 'x'}], ['f, row 0'], spec, check_tokenizer())
    assert 'while processing f, row 0' in ''.join(getattr(err.value, '__notes__', []))


def test_tool_calls_results_tools_and_thinking_are_kept_as_data():
    batch = {'_row': [0], **{k: [v] for k, v in TOOL_ROW.items()}}
    with pytest.raises(DatasetFormatError, match="'chatml' has no thinking format"):
        format_batch(batch, map_fn='openai', row_type='sft', source='t.jsonl', offset=0,
                     on_bad_row='error')             # the template's check, as in training
    out = format_batch(batch, map_fn='openai', row_type='sft', source='t.jsonl', offset=0,
                       on_bad_row='error', prompt_template='qwen3_chat')
    sample = json.loads(out['sample'][0])
    assert sample == get_map_fn('openai')(TOOL_ROW)
    first, second = sample['conversation']
    assert first['tools'] and first['thinking'] == 'Call the tool.'
    assert first['tool_calls'][0]['arguments'] == {'city': 'Paris'}
    assert second['tool_results'][0]['content'] == '21 C'


def test_a_preference_pair_is_one_sample_and_its_bad_rows_are_trainings():
    rows = [{'prompt': 'Hi', 'chosen': 'Hello!', 'rejected': 'Go away.'},
            {'prompt': 'Hi', 'chosen': 'Same', 'rejected': 'Same'}]
    got = convert_rows(rows, ['p, row 0', 'p, row 1'],
                       check_spec('plain_preference', 'preference', None), check_tokenizer())
    assert got[0] == ({'conversation': [{'input': 'Hi'}], 'chosen': 'Hello!',
                       'rejected': 'Go away.'}, '')
    assert got[1][0] is None and 'identical' in got[1][1]


def test_rows_already_samples_lose_an_earlier_curations_provenance():
    row = {'conversation': [{'input': 'Q', 'output': 'A'}], 'source': 'old.json', 'row': 4}
    got = convert_rows([row], ['c, row 0'], check_spec(None, 'sft', None), check_tokenizer())
    assert got == [({'conversation': [{'input': 'Q', 'output': 'A'}]}, '')]


def test_output_lines_are_the_sample_then_provenance():
    out = output_batch({'sample': [json.dumps({'conversation': [{'input': 'é', 'output': 'A'}]})],
                        'source': ['s.json'], 'row': [3], '_id': [7]})
    assert out['_split'] == ['train'] and out['_id'] == [7]
    assert out['_line'] == ['{"conversation": [{"input": "é", "output": "A"}], '
                            '"source": "s.json", "row": 3}']
