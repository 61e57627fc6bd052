"""Tests for xtuner_like/convert/pth_to_hf.py: checkpoints -> adapter or full model folders."""
from __future__ import annotations

import json

import pytest
import torch
from convert_helpers import RECIPES, checkpoints, logits, tiny_options  # noqa: F401
from transformers import AutoModelForCausalLM, AutoTokenizer

from xtuner_like.model.export import CONFIG_NAME
from xtuner_like.convert.pth_to_hf import pth_to_hf
from xtuner_like.errors import CheckpointError
from xtuner_like.templates import TEMPLATES, get_template, render_conversation
from xtuner_like.templates.chat_format import ChatFormat
from xtuner_like.utils.io import safe_load

CONVERSATION = [{'input': 'Who are you?', 'output': 'I am Tuna.'},
                {'input': 'And?', 'output': 'Made by the xtuner_like team.'}]


def messages_of(turns, system=None):
    messages = [{'role': 'system', 'content': system}] if system else []
    for turn in turns:
        messages += [{'role': 'user', 'content': turn['input']},
                     {'role': 'assistant', 'content': turn['output']}]
    return messages


def convert(checkpoints, kind, tiny_model_dir, out, **kwargs):
    path, _ = checkpoints[kind]
    return pth_to_hf(RECIPES[kind], path, out, cfg_options=tiny_options(tiny_model_dir),
                     **kwargs)


@pytest.mark.parametrize('kind', ['lora', 'qlora'])
def test_adapter_loads_with_peft_and_gives_the_trained_logits(
        checkpoints, kind, tiny_model_dir, tmp_path):
    from peft import PeftModel
    out = convert(checkpoints, kind, tiny_model_dir, tmp_path / 'hf')
    assert (out / 'adapter_config.json').is_file()
    assert (out / 'adapter_model.safetensors').is_file()
    assert json.loads((out / 'adapter_config.json').read_text())['base_model_name_or_path'] \
        == str(tiny_model_dir)
    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32)
    loaded = PeftModel.from_pretrained(base, out).eval()
    trained = checkpoints[kind][1].llm
    if kind == 'lora':  # QLoRA trained on a 4-bit base: compare with the fp32 base instead
        torch.testing.assert_close(logits(loaded), logits(trained), atol=1e-5, rtol=1e-5)
    untouched = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32)
    assert (logits(loaded) - logits(untouched)).abs().max() > 1e-3  # the adapter is there
    assert 'smollm2_chat' in (out / CONFIG_NAME).read_text()  # the recipe's template


def test_full_model_loads_with_auto_model(checkpoints, tiny_model_dir, tmp_path):
    out = convert(checkpoints, 'full', tiny_model_dir, tmp_path / 'hf')
    model = AutoModelForCausalLM.from_pretrained(out).eval()
    torch.testing.assert_close(logits(model), logits(checkpoints['full'][1].llm),
                               atol=1e-5, rtol=1e-5)
    assert model.config.use_cache  # training turned it off; serving needs it
    tok = AutoTokenizer.from_pretrained(out)
    eos = model.generation_config.eos_token_id  # the eos, then the template's stop words
    stops = [tok.convert_tokens_to_ids(w) for w in get_template('chatml').stop_words]
    assert eos[0] == tok.eos_token_id and set(stops) <= set(eos)


def test_dtype_option(checkpoints, tiny_model_dir, tmp_path):
    out = convert(checkpoints, 'full', tiny_model_dir, tmp_path / 'hf', dtype='bf16')
    model = AutoModelForCausalLM.from_pretrained(out, dtype='auto')
    assert next(model.parameters()).dtype == torch.bfloat16


def test_no_safe_serialization_writes_a_torch_adapter(checkpoints, tiny_model_dir, tmp_path):
    out = convert(checkpoints, 'lora', tiny_model_dir, tmp_path / 'hf', safe_serialization=False)
    assert (out / 'adapter_model.bin').is_file()
    assert not (out / 'adapter_model.safetensors').exists()


def test_chat_template_of_the_converted_dir_renders_the_training_text(
        checkpoints, tiny_model_dir, tmp_path):
    out = convert(checkpoints, 'lora', tiny_model_dir, tmp_path / 'hf')
    tok = AutoTokenizer.from_pretrained(out)
    expected = ''.join(t for t, _ in render_conversation(
        CONVERSATION, get_template('chatml'), 'Be brief.', tok.eos_token))
    assert tok.apply_chat_template(messages_of(CONVERSATION, 'Be brief.'),
                                   tokenize=False) == expected


