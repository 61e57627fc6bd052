"""Every shipped recipe builds its dataset pipeline on a small local file, no hub needed.

Each recipe's data source is swapped for a tiny file in the format of its dataset_map_fn,
and the model for a local tiny tokenizer; the rest (template, system, max_length, packing,
several sources) is the recipe's own.
"""
from __future__ import annotations

import json

import pytest

from xtuner_like.config import load_config
from xtuner_like.config.recipes import list_recipes
from xtuner_like.dataset import collate_rows
from xtuner_like.utils.build import build

ROWS = {
    'alpaca': {'instruction': 'Add 2 and 3.', 'input': '', 'output': '5'},
    'openai': {'messages': [{'role': 'user', 'content': 'Hi'},
                            {'role': 'assistant', 'content': 'Hello!'}]},
    'oasst1': {'text': '### Human: Hi### Assistant: Hello!'},
    'sharegpt': {'conversations': [{'from': 'human', 'value': 'Add 2 and 3'},
                                   {'from': 'function_call',
                                    'value': '{"name": "add", "arguments": {"a": 2, "b": 3}}'},
                                   {'from': 'observation', 'value': '5'},
                                   {'from': 'gpt', 'value': 'It is 5.'}],
                 'tools': '[{"name": "add", "parameters": {}}]'},
    'moss_sft': {'meta_instruction': 'You are MOSS.\n', 'chat': {'turn_1': {
        'Human': '<|Human|>: Hi<eoh>\n', 'Inner Thoughts': '<|Inner Thoughts|>: None<eot>\n',
        'Commands': '<|Commands|>: None<eoc>\n', 'Tool Responses': '<|Results|>: None<eor>\n',
        'MOSS': '<|MOSS|>: Hello!<eom>\n'}}},
    'pretrain': {'text': 'The quick brown fox jumps over the lazy dog.'},
    'plain_preference': {'prompt': 'Who are you?', 'chosen': 'I am Tuna.', 'rejected': 'No.'},
    'sharegpt_preference': {'conversations': [{'from': 'human', 'value': 'Hi'}],
                            'chosen': {'from': 'gpt', 'value': 'Hello!'},
                            'rejected': {'from': 'gpt', 'value': 'Go.'}},
    'openai_preference': {'prompt': 'Hi', 'chosen': [{'role': 'user', 'content': 'Hi'},
                                                     {'role': 'assistant', 'content': 'Hello!'}],
                          'rejected': [{'role': 'user', 'content': 'Hi'},
                                       {'role': 'assistant', 'content': 'Go.'}]},
    'kto': {'prompt': 'Who are you?', 'completion': 'I am Tuna.', 'label': True},
    None: {'prompt': 'What is 2 + 3?', 'answer': '5'},     # RL prompt rows (shape told apart)
}


def local_file(tmp_path, map_fn) -> str:
    path = tmp_path / f'{map_fn}.jsonl'
    path.write_text(json.dumps(ROWS[map_fn]) + '\n')
    return str(path)


def dataset_options(cfg, tmp_path) -> dict:
    """--cfg-options that point every data source of the recipe at local files."""
    if cfg.get('sources'):
        sources = [dict(s, data_files=local_file(tmp_path, s['dataset_map_fn']), path=None)
                   for s in cfg.to_dict()['sources']]
        for s in sources:
            s.pop('path')
        return {'sources': sources}
    if 'curate' in cfg:                     # a curated recipe: raw rows, no eval split
        return {'data_files': local_file(tmp_path, 'alpaca'),
                'curate': {'split': {'enabled': False}}}
    # one row: nothing to hold out for evaluation
    return {'data_files': local_file(tmp_path, cfg.dataset_map_fn),
            **({'data_path': None} if 'data_path' in cfg else {}),
            **({'holdout': 0} if cfg.get('holdout') else {})}


@pytest.mark.parametrize('name', list_recipes())
def test_recipe_builds_its_dataset(name, tmp_path, tiny_model_dir, xl_home):
    raw = load_config(name, resolve=False)
    options = {'pretrained_model_name_or_path': str(tiny_model_dir),
               **dataset_options(raw, tmp_path)}
    if 'trust_remote_code' in raw:
        options['trust_remote_code'] = False
    cfg = load_config(name, options)
    dataset = build(cfg.to_dict()['train_dataloader']['dataset'])
    assert len(dataset) >= 1
    row = dataset[0]
    if cfg.model.get('rewards') is not None:    # RL: prompt rows, nothing trained yet
        batch = collate_rows([row], row_type='prompt')
        assert len(batch['prompt_ids'][0]) > 0 and batch['rows'][0]['prompt']
        return
    assert (row['labels'] != -100).any()
    assert dataset.packed == cfg.get('pack_to_max_length', False)  # preference: unpacked
