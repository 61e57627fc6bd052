"""Prompt-only rows for online RL, as a row type of the one data pipeline (``row_type='prompt'``).

Three row shapes are read without a map_fn:

- OpenAI ``{'messages': [...]}`` that end in a user turn (system and earlier turns kept);
- ``{'prompt': ..., 'answer': ...}`` plain rows (``prompt`` may also be such a message list);
- GSM8K ``{'question': ..., 'answer': '... #### N'}`` (the reward reads N).

Any registered ``dataset_map_fn`` that gives ``{'conversation': [...]}`` works too (the last
turn's ``input`` is the prompt; its ``output`` is ignored). The prompt is rendered with the
recipe's chat format and its generation prompt (``templates.render_prompt``), exactly as
``chat`` serves it. Every column of the row is kept for the reward functions, plus
``prompt`` (the rendered text). Because this is a row type, prompt files get everything the
pipeline gives other rows: hub datasets, several sources with ratios, held-out rows, the
cache, ``on_bad_row`` and ``check-custom-dataset``. A prompt longer than ``max_length``
tokens is a bad row: one line naming the file and row (``on_bad_row='skip'`` drops and
counts it).
"""
from __future__ import annotations

import json
from typing import Any, Sequence

from ..errors import DatasetFormatError
from ..templates.chat_format import ChatFormat
from ..templates.prompt import render_prompt
from ..utils.build import build
from .map_fns import get_map_fn
from .pipeline import ROW_TYPES, PipelineSpec, process_rows

ROLES = {'user': 'input', 'assistant': 'output'}


def messages_to_turns(messages: Sequence[dict]) -> list[dict]:
    """OpenAI messages ending in a user turn -> turns whose last holds only ``input``."""
    turns: list[dict] = []
    system = None
    for message in messages:
        role, content = message.get('role'), message.get('content')
        if role == 'system':
            system = content
        elif role == 'user':
            turns.append({'input': content})
        elif role == 'assistant' and turns and 'output' not in turns[-1]:
            turns[-1]['output'] = content
        else:
            raise DatasetFormatError(f'message role {role!r} out of order; a prompt is '
                                     '[system], user, assistant, ..., user')
    if not turns or 'output' in turns[-1]:
        raise DatasetFormatError('the messages must end in a user turn (the prompt the policy '
                                 'answers); drop the final assistant message')
    if system is not None:
        turns[0]['system'] = system
    return turns


def row_to_turns(row: dict, map_fn: Any = None) -> list[dict]:
    """The turns of a prompt row (see the module docstring for the shapes)."""
    if map_fn is not None:
        conversation = map_fn(row).get('conversation') or []
        if not conversation:
            raise DatasetFormatError('the map_fn gave no conversation')
        turns = [dict(t) for t in conversation]
        turns[-1].pop('output', None)
        return turns
    if isinstance(row.get('messages'), list):
        return messages_to_turns(row['messages'])
    for column in ('prompt', 'question'):
        value = row.get(column)
        if isinstance(value, list):
            return messages_to_turns(value)
        if isinstance(value, str) and value.strip():
            return [{'input': value}]
    present = sorted(k for k, v in row.items() if v is not None)
    raise DatasetFormatError(f'a prompt row needs messages, prompt or question (columns: '
                             f'{present}); or set dataset_map_fn')


class PromptRows:
    """A prompt the policy answers: ``input_ids`` (the rendered prompt with its generation
    prompt) and ``row`` (every column plus ``prompt``, as JSON: the rewards read it)."""

    name = 'prompt'
    columns = ('input_ids', 'row', 'length', 'num_trained', 'truncated')
    default_map_fn = None
    packable = False    # the RL loop generates from each prompt on its own

    def collate(self, rows: Sequence[dict], packed: bool = False) -> dict:
        return prompt_collate_fn(rows)

    def map(self, row: dict, spec: PipelineSpec, tokenizer: Any) -> dict:
        fmt = spec.chat_format
        if fmt.template is None:
            raise DatasetFormatError('prompt rows need a prompt template; set prompt_template')
        text = render_prompt(row_to_turns(row, spec.map_fn), fmt.template, system=fmt.system,
                             eos_token=tokenizer.eos_token or '')
        return {'text': text, 'row': {**row, 'prompt': text}}

    def validate(self, sample: dict, spec: PipelineSpec) -> None:
        if not sample['text'].strip():
            raise DatasetFormatError('the prompt renders empty')

    def encode(self, samples: list, tokenizer: Any, spec: PipelineSpec) -> dict[str, list]:
        ids = [tokenizer.encode(s['text'], add_special_tokens=False) for s in samples]
        for one in ids:
            if len(one) > spec.max_length:
                raise DatasetFormatError(
                    f'the prompt has {len(one)} tokens, more than max_length='
                    f'{spec.max_length}; raise max_length or shorten it')
        return {'input_ids': ids,
                'row': [json.dumps(s['row'], ensure_ascii=False, default=str) for s in samples],
                'length': [len(i) for i in ids], 'num_trained': [len(i) for i in ids],
                'truncated': [False] * len(ids)}

    def summary(self, stats: dict) -> str:
        """The dataset's log line (no tokens are trained: the completions are)."""
        return f'dataset: {stats["samples"]} prompts, {stats["tokens"]} prompt tokens'


ROW_TYPES.register('prompt', PromptRows())


def prompt_collate_fn(items: Sequence[dict]) -> dict:
    """A batch of prompts: ``{'prompt_ids': [[...], ...], 'rows': [{...}, ...]}`` (no tensors:
    the RL loop generates from them)."""
    return {'prompt_ids': [[int(t) for t in i['input_ids']] for i in items],
            'rows': [json.loads(i['row']) for i in items]}


def encode_prompt_rows(tokenizer: Any, rows: Sequence[dict], dataset_map_fn: Any = None,
                       prompt_template: str = 'chatml', system: str | None = None,
                       max_length: int = 512, on_bad_row: str = 'error',
                       source: str = 'rows') -> list[dict]:
    """Rows held in memory (scripts, tests) -> items ``{'input_ids', 'row'}`` as a built
    dataset holds them, through the pipeline's :func:`process_rows` (the same map, checks and
    encoding as ``build_dataset``)."""
    tokenizer = build(tokenizer)
    fmt = ChatFormat.build(prompt_template, system)
    spec = PipelineSpec(map_fn=get_map_fn(dataset_map_fn), chat_format=fmt, row_type='prompt',
                        max_length=max_length, pack=False, on_bad_row=on_bad_row)
    policy = 'skip' if on_bad_row == 'skip' else 'error'
    done = process_rows([(f'{source}, row {i}', r) for i, r in enumerate(rows)], spec,
                        tokenizer, policy)
    columns = done.columns
    if not columns or not columns['input_ids']:
        raise DatasetFormatError(f'{source}: no usable prompt rows')
    return [{'input_ids': ids, 'row': row}
            for ids, row in zip(columns['input_ids'], columns['row'])]
