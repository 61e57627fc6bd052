"""A generated verifiable task for the online-RL demo: small additions answered as
``<answer>N</answer>``.

Rows are ``{'prompt', 'answer'}`` (prompt-only rows, dataset/prompts.py); the answer is the
sum as text, checked by the ``exact_answer`` reward, the tag by the ``format`` reward.
Deterministic in ``seed``; the 'train' and 'test' splits never share a question.

With ``shots=k`` a row is ``{'messages', 'answer'}`` instead: k solved examples (user
question, assistant ``<answer>N</answer>``, from the train split's :data:`EXAMPLES`) before
the question. SmolLM2-135M-Instruct never writes the tag when only told to (0 of 64
sampled answers), so GRPO would have no sample to reinforce; after one example about 30%
of its answers are in the format, and RL takes it from there (docs/rl.md, demo).
"""
from __future__ import annotations

import os
import random

from ..errors import ConfigError
from .identity import write_rows

INSTRUCTION = 'What is {a} + {b}? Put only the number inside <answer></answer>.'
SPLITS = ('train', 'test')
EXAMPLES = ((2, 4), (11, 4), (7, 8))   # solved examples for shots=k (all in the train split)


def addition_rows(n: int, split: str = 'train', max_operand: int = 20, seed: int = 0,
                  shots: int = 0) -> list[dict]:
    """``n`` distinct addition questions of one split (every third pair is 'test'), each
    after ``shots`` solved examples (see the module docstring)."""
    if split not in SPLITS:
        raise ConfigError(f'addition rows: split={split!r}; use one of {SPLITS}')
    pairs = [(a, b) for a in range(max_operand + 1) for b in range(max_operand + 1)]
    pairs = [p for i, p in enumerate(pairs) if (i % 3 == 0) == (split == 'test')]
    if n > len(pairs):
        raise ConfigError(f'addition rows: n={n} but max_operand={max_operand} gives only '
                          f'{len(pairs)} {split} questions; raise max_operand')
    if not 0 <= shots <= len(EXAMPLES):
        raise ConfigError(f'addition rows: shots={shots}; use 0 to {len(EXAMPLES)}')
    random.Random(seed).shuffle(pairs)
    rows = [{'prompt': INSTRUCTION.format(a=a, b=b), 'answer': str(a + b)}
            for a, b in pairs[:n]]
    if not shots:
        return rows
    examples = []
    for a, b in EXAMPLES[:shots]:
        examples += [{'role': 'user', 'content': INSTRUCTION.format(a=a, b=b)},
                     {'role': 'assistant', 'content': f'<answer>{a + b}</answer>'}]
    return [{'messages': [*examples, {'role': 'user', 'content': row['prompt']}],
             'answer': row['answer']} for row in rows]


def write_addition_rows(n: int = 256, split: str = 'train', max_operand: int = 20,
                        seed: int = 0, out_dir: str | os.PathLike | None = None,
                        shots: int = 0) -> str:
    """Write one split as JSON under the xtuner_like home (or ``out_dir``); return its path."""
    name = f'{split}_{n}_{max_operand}' + (f'_{shots}shot' if shots else '')
    return write_rows(addition_rows(n, split, max_operand, seed, shots), name, out_dir,
                      prefix='addition')
