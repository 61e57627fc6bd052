"""`xtuner-like list-templates`: names, filters, and a rendered two-turn example."""
from __future__ import annotations

import pytest
from conftest import run_cli

from xtuner_like.templates import TEMPLATES


def test_lists_every_template(capsys):
    assert run_cli(['list-templates']) == 0
    assert capsys.readouterr().out.split() == list(TEMPLATES)


@pytest.mark.parametrize('pattern, expected', [
    ('qwen', {'qwen_chat', 'qwen2_5_chat', 'qwen3_chat', 'qwen3_chat_keep_thinking'}),
    ('llama3*', {'llama3_chat', 'llama3_1_chat'}),
])
def test_pattern_filters(capsys, pattern, expected):
    assert run_cli(['list-templates', '-p', pattern]) == 0
    assert set(capsys.readouterr().out.split()) == expected


def test_no_match_is_exit_1(capsys):
    assert run_cli(['list-templates', '-p', 'nope']) == 1
    assert "no prompt template matches 'nope'" in capsys.readouterr().out


@pytest.mark.parametrize('name', list(TEMPLATES))
def test_show_renders_two_turns_with_trained_replies_marked(capsys, name):
    assert run_cli(['list-templates', '--show', name]) == 0
    out = capsys.readouterr().out
    body = '\n'.join(line for line in out.splitlines() if not line.startswith('# '))
    assert body.count('[[') == 2 and 'Hi!' in body
    assert 'Hello!' in body.split('[[')[1] and '4.' in body.split('[[')[2]


def test_show_unknown_suggests(capsys):
    assert run_cli(['list-templates', '--show', 'chatm1']) == 1
    assert "did you mean 'chatml'" in capsys.readouterr().err
