"""Tests for xtuner_like/templates/builtin.py: each family's documented format."""
from __future__ import annotations

import pytest

from xtuner_like.errors import UnknownNameError
from xtuner_like.templates import TEMPLATES, PromptTemplate, get_template, render_conversation

CONV = [{'input': 'Hi', 'output': 'Hello!'}, {'input': 'Q2', 'output': 'A2'}]

EXPECTED = {
    'default': ('</s>',
                'SYS\n### Instruction:\nHi\n\n### Response:\nHello!</s>'
                '\n\n### Instruction:\nQ2\n\n### Response:\nA2</s>'),
    'chatml': ('<|im_end|>',
               '<|im_start|>system\nSYS<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n'
               '<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\nQ2<|im_end|>\n'
               '<|im_start|>assistant\nA2<|im_end|>'),
    'qwen_chat': ('<|im_end|>',
                  '<|im_start|>system\nSYS<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n'
                  '<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\nQ2<|im_end|>\n'
                  '<|im_start|>assistant\nA2<|im_end|>'),
    'internlm2_chat': ('</s>',
                       '<s><|im_start|>system\nSYS<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n'
                       '<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\nQ2'
                       '<|im_end|>\n<|im_start|>assistant\nA2<|im_end|>'),
    'llama2_chat': ('</s>',
                    '<s>[INST] <<SYS>>\nSYS\n<</SYS>>\n\nHi [/INST] Hello! </s>'
                    '<s>[INST] Q2 [/INST] A2 </s>'),
    'llama3_chat': ('<|eot_id|>',
                    '<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nSYS<|eot_id|>'
                    '<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>'
                    '<|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|>'
                    '<|start_header_id|>user<|end_header_id|>\n\nQ2<|eot_id|>'
                    '<|start_header_id|>assistant<|end_header_id|>\n\nA2<|eot_id|>'),
    'mistral': ('</s>', '<s>[INST] SYS\n\nHi [/INST] Hello!</s>[INST] Q2 [/INST] A2</s>'),
    'zephyr': ('</s>',
               '<|system|>\nSYS</s>\n<|user|>\nHi</s>\n<|assistant|>\nHello!</s>\n'
               '<|user|>\nQ2</s>\n<|assistant|>\nA2</s>'),
    'vicuna': ('</s>', 'SYS USER: Hi ASSISTANT: Hello!</s>USER: Q2 ASSISTANT: A2</s>'),
}


def test_every_builtin_has_an_expected_rendering():
    assert set(TEMPLATES) == set(EXPECTED)


@pytest.mark.parametrize('name', sorted(EXPECTED))
def test_family_format(name):
    eos, expected = EXPECTED[name]
    segments = render_conversation(CONV, get_template(name), system='SYS', eos_token=eos)
    assert ''.join(text for text, _ in segments) == expected
    trained = [text for text, flag in segments if flag]
    assert trained[0].startswith('Hello!') and trained[1].startswith('A2')
    assert len(trained) == 2


@pytest.mark.parametrize('name', sorted(EXPECTED))
def test_templates_are_named_after_their_key(name):
    assert isinstance(get_template(name), PromptTemplate)
    assert get_template(name).name == name


def test_get_template_passes_objects_and_suggests_names():
    tpl = get_template('chatml')
    assert get_template(tpl) is tpl
    with pytest.raises(UnknownNameError, match="did you mean 'chatml'"):
        get_template('chatm1')
