"""Tests for xtuner_like/convert/modelfile.py: chat templates as Ollama Go templates."""
from __future__ import annotations

import shutil

import pytest

from xtuner_like.convert.modelfile import _render, chat_pieces, go_template, render_pieces
from xtuner_like.templates import get_template, to_chat_template
from xtuner_like.templates.builtin import TEMPLATES

SYSTEM = [{'role': 'system', 'content': 'Be brief.'}]
TURNS = [{'role': 'user', 'content': 'Hi there'}, {'role': 'assistant', 'content': 'Hello!'},
         {'role': 'user', 'content': 'Who are you?'}]


@pytest.mark.parametrize('name', sorted(TEMPLATES))
def test_every_builtin_template_replays_exactly(name):
    """The pieces rebuild the Jinja rendering of any conversation; with a system message too
    where the template has a system block of its own (else the Modelfile has no system)."""
    template = get_template(name)
    jinja = to_chat_template(template, None)
    pieces = chat_pieces(jinja, '<s>', '</s>')
    assert pieces is not None, name
    for n in (1, 3):
        assert render_pieces(pieces, TURNS[:n]) == _render(jinja, TURNS[:n], '<s>', '</s>')
    if pieces.system_pre is not None:
        assert render_pieces(pieces, SYSTEM + TURNS) == \
            _render(jinja, SYSTEM + TURNS, '<s>', '</s>')
    else:  # llama2/mistral/gemma put the system text inside the first instruction
        assert '{system}' in template.instruction or not template.system


def test_chatml_go_template():
    pieces = chat_pieces(to_chat_template(get_template('chatml'), None), '', '<|im_end|>')
    assert pieces.reply_post == '<|im_end|>\n'
    text = go_template(pieces)
    assert '{{ else if eq .Role "user" }}<|im_start|>user\n{{ .Content }}<|im_end|>\n' \
           '<|im_start|>assistant\n{{ else if eq .Role "assistant" }}' in text


def test_a_template_that_does_not_split_gives_none():
    assert chat_pieces('{{ messages | length }}') is None


def test_write_modelfile(tiny_model_dir, tmp_path):
    from transformers import AutoTokenizer

    from xtuner_like.convert.hf_to_gguf import hf_to_gguf
    from xtuner_like.convert.modelfile import write_modelfile
    model = tmp_path / 'model'
    shutil.copytree(tiny_model_dir, model)
    tokenizer = AutoTokenizer.from_pretrained(model)
    tokenizer.chat_template = to_chat_template(get_template('chatml'), None)
    tokenizer.save_pretrained(model)
    text = write_modelfile(hf_to_gguf(model, tmp_path / 'out' / 'm.gguf', 'q8_0')).read_text()
    assert text.startswith('FROM ./m.gguf\nTEMPLATE """{{ if not .System }}')
    assert 'PARAMETER stop "<|im_end|>"' in text


def test_a_generation_prompt_unlike_the_history_tells_the_last_message_apart():
    """DeepSeek-R1 opens <think> only where the model answers next; earlier replies follow
    the plain assistant tag, and the Go template says which is which."""
    pieces = chat_pieces(to_chat_template(get_template('deepseek_r1'), None), '<s>', '</s>')
    assert pieces.user_post.endswith('<think>\n') and not pieces.reply_pre.endswith('<think>\n')
    text = go_template(pieces)
    assert '{{ $last := eq (len (slice $.Messages $i)) 1 }}' in text
    assert '{{ if $last }}' + pieces.user_post + '{{ else }}' + pieces.reply_pre in text
