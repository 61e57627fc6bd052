"""Tests for xtuner_like/templates/builtin.py: each family's documented format.

Every expected string below is written out by hand from the family's model card or
official chat template (two turns, system text 'SYS'), not produced by our renderer; the
template's separator follows every reply (ChatML's "<|im_end|>\n"). tests/templates/
test_official.py compares with the official Jinja templates themselves.
"""
from __future__ import annotations

import pytest

from xtuner_like.errors import UnknownNameError
from xtuner_like.templates import TEMPLATES, PromptTemplate, get_template, render_conversation

CONV = [{'input': 'Hi', 'output': 'Hello!'}, {'input': 'Q2', 'output': 'A2'}]

CHATML = ('<|im_start|>system\nSYS<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n'
          '<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\nQ2<|im_end|>\n'
          '<|im_start|>assistant\nA2<|im_end|>')
LLAMA2 = ('<s>[INST] <<SYS>>\nSYS\n<</SYS>>\n\nHi [/INST] Hello! </s>'
          '<s>[INST] Q2 [/INST] A2 </s>')
LLAMA3 = ('<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nSYS<|eot_id|>'
          '<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>'
          '<|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|>'
          '<|start_header_id|>user<|end_header_id|>\n\nQ2<|eot_id|>'
          '<|start_header_id|>assistant<|end_header_id|>\n\nA2<|eot_id|>')
# Mistral v0.3: the system text opens the *last* [INST]; no space before [/INST].
MISTRAL = '<s>[INST] Hi[/INST] Hello!</s>[INST] SYS\n\nQ2[/INST] A2</s>'
MIXTRAL = '<s>[INST] SYS\n\nHi [/INST]Hello!</s>[INST] Q2 [/INST]A2</s>'
VICUNA = 'SYS USER: Hi ASSISTANT: Hello!</s>USER: Q2 ASSISTANT: A2</s>'
DEEPSEEK = ('<｜begin▁of▁sentence｜>SYS\n\nUser: Hi\n\nAssistant: Hello!<｜end▁of▁sentence｜>'
            'User: Q2\n\nAssistant: A2<｜end▁of▁sentence｜>')
GEMMA = ('<bos><start_of_turn>user\nSYS\n\nHi<end_of_turn>\n<start_of_turn>model\n'
         'Hello!<end_of_turn>\n<start_of_turn>user\nQ2<end_of_turn>\n'
         '<start_of_turn>model\nA2<end_of_turn>')
PHI3 = ('<|system|>\nSYS<|end|>\n<|user|>\nHi<|end|>\n<|assistant|>\nHello!<|end|>\n'
        '<|user|>\nQ2<|end|>\n<|assistant|>\nA2<|end|>')
INTERNLM2 = '<s>' + CHATML
DEEPSEEK_EOS = '<｜end▁of▁sentence｜>'

