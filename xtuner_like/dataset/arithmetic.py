"""A generated verifiable task for the online-RL demo: small additions answered as
``<answer>N</answer>``.

Rows are ``{'prompt', 'answer'}`` (prompt-only rows, dataset/prompts.py); the answer is the
sum as text, checked by the ``exact_answer`` reward, the tag by the ``format`` reward.
Deterministic in ``seed``; the 'train' and 'test' splits never share a question.
"""
from __future__ import annotations

import os
import random

from ..errors import ConfigError
from .identity import write_rows

INSTRUCTION = 'What is {a} + {b}? Put only the number inside <answer></answer>.'
SPLITS = ('train', 'test')


def addition_rows(n: int, split: str = 'train', max_operand: int = 20, seed: int = 0
                  ) -> list[dict]:
    """``n`` distinct addition questions of one split (every third pair is 'test')."""
    if split not in SPLITS:
        raise ConfigError(f'addition rows: split={split!r}; use one of {SPLITS}')
    pairs = [(a, b) for a in range(max_operand + 1) for b in range(max_operand + 1)]
    pairs = [p for i, p in enumerate(pairs) if (i % 3 == 0) == (split == 'test')]
    if n > len(pairs):
        raise ConfigError(f'addition rows: n={n} but max_operand={max_operand} gives only '
                          f'{len(pairs)} {split} questions; raise max_operand')
    random.Random(seed).shuffle(pairs)
    return [{'prompt': INSTRUCTION.format(a=a, b=b), 'answer': str(a + b)}
            for a, b in pairs[:n]]


def write_addition_rows(n: int = 256, split: str = 'train', max_operand: int = 20,
                        seed: int = 0, out_dir: str | os.PathLike | None = None) -> str:
    """Write one split as JSON under the xtuner_like home (or ``out_dir``); return its path."""
    return write_rows(addition_rows(n, split, max_operand, seed), f'{split}_{n}_{max_operand}',
                      out_dir, prefix='addition')
