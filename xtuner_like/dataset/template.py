"""template_map_fn: a conversation -> segments of text marked trained or not."""
from __future__ import annotations

from ..errors import DatasetFormatError
from ..templates import PromptTemplate, get_template, render_conversation, resolve_system


def template_map_fn(row: dict, template: str | PromptTemplate | None,
                    system: str | None = None, eos_token: str = '') -> dict:
    """{'conversation': [{'input', 'output', ...}]} -> {'segments': [{'text', 'trained'}]}

    Turns may also hold 'system', 'tools' (first turn), 'thinking', 'tool_calls' and
    'tool_results' (written in the template's tool style). Joined, the segments
    are the conversation's text as the exported chat_template renders it, and ``encode``
    tokenizes that text once.

    Segments are dicts (not ``[text, trained]`` pairs) so that Arrow, which cannot
    store lists of mixed types, keeps them in a ``datasets.Dataset``.

    Args:
        row: A dataset row holding ``'conversation'``.
        template: A template name, a PromptTemplate, or None for pre-training.
        system: A system-template name or a literal system text, used for
            conversations whose first turn has no ``'system'``.
        eos_token: The tokenizer's eos text, for ``{eos}`` in the template.
    """
    if 'conversation' not in row:
        raise DatasetFormatError(
            f"row has no 'conversation' (found {sorted(row)}); set a dataset_map_fn "
            "that returns {'conversation': [{'input', 'output'}]}")
    tpl = None if template is None else get_template(template)
    segments = render_conversation(row['conversation'], tpl, system=resolve_system(system),
                                   eos_token=eos_token)
    return {'segments': [{'text': text, 'trained': trained} for text, trained in segments]}