# name -> (eos token of the family, rendered text)
EXPECTED = {
    'default': ('</s>',
                'SYS\n### Instruction:\nHi\n\n### Response:\nHello!</s>'
                '\n\n### Instruction:\nQ2\n\n### Response:\nA2</s>'),
    'chatml': ('<|im_end|>', CHATML),
    'qwen_chat': ('<|im_end|>', CHATML),
    'qwen2_5_chat': ('<|im_end|>', CHATML),
    'qwen3_chat': ('<|im_end|>', CHATML.replace('assistant\nA2', 'assistant\n<think>\n\n'
                                                  '</think>\n\nA2')),
    'qwen3_chat_keep_thinking': ('<|im_end|>', CHATML.replace(
        'assistant\nA2', 'assistant\n<think>\n\n</think>\n\nA2')),
    'smollm2_chat': ('<|im_end|>', CHATML),
    'minicpm3': ('<|im_end|>', CHATML),
    'internlm2_chat': ('</s>', INTERNLM2),
    'internlm2_5_chat': ('</s>', INTERNLM2),
    'phi4_chat': ('<|im_end|>',
                  '<|im_start|>system<|im_sep|>SYS<|im_end|><|im_start|>user<|im_sep|>Hi'
                  '<|im_end|><|im_start|>assistant<|im_sep|>Hello!<|im_end|>'
                  '<|im_start|>user<|im_sep|>Q2<|im_end|><|im_start|>assistant<|im_sep|>A2'
                  '<|im_end|>'),
    'llama2_chat': ('</s>', LLAMA2),
    'code_llama_chat': ('</s>', LLAMA2),
    'llama3_chat': ('<|eot_id|>', LLAMA3),
    'llama3_1_chat': ('<|eot_id|>', LLAMA3.replace(
        '\n\nSYS', '\n\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\nSYS')),
    'mistral': ('</s>', MISTRAL),
    'mixtral': ('</s>', MIXTRAL),
    'zephyr': ('</s>',
               '<|system|>\nSYS</s>\n<|user|>\nHi</s>\n<|assistant|>\nHello!</s>\n'
               '<|user|>\nQ2</s>\n<|assistant|>\nA2</s>'),
    'vicuna': ('</s>', VICUNA),
    'wizardlm': ('</s>', VICUNA),
    'wizardcoder': ('</s>',
                    'SYS\n\n### Instruction:\nHi\n\n### Response:Hello!</s>'
                    '\n\n### Instruction:\nQ2\n\n### Response:A2</s>'),
    'internlm_chat': ('<eoa>',
                      '<s><|System|>:SYS\n<|User|>:Hi<eoh>\n<|Bot|>:Hello!<eoa>\n'
                      '<|User|>:Q2<eoh>\n<|Bot|>:A2<eoa>'),
    'moss_sft': ('<eom>', 'SYSHiHello!Q2A2'),
    'chatglm2': ('</s>',
                 '[gMASK]sopSYS\n\n[Round 1]\n\n问：Hi\n\n答：Hello!</s>'
                 '\n\n[Round 2]\n\n问：Q2\n\n答：A2</s>'),
    'chatglm3': ('</s>',
                 '[gMASK]sop<|system|>\n SYS<|user|>\n Hi<|assistant|>\n Hello!</s>'
                 '<|user|>\n Q2<|assistant|>\n A2</s>'),
    'baichuan_chat': ('</s>', 'SYS<reserved_102>Hi<reserved_103>Hello!</s>'
                              '<reserved_102>Q2<reserved_103>A2</s>'),
    'baichuan2_chat': ('</s>', 'SYS<reserved_106>Hi<reserved_107>Hello!</s>'
                               '<reserved_106>Q2<reserved_107>A2</s>'),
    'deepseek_coder': ('<|EOT|>',
                       '<｜begin▁of▁sentence｜>SYS### Instruction:\nHi\n### Response:\n'
                       'Hello!\n<|EOT|>\n### Instruction:\nQ2\n### Response:\nA2\n<|EOT|>'),
    'deepseek_moe': (DEEPSEEK_EOS, DEEPSEEK),
    'deepseek_v2': (DEEPSEEK_EOS, DEEPSEEK),
    'deepseek_r1': (DEEPSEEK_EOS,
                    '<｜begin▁of▁sentence｜>SYS<｜User｜>Hi<｜Assistant｜>Hello!'
                    '<｜end▁of▁sentence｜><｜User｜>Q2<｜Assistant｜><think>\n\n</think>\n\nA2'
                    '<｜end▁of▁sentence｜>'),
    'deepseek_v3': (DEEPSEEK_EOS,
                    '<｜begin▁of▁sentence｜>SYS<｜User｜>Hi<｜Assistant｜>Hello!'
                    '<｜end▁of▁sentence｜><｜User｜>Q2<｜Assistant｜>A2<｜end▁of▁sentence｜>'),
    'minicpm': ('</s>', '<s>SYS<用户>Hi<AI>Hello!</s><用户>Q2<AI>A2</s>'),
    'gemma': ('<eos>', GEMMA),
    'gemma2': ('<eos>', GEMMA),
    'gemma3': ('<eos>', GEMMA),
    'cohere_chat': ('<|END_OF_TURN_TOKEN|>',
                    '<BOS_TOKEN><|START_OF_TURN_TOKEN|><|SYSTEM_TOKEN|>SYS<|END_OF_TURN_TOKEN|>'
                    '<|START_OF_TURN_TOKEN|><|USER_TOKEN|>Hi<|END_OF_TURN_TOKEN|>'
                    '<|START_OF_TURN_TOKEN|><|CHATBOT_TOKEN|>Hello!<|END_OF_TURN_TOKEN|>'
                    '<|START_OF_TURN_TOKEN|><|USER_TOKEN|>Q2<|END_OF_TURN_TOKEN|>'
                    '<|START_OF_TURN_TOKEN|><|CHATBOT_TOKEN|>A2<|END_OF_TURN_TOKEN|>'),
    'phi3_chat': ('<|endoftext|>', PHI3),
    'phi3_5_chat': ('<|endoftext|>', PHI3),
}

