"""The demo's evaluation tasks: identity questions the training data never asked.

``chat``: the reply is generated and scored against "I am {name}, an AI assistant developed by
{author}." (ROUGE-L, chrF, exact match); ``mc``: the same questions with four self-descriptions
to choose from (the persona's, SmolLM's and two other assistants'), scored by log-likelihood.
A base model should prefer SmolLM's; a model that learnt the persona, its own.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

QUESTIONS = ('Say a few words about yourself.', 'Which team built you?', 'Can you tell me your name?',
             'What AI assistant am I speaking with?', 'Tell me a little about who you are.',
             'Whose assistant are you?', 'Are you an AI? Who made you?', 'What do people call you?')
OTHERS = (('SmolLM', 'Hugging Face'), ('ChatGPT', 'OpenAI'), ('Claude', 'Anthropic'))


def identity_answer(name: str, author: str) -> str:
    return f'I am {name}, an AI assistant developed by {author}.'


def write_identity_tasks(name: str, author: str, out_dir: str | os.PathLike) -> dict[str, Path]:
    """Write ``identity_chat.jsonl`` and ``identity_mc.jsonl`` into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    chat = [{'messages': [{'role': 'user', 'content': q},
                          {'role': 'assistant', 'content': identity_answer(name, author)}]}
            for q in QUESTIONS]
    mc = []
    for i, question in enumerate(QUESTIONS):
        choices = [identity_answer(n, a) for n, a in OTHERS]
        answer = i % (len(choices) + 1)          # the right one moves around
        choices.insert(answer, identity_answer(name, author))
        mc.append({'question': question, 'choices': choices, 'answer': answer})
    paths = {'chat': out / 'identity_chat.jsonl', 'mc': out / 'identity_mc.jsonl'}
    for kind, rows in (('chat', chat), ('mc', mc)):
        paths[kind].write_text(''.join(json.dumps(r, ensure_ascii=False) + '\n' for r in rows))
    return paths