@pytest.mark.parametrize('name', sorted(TEMPLATES))
def test_every_template_round_trips_through_a_saved_tokenizer(name, tiny_tokenizer, tmp_path):
    from xtuner_like.model.export import chat_tokenizer
    template = get_template(name)
    system = 'Be brief.' if template.system else None
    chat_tokenizer(tiny_tokenizer, ChatFormat.build(name, system)).save_pretrained(tmp_path)
    tok = AutoTokenizer.from_pretrained(tmp_path)
    for turns in (CONVERSATION[:1], CONVERSATION):
        for explicit in ((None, system) if system else (None,)):
            expected = ''.join(t for t, _ in render_conversation(
                turns, template, explicit or system, tok.eos_token))
            got = tok.apply_chat_template(messages_of(turns, explicit), tokenize=False)
            assert got == expected


def test_checkpoint_of_another_config_is_a_clear_error(checkpoints, tiny_model_dir, tmp_path):
    path, _ = checkpoints['lora']
    with pytest.raises(CheckpointError) as info:
        pth_to_hf(RECIPES['full'], path, tmp_path / 'hf',
                  cfg_options=tiny_options(tiny_model_dir))
    assert str(path) in str(info.value) and RECIPES['full'] in str(info.value)
    assert not (tmp_path / 'hf').exists()


def test_lora_rank_mismatch_is_a_clear_error(checkpoints, tiny_model_dir, tmp_path):
    path, _ = checkpoints['lora']
    with pytest.raises(CheckpointError, match='does not match config.*size mismatch'):
        pth_to_hf(RECIPES['lora'], path, tmp_path / 'hf',
                  cfg_options=tiny_options(tiny_model_dir, lora_r=8))


def test_a_file_without_weights_is_a_clear_error(tiny_model_dir, tmp_path):
    bad = tmp_path / 'bad.pth'
    torch.save({'meta': {}}, bad)
    with pytest.raises(CheckpointError, match='no model weights'):
        pth_to_hf(RECIPES['lora'], bad, tmp_path / 'hf', cfg_options=tiny_options(tiny_model_dir))


def test_deepspeed_folder_needs_deepspeed(tiny_model_dir, tmp_path):
    import importlib.util
    if importlib.util.find_spec('deepspeed') is not None:
        pytest.skip('deepspeed is installed; the DeepSpeed tests cover this path')
    folder = tmp_path / 'iter_3.pth' / 'global_step3'
    folder.mkdir(parents=True)
    torch.save({}, folder / 'mp_rank_00_model_states.pt')
    with pytest.raises(CheckpointError, match='needs deepspeed'):
        pth_to_hf(RECIPES['lora'], tmp_path / 'iter_3.pth', tmp_path / 'hf',
                  cfg_options=tiny_options(tiny_model_dir))


def test_out_dir_must_be_empty(checkpoints, tiny_model_dir, tmp_path):
    (tmp_path / 'hf').mkdir()
    (tmp_path / 'hf' / 'keep.txt').write_text('mine')
    with pytest.raises(CheckpointError, match='not an empty directory'):
        convert(checkpoints, 'lora', tiny_model_dir, tmp_path / 'hf')
    assert (tmp_path / 'hf' / 'keep.txt').read_text() == 'mine'


def test_ema_exports_the_averaged_weights(checkpoints, tiny_model_dir, tmp_path):
    from safetensors.torch import load_file
    path, _ = checkpoints['lora']
    state = safe_load(path)
    average = {k: v.float() + 0.25 for k, v in state['state_dict'].items() if 'lora_' in k}
    torch.save({**state, 'ema': {'decay': 0.9, 'every': 1, 'updates': 3,
                                 'state_dict': average}}, tmp_path / 'with_ema.pth')
    out = pth_to_hf(RECIPES['lora'], tmp_path / 'with_ema.pth', tmp_path / 'hf',
                    cfg_options=tiny_options(tiny_model_dir), ema=True)
    exported = load_file(out / 'adapter_model.safetensors')
    for name, tensor in average.items():
        torch.testing.assert_close(
            exported[name.removeprefix('llm.').replace('.default.', '.')],
            tensor.to(state['state_dict'][name].dtype), atol=0, rtol=0)


def test_ema_of_a_run_without_ema_is_a_clear_error(checkpoints, tiny_model_dir, tmp_path):
    path, _ = checkpoints['lora']
    with pytest.raises(CheckpointError, match="holds no EMA.*convert without --ema"):
        pth_to_hf(RECIPES['lora'], path, tmp_path / 'hf',
                  cfg_options=tiny_options(tiny_model_dir), ema=True)
    assert not (tmp_path / 'hf').exists()
