"""Prompt-only rows (row_type='prompt'): the three shapes, a map_fn, the generation prompt,
long prompts, and the one pipeline's features (cache, holdout, skip policy)."""
import json

import pytest

from xtuner_like.dataset import build_dataset, collate_rows
from xtuner_like.dataset.prompts import encode_prompt_rows, prompt_collate_fn, row_to_turns
from xtuner_like.errors import DatasetFormatError
from xtuner_like.templates import render_prompt
from xtuner_like.templates.chat_format import ChatFormat

ROWS = [{'messages': [{'role': 'system', 'content': 'Be brief.'},
                      {'role': 'user', 'content': 'Hi'},
                      {'role': 'assistant', 'content': 'Hello'},
                      {'role': 'user', 'content': 'Who are you?'}], 'answer': 'Tuna'},
        {'prompt': 'What is 2 + 2?', 'answer': '4', 'level': 1},
        {'question': 'Tom has 3 apples and buys 2. How many?', 'answer': '3 + 2 = 5\n#### 5'}]


def _write(tmp_path, rows, name='rows.jsonl'):
    path = tmp_path / name
    path.write_text('\n'.join(json.dumps(r, ensure_ascii=False) for r in rows))
    return str(path)


def test_the_three_row_shapes_through_build_dataset(tmp_path, tiny_tokenizer, xl_home):
    ds = build_dataset(tiny_tokenizer, data_files=_write(tmp_path, ROWS), row_type='prompt',
                       prompt_template='chatml', max_length=256)
    assert len(ds) == 3 and ds.chat_format.template.name == 'chatml' and not ds.packed
    batch = collate_rows([ds[0], ds[1], ds[2]], row_type='prompt')
    fmt = ChatFormat.build('chatml')
    first = render_prompt([{'system': 'Be brief.', 'input': 'Hi', 'output': 'Hello'},
                           {'input': 'Who are you?'}], fmt.template, eos_token='<|im_end|>')
    assert batch['rows'][0]['prompt'] == first and first.endswith('<|im_start|>assistant\n')
    assert batch['prompt_ids'][0] == tiny_tokenizer.encode(first, add_special_tokens=False)
    assert batch['rows'][1]['level'] == 1 and batch['rows'][2]['answer'].endswith('#### 5')
    assert batch['rows'][0]['answer'] == 'Tuna'


def test_pack_to_max_length_never_packs_prompts(tmp_path, tiny_tokenizer, xl_home):
    ds = build_dataset(tiny_tokenizer, data_files=_write(tmp_path, ROWS), row_type='prompt',
                       prompt_template='chatml', max_length=256, pack_to_max_length=True)
    assert len(ds) == 3 and not ds.packed


def test_held_out_prompts_and_the_cache(tmp_path, tiny_tokenizer, xl_home):
    rows = [{'prompt': f'What is {i} + {i}?', 'answer': str(2 * i)} for i in range(10)]
    path = _write(tmp_path, rows, 'many.jsonl')
    kwargs = dict(data_files=path, row_type='prompt', prompt_template='chatml', max_length=64,
                  holdout=0.2)
    train = build_dataset(tiny_tokenizer, **kwargs)
    held = build_dataset(tiny_tokenizer, part='eval', **kwargs)
    answers = lambda ds: {prompt_collate_fn([ds[i]])['rows'][0]['answer']  # noqa: E731
                          for i in range(len(ds))}
    assert len(train) == 8 and len(held) == 2 and not answers(train) & answers(held)
    again = build_dataset(tiny_tokenizer, **kwargs)
    assert [list(again[i]['input_ids']) for i in range(8)] == \
        [list(train[i]['input_ids']) for i in range(8)]


def test_a_map_fn_and_bad_rows(tmp_path, tiny_tokenizer, xl_home):
    ds = encode_prompt_rows(tiny_tokenizer, [{'instruction': 'Add', 'input': '1 2', 'output': '3'}],
                            dataset_map_fn='alpaca', prompt_template='chatml')
    assert '3' not in prompt_collate_fn([ds[0]])['rows'][0]['prompt'].split('Add')[1]
    with pytest.raises(DatasetFormatError, match='rows.jsonl, line 1: the messages must end in a user turn'):
        build_dataset(tiny_tokenizer, row_type='prompt', prompt_template='chatml',
                      data_files=_write(tmp_path, [{'messages': [
                          {'role': 'user', 'content': 'a'},
                          {'role': 'assistant', 'content': 'b'}]}]))
    with pytest.raises(DatasetFormatError, match='needs messages, prompt or question'):
        row_to_turns({'text': 'x'})


def test_a_prompt_longer_than_max_length_is_one_line(tmp_path, tiny_tokenizer, xl_home):
    rows = [{'prompt': 'short'}, {'prompt': 'the quick brown fox ' * 40}]
    path = _write(tmp_path, rows, 'long.jsonl')
    with pytest.raises(DatasetFormatError) as err:
        build_dataset(tiny_tokenizer, data_files=path, row_type='prompt',
                      prompt_template='chatml', max_length=64)
    message = str(err.value)
    assert '\n' not in message and message.startswith(f'{path}, line 2: the prompt has ')
    assert 'more than max_length=64' in message
    assert len(build_dataset(tiny_tokenizer, data_files=path, row_type='prompt',
                             prompt_template='chatml', max_length=64,
                             on_bad_row='skip')) == 1
    assert len(encode_prompt_rows(tiny_tokenizer, rows, max_length=64, on_bad_row='skip')) == 1
