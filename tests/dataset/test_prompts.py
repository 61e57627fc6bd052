"""Prompt-only rows: the three shapes, a map_fn, the generation prompt, long prompts."""
import json

import pytest

from xtuner_like.dataset.prompts import (build_prompt_dataset, prompt_collate_fn,
                                         row_to_turns)
from xtuner_like.errors import DatasetFormatError
from xtuner_like.templates import render_prompt
from xtuner_like.templates.chat_format import ChatFormat


def test_the_three_row_shapes(tmp_path, tiny_tokenizer):
    rows = [{'messages': [{'role': 'system', 'content': 'Be brief.'},
                          {'role': 'user', 'content': 'Hi'},
                          {'role': 'assistant', 'content': 'Hello'},
                          {'role': 'user', 'content': 'Who are you?'}], 'answer': 'Tuna'},
            {'prompt': 'What is 2 + 2?', 'answer': '4', 'level': 1},
            {'question': 'Tom has 3 apples and buys 2. How many?', 'answer': '3 + 2 = 5\n#### 5'}]
    path = tmp_path / 'rows.jsonl'
    path.write_text('\n'.join(json.dumps(r) for r in rows))
    ds = build_prompt_dataset(tiny_tokenizer, data_files=str(path), prompt_template='chatml')
    assert len(ds) == 3 and ds.chat_format.template.name == 'chatml'
    fmt = ChatFormat.build('chatml')
    first = render_prompt([{'system': 'Be brief.', 'input': 'Hi', 'output': 'Hello'},
                           {'input': 'Who are you?'}], fmt.template, eos_token='<|im_end|>')
    assert ds[0]['row']['prompt'] == first and first.endswith('<|im_start|>assistant\n')
    assert ds[0]['prompt_ids'] == tiny_tokenizer.encode(first, add_special_tokens=False)
    assert ds[1]['row']['level'] == 1 and ds[2]['row']['answer'].endswith('#### 5')
    batch = prompt_collate_fn([ds[1], ds[2]])
    assert batch['prompt_ids'][0] == ds[1]['prompt_ids'] and batch['rows'][1] is ds[2]['row']


def test_a_map_fn_and_bad_rows(tiny_tokenizer):
    ds = build_prompt_dataset(tiny_tokenizer, rows=[{'instruction': 'Add', 'input': '1 2',
                                                     'output': '3'}],
                              dataset_map_fn='alpaca', prompt_template='chatml')
    assert '3' not in ds[0]['row']['prompt'].split('Add')[1]
    with pytest.raises(DatasetFormatError, match='rows, row 0: the messages must end in a '
                                                 'user turn'):
        build_prompt_dataset(tiny_tokenizer, rows=[{'messages': [
            {'role': 'user', 'content': 'a'}, {'role': 'assistant', 'content': 'b'}]}])
    with pytest.raises(DatasetFormatError, match='needs messages, prompt or question'):
        row_to_turns({'text': 'x'}, 'f.json, row 3')


def test_a_prompt_longer_than_max_length_is_one_line(tiny_tokenizer):
    rows = [{'prompt': 'short'}, {'prompt': 'the quick brown fox ' * 40}]
    with pytest.raises(DatasetFormatError) as err:
        build_prompt_dataset(tiny_tokenizer, rows=rows, max_length=64)
    assert '\n' not in str(err.value)
    assert str(err.value).startswith('rows, row 1: the prompt has ')
    assert 'more than max_length=64' in str(err.value)
    assert len(build_prompt_dataset(tiny_tokenizer, rows=rows, max_length=64,
                                    on_long_prompt='skip')) == 1
