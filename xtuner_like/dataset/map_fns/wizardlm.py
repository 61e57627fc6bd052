"""WizardLM evol-instruct: {'instruction', 'output'} (70k) or ShareGPT 'conversations' (V2)."""
from __future__ import annotations

from ...registry import MAP_FNS
from ._columns import requires, text_fields
from .sharegpt import sharegpt_map_fn


@MAP_FNS.register('wizardlm')
@requires('sft', ('instruction', 'output'), ('conversations',))
def wizardlm_map_fn(row: dict) -> dict:
    """{'instruction', 'output'} or {'conversations': [{'from', 'value'}]} -> conversation

    WizardLM_evol_instruct_70k has instruction/output; WizardLM_evol_instruct_V2_196k holds
    ShareGPT-style conversations (read as by the ``sharegpt`` map_fn).

    >>> wizardlm_map_fn({'instruction': 'Name a prime.', 'output': '7'})
    {'conversation': [{'input': 'Name a prime.', 'output': '7'}]}
    """
    if 'conversations' in row:
        return sharegpt_map_fn(row)
    instruction, output = text_fields(row, 'wizardlm', ('instruction', 'output'))
    return {'conversation': [{'input': instruction, 'output': output}]}
