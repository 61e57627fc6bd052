"""Tests for xtuner_like/templates/chat_format.py: one resolved format per run."""
from __future__ import annotations

import dataclasses

import pytest

from xtuner_like.templates import SYSTEM_TEMPLATES, TEMPLATES, to_chat_template
from xtuner_like.templates.chat_format import ChatFormat



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


