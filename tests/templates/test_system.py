"""Tests for xtuner_like/templates/system.py."""
from __future__ import annotations

import pytest

from xtuner_like.templates import SYSTEM_TEMPLATES, resolve_system

NAMES = ['alpaca', 'arxiv_gentile', 'coder', 'colorist', 'lawyer', 'medical', 'moss_sft', 'sql']


def test_all_system_templates_present_and_non_empty():
    assert set(NAMES) <= set(SYSTEM_TEMPLATES)
    for name in NAMES:
        assert SYSTEM_TEMPLATES.get(name).strip()


def test_resolve_system():
    assert resolve_system('alpaca').startswith('Below is an instruction')
    assert resolve_system('You are a pirate.') == 'You are a pirate.'
    assert resolve_system(None) is None


def test_resolve_system_rejects_non_strings():
    from xtuner_like.errors import ConfigError
    with pytest.raises(ConfigError):
        resolve_system(3)


def test_moss_sft_is_moss_meta_instruction():
    text = resolve_system('moss_sft')
    assert text.startswith('You are an AI assistant whose name is MOSS.\n')
    assert text.endswith('- Text-to-speech: disabled.\n')
