"""Tests for xtuner_like/model/export.py: the folder layout shared by pth_to_hf and the hook."""
from __future__ import annotations

import copy

import pytest
import torch
from convert_helpers import logits
from official_templates import OFFICIAL, SMOLLM2
from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaConfig, LlamaForCausalLM

from xtuner_like.dataset.encode import encode_segments
from xtuner_like.dataset.map_fns.openai import openai_map_fn
from xtuner_like.dataset.template import template_map_fn
from xtuner_like.model import SupervisedFinetune
from xtuner_like.model.export import chat_tokenizer, save_hf
from xtuner_like.templates import TEMPLATES, get_template, to_chat_template
from xtuner_like.templates.chat_format import ChatFormat


def test_full_model_with_tied_embeddings_round_trips(tiny_tokenizer, tmp_path):
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(tiny_tokenizer), hidden_size=32, intermediate_size=64,
                         num_hidden_layers=1, num_attention_heads=4, num_key_value_heads=2,
                         tie_word_embeddings=True)
    model = SupervisedFinetune(llm=LlamaForCausalLM(config)).eval()
    out = save_hf(model, tiny_tokenizer, tmp_path / 'hf', chat_format=ChatFormat.build('chatml'),
                  dtype='fp16', config_text='x = 1\n')
    loaded = AutoModelForCausalLM.from_pretrained(out, dtype=torch.float32).eval()
    torch.testing.assert_close(logits(loaded), logits(model.llm), atol=2e-3, rtol=2e-3)
    assert next(model.llm.parameters()).dtype == torch.float32  # the live model is untouched
    assert not model.llm.config.use_cache  # ... and so is its config
    assert (out / 'xtuner_config.py').read_text() == 'x = 1\n'
    assert AutoTokenizer.from_pretrained(out).chat_template


# --- chat_tokenizer: the exported tokenizer serves the training ids, tools included ---------
TOOLS = [{'type': 'function', 'function': {
    'name': 'lookup', 'description': 'Look a word up.',
    'parameters': {'type': 'object', 'properties': {'word': {'type': 'string'}}}}}]


def _call(call_id, arguments):
    return {'id': call_id, 'type': 'function',
            'function': {'name': 'lookup', 'arguments': arguments}}


def tool_rows(template):
    """Tool conversations the template's style can write: calls with object and string
    arguments, None and '' content, text and object results, with and without a system."""
    bare = template.tool_style != 'hermes'
    first = {'role': 'assistant', 'content': None,
             'tool_calls': [_call('abcdefgh1', {'word': 'x'})]}
    second = {'role': 'assistant', 'content': '' if bare else 'Looking again.',
              'tool_calls': [_call('abcdefgh2', '{"word": "y"}')]}
    messages = [{'role': 'user', 'content': 'Define x.'}, first,
                {'role': 'tool', 'tool_call_id': 'abcdefgh1', 'content': 'x: a letter'},
                {'role': 'assistant', 'content': 'x is a letter.'},
                {'role': 'user', 'content': 'And y?'}, second,
                {'role': 'tool', 'tool_call_id': 'abcdefgh2', 'content': {'y': 'a letter'}},
                {'role': 'assistant', 'content': 'y is one too.'}]
    rows = [{'messages': messages, 'tools': TOOLS},
            {'messages': messages[:4], 'tools': TOOLS},
            {'messages': [{'role': 'user', 'content': 'Hi'},
                          {'role': 'assistant', 'content': 'Hello!'}], 'tools': TOOLS}]
    if template.system and not template.system_last:
        rows += [{'messages': [{'role': 'system', 'content': 'Be brief.'}, *messages],
                  'tools': TOOLS}]
    if template.thinking:
        rows += [{'messages': [{'role': 'user', 'content': 'Q'},
                               {'role': 'assistant', 'content': 'A', 'reasoning_content': 'R'}]}]
    return rows


def base_templates(name):
    """Chat templates a base tokenizer may carry: none, SmolLM2's (plain ChatML, no tools),
    the family's official one, and ours (an earlier export)."""
    official = OFFICIAL.get(name, (None,))[0]
    return [None, SMOLLM2, to_chat_template(get_template(name)),
            *([official] if isinstance(official, str) else [])]


@pytest.mark.parametrize('name', list(TEMPLATES))
def test_every_template_exports_a_tokenizer_that_serves_its_tool_training_ids(
        tiny_tokenizer, name):
    template = get_template(name)
    eos = tiny_tokenizer.eos_token
    rows = tool_rows(template)
    trained = [encode_segments(template_map_fn(openai_map_fn(row), name, eos_token=eos)[
        'segments'], tiny_tokenizer, 4096)['input_ids'] for row in rows]
    for base in base_templates(name):
        source = copy.deepcopy(tiny_tokenizer)
        source.chat_template = base
        served = chat_tokenizer(source, ChatFormat.build(name))
        for row, ids in zip(rows, trained):
            got = served.apply_chat_template(row['messages'], tools=row.get('tools'),
                                             tokenize=True, return_dict=False)
            assert got == ids, (name, base and base[:40], row['messages'][-1])
