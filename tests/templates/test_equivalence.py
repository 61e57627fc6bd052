"""Tests for xtuner_like/templates/equivalence.py: when a model's own chat_template is kept."""
from __future__ import annotations

from xtuner_like.templates import get_template, to_chat_template
from xtuner_like.templates.equivalence import renders_alike

OURS = to_chat_template(get_template('chatml'))
# ChatML written by hand, as a model's tokenizer_config.json would carry it
HAND_WRITTEN = ("{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\n' + m['content'] + "
                "'<|im_end|>\n' }}{% endfor %}{% if add_generation_prompt %}"
                "{{ '<|im_start|>assistant\n' }}{% endif %}")


def test_a_template_that_renders_every_probe_alike_is_kept(tiny_tokenizer):
    assert renders_alike(tiny_tokenizer, OURS, OURS)
    assert renders_alike(tiny_tokenizer, HAND_WRITTEN, OURS)


def test_one_differing_probe_is_enough_to_differ(tiny_tokenizer):
    # the same text, but no generation prompt: only the prompt probes differ
    no_prompt = HAND_WRITTEN.split('{% if add_generation_prompt %}')[0]
    assert not renders_alike(tiny_tokenizer, no_prompt, OURS)
    one_space = HAND_WRITTEN.replace("'<|im_end|>\n'", "'<|im_end|> '")   # every probe differs
    assert one_space != HAND_WRITTEN and not renders_alike(tiny_tokenizer, one_space, OURS)


def test_a_template_that_raises_or_is_missing_is_not_alike(tiny_tokenizer):
    no_system = ("{% if messages[0]['role'] == 'system' %}{{ raise_exception('no system') }}"
                 "{% endif %}" + HAND_WRITTEN)
    assert not renders_alike(tiny_tokenizer, no_system, OURS)
    assert not renders_alike(tiny_tokenizer, None, OURS)
    assert not renders_alike(tiny_tokenizer, '', OURS)
