"""Prompt-only rows for online RL: a row -> its rendered, tokenized prompt and its columns.

Three row shapes are read without a map_fn:

- OpenAI ``{'messages': [...]}`` that end in a user turn (system and earlier turns kept);
- ``{'prompt': ..., 'answer': ...}`` plain rows (``prompt`` may also be such a message list);
- GSM8K ``{'question': ..., 'answer': '... #### N'}`` (the reward reads N).

Any registered ``dataset_map_fn`` that gives ``{'conversation': [...]}`` works too (the last
turn's ``input`` is the prompt; its ``output`` is ignored). The prompt is rendered with the
recipe's chat format and its generation prompt (``templates.render_prompt``), exactly as
``chat`` serves it. Every column of the row is kept for the reward functions, plus
``prompt`` (the rendered text). A prompt longer than ``max_length`` tokens is a one-line
error naming the row (or is skipped with ``on_long_prompt='skip'``, counted in the log).
"""
from __future__ import annotations

import logging
from typing import Any, Sequence

import torch

from ..errors import ConfigError, DatasetFormatError
from ..templates.chat_format import ChatFormat
from ..templates.prompt import render_prompt
from ..utils.build import build
from ..utils.logging import log
from .load import read_json_rows, resolve_data_files
from .map_fns import get_map_fn

ROLES = {'user': 'input', 'assistant': 'output'}


def messages_to_turns(messages: Sequence[dict], where: str) -> list[dict]:
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
            raise DatasetFormatError(f'{where}: message role {role!r} out of order; a prompt '
                                     'is [system], user, assistant, ..., user')
    if not turns or 'output' in turns[-1]:
        raise DatasetFormatError(f'{where}: the messages must end in a user turn (the prompt '
                                 'the policy answers); drop the final assistant message')
    if system is not None:
        turns[0]['system'] = system
    return turns


def row_to_turns(row: dict, where: str, map_fn: Any = None) -> list[dict]:
    """The turns of a prompt row (see the module docstring for the shapes)."""
    if map_fn is not None:
        conversation = map_fn(row).get('conversation') or []
        if not conversation:
            raise DatasetFormatError(f'{where}: the map_fn gave no conversation')
        turns = [dict(t) for t in conversation]
        turns[-1].pop('output', None)
        return turns
    if isinstance(row.get('messages'), list):
        return messages_to_turns(row['messages'], where)
    for column in ('prompt', 'question'):
        value = row.get(column)
        if isinstance(value, list):
            return messages_to_turns(value, where)
        if isinstance(value, str) and value.strip():
            return [{'input': value}]
    raise DatasetFormatError(f'{where}: a prompt row needs messages, prompt or question '
                             f'(columns: {sorted(row)}); or set dataset_map_fn')


def encode_prompts(rows: Sequence[dict], tokenizer: Any, chat_format: ChatFormat,
                   max_length: int, map_fn: Any = None, on_long_prompt: str = 'error',
                   source: str = 'rows') -> list[dict]:
    """Rows -> items ``{'prompt_ids': [...], 'row': {**columns, 'prompt': text}}``."""
    if on_long_prompt not in ('error', 'skip'):
        raise ConfigError(f"on_long_prompt={on_long_prompt!r}; use 'error' or 'skip'")
    if chat_format.template is None:
        raise ConfigError('prompt rows need a prompt template; set prompt_template')
    map_fn = get_map_fn(map_fn)
    items, skipped = [], 0
    for i, row in enumerate(rows):
        where = f'{source}, row {i}'
        turns = row_to_turns(row, where, map_fn)
        text = render_prompt(turns, chat_format.template, system=chat_format.system,
                             eos_token=tokenizer.eos_token or '')
        ids = tokenizer.encode(text, add_special_tokens=False)
        if len(ids) > max_length:
            if on_long_prompt == 'skip':
                skipped += 1
                continue
            raise DatasetFormatError(f'{where}: the prompt has {len(ids)} tokens, more than '
                                     f'max_length={max_length}; raise max_length, shorten it, '
                                     "or set on_long_prompt='skip'")
        items.append({'prompt_ids': ids, 'row': {**row, 'prompt': text}})
    if skipped:
        log(f'{source}: skipped {skipped} prompts longer than max_length={max_length}',
            logging.WARNING)
    if not items:
        raise DatasetFormatError(f'{source}: no prompt rows left')
    return items


class PromptDataset(torch.utils.data.Dataset):
    """Tokenized prompts with their rows; ``tokenizer`` and ``chat_format`` are attributes
    (the hooks and the RL loop read them, as from the SFT dataset)."""

    def __init__(self, items: list[dict], tokenizer: Any, chat_format: ChatFormat):
        self.items, self.tokenizer, self.chat_format = items, tokenizer, chat_format

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict:
        return self.items[index]


def build_prompt_dataset(tokenizer: Any, data_files: Any = None, rows: Sequence[dict] | None = None,
                         dataset_map_fn: Any = None, prompt_template: str = 'chatml',
                         system: str | None = None, max_length: int = 512,
                         max_rows: int | None = None, on_long_prompt: str = 'error'
                         ) -> PromptDataset:
    """Prompt rows from local json/jsonl ``data_files`` (a path, paths, or a spec that writes
    them) or given ``rows``, rendered with ``prompt_template`` + ``system``."""
    tokenizer = build(tokenizer)
    chat_format = ChatFormat.build(prompt_template, system)
    if rows is None:
        if data_files is None:
            raise ConfigError('prompt dataset: set data_files (json/jsonl rows)')
        files = resolve_data_files(data_files)
        rows = [row for f in files for row in read_json_rows(f)]
        source = ', '.join(files)
    else:
        source = 'rows'
    rows = list(rows)[:max_rows] if max_rows else list(rows)
    items = encode_prompts(rows, tokenizer, chat_format, max_length, dataset_map_fn,
                           on_long_prompt, source)
    return PromptDataset(items, tokenizer, chat_format)


def prompt_collate_fn(items: Sequence[dict]) -> dict:
    """A batch of prompts: ``{'prompt_ids': [[...], ...], 'rows': [...]}`` (no tensors: the
    RL loop generates from them)."""
    return {'prompt_ids': [list(i['prompt_ids']) for i in items],
            'rows': [i['row'] for i in items]}
