"""Labels: the ignore value and the one count of trained tokens.

A label equal to :data:`IGNORE_INDEX` is not trained (prompt, system and template text,
padding). Labels are stored unshifted (``labels[i]`` is the target of the text *at* ``i``);
the loss predicts ``labels[i + 1]`` from position ``i``, so a collated batch's trained
targets are ``labels[..., 1:]`` (``shifted=True``).
"""
from __future__ import annotations

from typing import Any

IGNORE_INDEX = -100


def count_trained(labels: Any, shifted: bool = False) -> int:
    """Trained labels in ``labels`` (a list, numpy array or torch tensor, any shape).

    ``shifted=True`` counts the targets of a causal LM: the first label of every row has no
    position predicting it and is left out.
    """
    if isinstance(labels, (list, tuple)):
        values = labels[1:] if shifted else labels
        return sum(1 for v in values if v != IGNORE_INDEX)
    values = labels[..., 1:] if shifted else labels
    return int((values != IGNORE_INDEX).sum())
