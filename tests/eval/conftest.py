"""Shared pieces of the evaluation tests: a tiny chat model and small task files."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import make_tiny_llama, make_tiny_tokenizer


@pytest.fixture(scope='session')
def chat_model_dir(tmp_path_factory) -> Path:
    """A tiny Llama whose tokenizer carries the ChatML template (as an exported run's does)."""
    from xtuner_like.templates.chat_format import ChatFormat
    path = tmp_path_factory.mktemp('chat_llama')
    tok = make_tiny_tokenizer()
    tok.chat_template = ChatFormat.build('chatml').chat_template
    tok.save_pretrained(path)
    make_tiny_llama(len(tok), path)
    return path


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text(''.join(json.dumps(r, ensure_ascii=False) + '\n' for r in rows))
    return path


@pytest.fixture
def task_files(tmp_path) -> dict[str, Path]:
    mc = [{'question': f'What is {i} + {i}?', 'choices': [str(2 * i), str(2 * i + 1), 'fox'],
           'answer': i % 3} for i in range(6)]
    qa = [{'question': 'Who are you?', 'answer': ['Tuna', 'I am Tuna']},
          {'question': '谁是你?', 'answer': '金枪鱼'}]
    chat = [{'messages': [{'role': 'user', 'content': 'Who are you?'},
                          {'role': 'assistant', 'content': 'I am Tuna.'}]},
            {'instruction': 'Give three tips.', 'input': '', 'output': 'Eat, sleep, move.'}]
    return {'mc': _write(tmp_path / 'mc.jsonl', mc), 'qa': _write(tmp_path / 'qa.jsonl', qa),
            'chat': _write(tmp_path / 'chat.jsonl', chat[:1]),
            'alpaca': _write(tmp_path / 'alpaca.jsonl', chat[1:])}
