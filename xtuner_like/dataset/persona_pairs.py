"""Persona preference demo data: the chosen reply keeps the assistant's persona, the rejected
one gives the base model's own identity.

Built from the self-cognition rows (dataset/identity.py): the same question answered as
``name`` by ``author`` (chosen) and as ``rejected_name`` by ``rejected_author`` (rejected).
Every fifth question is held out (``split='test'``), so a run can report preference
accuracy on pairs it never trained on; ``split='all'`` is both, in order (the recipes hold out
every fifth row with the dataset option ``holdout=0.2``: the same pairs).
"""
from __future__ import annotations

import os

from ..errors import ConfigError
from .identity import identity_rows, write_rows

SPLITS = ('train', 'test', 'all')
KINDS = ('preference', 'kto')


def persona_pairs(name: str, author: str, rejected_name: str = 'SmolLM',
                  rejected_author: str = 'Hugging Face', split: str = 'train') -> list[dict]:
    """``[{'prompt', 'chosen', 'rejected'}]`` (plain_preference rows) of one split."""
    if split not in SPLITS:
        raise ConfigError(f'persona pairs: split={split!r}; use one of {SPLITS}')
    chosen = identity_rows(name, author)
    rejected = identity_rows(rejected_name, rejected_author)
    rows = [{'prompt': '\n'.join(p for p in (c['instruction'], c['input']) if p),
             'chosen': c['output'], 'rejected': r['output']}
            for c, r in zip(chosen, rejected)]
    if split == 'all':
        return rows
    held_out = split == 'test'
    return [row for i, row in enumerate(rows) if (i % 5 == 4) == held_out]


def kto_rows(pairs: list[dict]) -> list[dict]:
    """Pairs -> unpaired KTO rows: each chosen reply desirable, each rejected one not."""
    return [{'prompt': p['prompt'], 'completion': p[side], 'label': side == 'chosen'}
            for p in pairs for side in ('chosen', 'rejected')]


def write_persona_pairs(name: str = 'Tuna', author: str = 'the xtuner_like team',
                        rejected_name: str = 'SmolLM', rejected_author: str = 'Hugging Face',
                        split: str = 'train', kind: str = 'preference',
                        out_dir: str | os.PathLike | None = None) -> str:
    """Write one split as JSON (``kind='preference'`` pairs or ``'kto'`` rows); return its path."""
    if kind not in KINDS:
        raise ConfigError(f'persona pairs: kind={kind!r}; use one of {KINDS}')
    rows = persona_pairs(name, author, rejected_name, rejected_author, split)
    return write_rows(kto_rows(rows) if kind == 'kto' else rows, f'{name}_{split}', out_dir,
                      prefix=f'persona_{kind}')
