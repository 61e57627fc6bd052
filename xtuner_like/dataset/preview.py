"""Show a processed sample as text with its trained spans marked."""
from __future__ import annotations

from itertools import groupby
from typing import Any, Sequence

from ..utils.labels import IGNORE_INDEX

MARK_OPEN, MARK_CLOSE = '[[', ']]'
GREEN, RESET = '\033[32m', '\033[0m'


def trained_spans_text(input_ids: Sequence[int], labels: Sequence[int], tokenizer: Any,
                       color: bool = False) -> str:
    """Decode ``input_ids``; text whose label is trained is wrapped in [[...]] (or green)."""
    ids, labs = [int(i) for i in input_ids], [int(v) for v in labels]
    parts = []
    for trained, run in groupby(range(len(ids)), key=lambda i: labs[i] != IGNORE_INDEX):
        run = list(run)
        text = tokenizer.decode(ids[run[0]:run[-1] + 1], skip_special_tokens=False)
        if trained:
            text = f'{GREEN}{text}{RESET}' if color else f'{MARK_OPEN}{text}{MARK_CLOSE}'
        parts.append(text)
    return ''.join(parts)
