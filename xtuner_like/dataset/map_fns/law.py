"""Legal QA (ShengbinYue/DISC-Law-SFT): input/output, with 'reference' in the Triplet set."""
from __future__ import annotations

from ...registry import MAP_FNS
from ._columns import requires, text_fields


@MAP_FNS.register('law')
@requires('sft', ('input', 'output'))
def law_map_fn(row: dict) -> dict:
    """{'input', 'output', 'reference'?} -> conversation (use system='lawyer')

    The statutes in ``reference`` (a string or a list) precede the question.

    >>> law_map_fn({'input': '醉驾怎么处罚？', 'output': '处拘役，并处罚金。',
    ...             'reference': ['《刑法》第一百三十三条之一']})['conversation'][0]['input']
    '参考法条：\\n《刑法》第一百三十三条之一\\n\\n醉驾怎么处罚？'
    """
    question, answer = text_fields(row, 'law', ('input', 'output'))
    reference = row.get('reference') or []
    refs = [reference] if isinstance(reference, str) else [str(r) for r in reference]
    if refs:
        question = '参考法条：\n' + '\n'.join(refs) + '\n\n' + question
    return {'conversation': [{'input': question, 'output': answer}]}