# The reply text each family trains, end-of-turn included (first turn).
TRAINED_FIRST = {
    'llama2_chat': ' Hello! </s>', 'code_llama_chat': ' Hello! </s>', 'mistral': ' Hello!</s>',
    'vicuna': ' Hello!</s>', 'wizardlm': ' Hello!</s>',
    'deepseek_moe': ' Hello!' + DEEPSEEK_EOS, 'deepseek_v2': ' Hello!' + DEEPSEEK_EOS,
    'deepseek_coder': 'Hello!\n<|EOT|>', 'moss_sft': 'Hello!', 'chatglm3': '\n Hello!</s>',
}


def test_every_builtin_has_an_expected_rendering():
    assert set(TEMPLATES) == set(EXPECTED)
    assert len(EXPECTED) >= 30


@pytest.mark.parametrize('name', sorted(EXPECTED))
def test_family_format(name):
    eos, expected = EXPECTED[name]
    template = get_template(name)
    segments = render_conversation(CONV, template, system='SYS', eos_token=eos)
    assert ''.join(text for text, _ in segments) == expected + template.separator
    trained = [text.strip() for text, flag in segments if flag]
    assert trained[0].startswith('Hello!') and trained[1].endswith(template.suffix.replace(
        '{eos}', eos).strip()) and 'A2' in trained[1]
    assert len(trained) == 2


@pytest.mark.parametrize('name', sorted(EXPECTED))
def test_end_of_turn_is_trained(name):
    """The model must learn to stop: the reply's end-of-turn text is in the trained span."""
    eos, expected = EXPECTED[name]
    segments = render_conversation(CONV, get_template(name), system='SYS', eos_token=eos)
    trained = [text for text, flag in segments if flag]
    template = get_template(name)
    want = TRAINED_FIRST.get(name, 'Hello!' + template.suffix.replace('{eos}', eos))
    assert trained[0] == want
    if name != 'moss_sft':  # MOSS's data carries its own <eom>
        assert trained[0] != 'Hello!'


def test_first_turn_without_system():
    segments = render_conversation(CONV[:1], get_template('llama3_chat'), eos_token='')
    assert segments[0] == ('<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi'
                           '<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n', False)
    segments = render_conversation(CONV[:1], get_template('gemma'), eos_token='<eos>')
    assert segments[0][0] == '<bos><start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\n'


@pytest.mark.parametrize('name', sorted(EXPECTED))
def test_templates_are_named_after_their_key(name):
    assert isinstance(get_template(name), PromptTemplate)
    assert get_template(name).name == name


def test_get_template_passes_objects_and_suggests_names():
    tpl = get_template('chatml')
    assert get_template(tpl) is tpl
    with pytest.raises(UnknownNameError, match="did you mean 'chatml'"):
        get_template('chatm1')
    with pytest.raises(UnknownNameError, match="did you mean 'llama3_chat'"):
        get_template('llama3-chat')
