"""Tests for xtuner_like/templates/equivalence.py: when a model's own chat_template is kept."""
from __future__ import annotations

import pytest
from official_templates import QWEN2_5, SMOLLM2

from xtuner_like.templates import TEMPLATES, get_template, to_chat_template
from xtuner_like.templates.equivalence import first_difference, probes, renders_alike

OURS = to_chat_template(get_template('chatml'))
# ChatML written by hand, as a model's tokenizer_config.json would carry it: plain turns only
HAND_WRITTEN = ("{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\n' + m['content'] + "
                "'<|im_end|>\n' }}{% endfor %}{% if add_generation_prompt %}"
                "{{ '<|im_start|>assistant\n' }}{% endif %}")


@pytest.mark.parametrize('name', list(TEMPLATES))
def test_every_template_is_alike_to_itself(tiny_tokenizer, name):
    ours = to_chat_template(get_template(name))
    assert renders_alike(tiny_tokenizer, ours, ours)


def test_the_probes_cover_every_feature_a_training_row_carries():
    seen = set()
    for messages, tools, prompt in probes():
        seen.add(('system', messages[0]['role'] == 'system'))
        seen.add(('tools', bool(tools)))
        seen.add(('prompt', prompt))
        for m in messages:
            seen.add(('role', m['role']))
            for call in m.get('tool_calls') or []:
                seen.add(('arguments', type(call['function']['arguments']).__name__))
                seen.add(('content', repr(m['content'])))
            if m.get('reasoning_content') or '</think>' in str(m.get('content')):
                seen.add(('thinking', True))
            if m['role'] == 'tool':
                seen.add(('result', type(m['content']).__name__))
    assert seen >= {('system', True), ('system', False), ('tools', True), ('prompt', True),
                    ('role', 'tool'), ('arguments', 'dict'), ('arguments', 'str'),
                    ('content', 'None'), ('content', "''"), ('thinking', True),
                    ('result', 'str'), ('result', 'dict')}


def test_plain_turns_alike_are_not_enough(tiny_tokenizer):
    """SmolLM2's own template (and hand-written ChatML) render plain turns as ours do, but
    ignore tools= and tool_calls: not alike, so a tool-calling model is served ours."""
    smollm2 = to_chat_template(get_template('smollm2_chat'))
    plain = [(m, t, p) for m, t, p in probes() if not t and all(
        'reasoning_content' not in x and '</think>' not in str(x['content']) for x in m)]
    for messages, _, prompt in plain:
        assert tiny_tokenizer.apply_chat_template(
            messages, chat_template=SMOLLM2, tokenize=False, add_generation_prompt=prompt) == \
            tiny_tokenizer.apply_chat_template(messages, chat_template=smollm2, tokenize=False,
                                               add_generation_prompt=prompt)
    assert 'tools' in first_difference(tiny_tokenizer, SMOLLM2, smollm2)
    assert not renders_alike(tiny_tokenizer, HAND_WRITTEN, OURS)


def test_a_difference_on_string_arguments_alone_is_a_difference(tiny_tokenizer):
    """Qwen2.5's official template quotes string arguments (ours writes them as given)."""
    assert not renders_alike(tiny_tokenizer, QWEN2_5, to_chat_template(get_template(
        'qwen2_5_chat')))


def test_one_differing_probe_is_enough_to_differ(tiny_tokenizer):
    extra_prompt = OURS + "{%- if add_generation_prompt -%}{{- 'x' -}}{%- endif -%}"
    assert 'generation prompt' in first_difference(tiny_tokenizer, extra_prompt, OURS)
    broken = OURS.replace("'<tool_response>\\n'", "'<tool_result>\\n'")
    assert broken != OURS and 'tools' in first_difference(tiny_tokenizer, broken, OURS)


def test_a_template_that_raises_or_is_missing_is_not_alike(tiny_tokenizer):
    no_system = ("{% if messages[0]['role'] == 'system' %}{{ raise_exception('no system') }}"
                 "{% endif %}" + OURS)
    assert 'raises' in first_difference(tiny_tokenizer, no_system, OURS)
    assert not renders_alike(tiny_tokenizer, None, OURS)
    assert not renders_alike(tiny_tokenizer, '', OURS)
