"""The exported tokenizer serves what was trained: chat_tokenizer in model/export.py, and
the tokenizer a real LoRA run writes to <work_dir>/hf (tools, tool messages, ids)."""
from __future__ import annotations

import json

import pytest
from conftest import make_tiny_tokenizer, run_cli
from official_templates import SMOLLM2

from xtuner_like.model.export import chat_tokenizer
from xtuner_like.templates.chat_format import ChatFormat
from xtuner_like.dataset.encode import encode_segments
from xtuner_like.dataset.map_fns.openai import openai_map_fn
from xtuner_like.dataset.template import template_map_fn
from xtuner_like.templates import get_template, to_chat_template

TOOLS = [{'type': 'function', 'function': {
    'name': 'get_weather', 'parameters': {'type': 'object',
                                          'properties': {'city': {'type': 'string'}}}}}]
TOOL_ROW = {'tools': TOOLS, 'messages': [
    {'role': 'user', 'content': 'Weather in Paris?'},
    {'role': 'assistant', 'content': None, 'tool_calls': [
        {'type': 'function', 'function': {'name': 'get_weather',
                                          'arguments': {'city': 'Paris'}}}]},
    {'role': 'tool', 'content': '21 C'},
    {'role': 'assistant', 'content': 'It is 21 C in Paris.'}]}
PLAIN_ROW = {'messages': [{'role': 'user', 'content': 'Who are you?'},
                          {'role': 'assistant', 'content': 'I am Tuna.'}]}


def test_base_chat_template_is_kept_only_when_it_renders_tools_alike(tiny_tokenizer):
    base = make_tiny_tokenizer()
    base.chat_template = SMOLLM2  # plain turns alike, but it ignores tools= and tool_calls
    ours = to_chat_template(get_template('smollm2_chat'))
    assert chat_tokenizer(base, ChatFormat.build('smollm2_chat')).chat_template == ours
    base.chat_template = ours     # an earlier export of ours is kept
    assert chat_tokenizer(base, ChatFormat.build('smollm2_chat')).chat_template == ours
    # plain ChatML drops SmolLM2's default system text: not equivalent, ours is written
    assert chat_tokenizer(base, ChatFormat.build('chatml')).chat_template == to_chat_template(
        get_template('chatml'))
    base.chat_template = None
    assert chat_tokenizer(base, ChatFormat.build('smollm2_chat')).chat_template


def test_lora_run_exports_a_tokenizer_that_serves_tool_turns(tmp_path, tiny_model_dir, xl_home):
    """A LoRA run with a tool-calling template: its exported tokenizer renders a `tool`
    message and `tools=` through apply_chat_template, with the training ids."""
    from transformers import AutoTokenizer
    data = tmp_path / 'tools.jsonl'
    rows = [TOOL_ROW, PLAIN_ROW] * 20   # enough samples for the epoch schedule's warm-up
    data.write_text(''.join(json.dumps(r) + '\n' for r in rows))
    work = tmp_path / 'work'
    rc = run_cli(['train', 'custom_openai_jsonl_lora', '--work-dir', work, '--cfg-options',
                  f'pretrained_model_name_or_path={tiny_model_dir}', f'data_files={data}',
                  'prompt_template=qwen2_5_chat', 'max_epochs=1', 'pack_to_max_length=False',
                  'accumulative_counts=4', 'evaluation_max_new_tokens=2', 'log_interval=1'])
    assert rc == 0
    served = AutoTokenizer.from_pretrained(work / 'hf')
    assert (work / 'hf' / 'adapter_config.json').exists()
    trained_tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    for row in (TOOL_ROW, PLAIN_ROW):
        segments = template_map_fn(openai_map_fn(row), 'qwen2_5_chat',
                                   eos_token=trained_tokenizer.eos_token)['segments']
        trained = encode_segments(segments, trained_tokenizer, 2048)['input_ids']
        ids = served.apply_chat_template(row['messages'], tools=row.get('tools'),
                                         tokenize=True, return_dict=False)
        assert ids == trained
    text = served.apply_chat_template(TOOL_ROW['messages'], tools=TOOLS, tokenize=False)
    assert '<tool_response>\n21 C\n</tool_response>' in text and '"name": "get_weather"' in text
    prompt = served.apply_chat_template(TOOL_ROW['messages'][:3], tools=TOOLS, tokenize=False,
                                        add_generation_prompt=True)
    assert text.startswith(prompt) and prompt.endswith('<|im_start|>assistant\n')


@pytest.mark.parametrize('role', ['function', 'ipython'])
def test_unknown_roles_are_a_clear_error(tiny_tokenizer, role):
    tok = chat_tokenizer(tiny_tokenizer, ChatFormat.build('qwen2_5_chat'))
    with pytest.raises(Exception, match=f'has role {role}'):
        tok.apply_chat_template([{'role': 'user', 'content': 'a'},
                                 {'role': role, 'content': 'b'}], tokenize=False)
