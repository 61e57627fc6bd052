"""Tests for xtuner_like/templates/chat_format.py: one resolved format per run."""
from __future__ import annotations

import dataclasses

import pytest

from xtuner_like.config import load_config
from xtuner_like.templates import SYSTEM_TEMPLATES, TEMPLATES, to_chat_template
from xtuner_like.templates.chat_format import DEFAULT_TEMPLATE, ChatFormat

RECIPE = 'smollm2_135m_instruct_lora_alpaca'


@pytest.mark.parametrize('name', sorted(TEMPLATES))
def test_build_resolves_every_template_once(name):
    template = TEMPLATES.get(name)
    fmt = ChatFormat.build(name, 'alpaca', ['###'])
    assert fmt.template is template and fmt.name == name
    assert fmt.system == SYSTEM_TEMPLATES.get('alpaca')
    assert fmt.stop_words == tuple(dict.fromkeys([*template.stop_words, '###']))
    assert fmt.chat_template == to_chat_template(template, fmt.system)
    with pytest.raises(dataclasses.FrozenInstanceError):
        fmt.system = 'x'


def test_no_template_is_pre_training():
    fmt = ChatFormat.build(None, 'Plain text.')
    assert fmt.template is None and fmt.chat_template is None and fmt.stop_words == ()
    assert fmt.system == 'Plain text.'


def test_a_dataset_spec_without_a_template_uses_the_builders_default():
    assert ChatFormat.from_dataset_spec({}).name == DEFAULT_TEMPLATE


@pytest.mark.parametrize('options', [
    {'prompt_template': 'llama3_chat', 'system': 'Be brief, please.'},
    {'train_dataloader.dataset.prompt_template': 'llama3_chat',
     'train_dataloader.dataset.system': 'Be brief, please.'}])
def test_from_config_reads_what_the_dataset_renders(options):
    """An override of the knob and of the dataset spec give the same format: the trained one."""
    fmt = ChatFormat.from_config(load_config(RECIPE, options))
    assert fmt.name == 'llama3_chat' and fmt.system == 'Be brief, please.'
