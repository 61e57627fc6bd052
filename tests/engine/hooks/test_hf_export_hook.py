"""Tests for xtuner_like/engine/hooks/hf_export_hook.py: <work_dir>/hf after training."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from conftest import run_cli
from transformers import AutoModelForCausalLM, AutoTokenizer

from xtuner_like.config import dataset_spec, load_config, parse_options
from xtuner_like.dataset.identity import identity_rows
from xtuner_like.engine.hooks import HFExportHook
from xtuner_like.utils.build import build
from xtuner_like.templates import get_template, render_conversation


def test_training_run_writes_a_loadable_adapter(tiny_run, tiny_model_dir):
    from peft import PeftModel
    hf = tiny_run / 'hf'
    assert (hf / 'adapter_config.json').is_file() and (hf / 'xtuner_config.py').is_file()
    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32)
    PeftModel.from_pretrained(base, hf)
    tok = AutoTokenizer.from_pretrained(hf)
    turns = [{'input': 'Who are you?', 'output': 'I am Tuna.'}]
    messages = [{'role': 'user', 'content': 'Who are you?'},
                {'role': 'assistant', 'content': 'I am Tuna.'}]
    expected = ''.join(t for t, _ in render_conversation(turns, get_template('smollm2_chat'), None,
                                                         tok.eos_token))
    assert tok.apply_chat_template(messages, tokenize=False) == expected


def test_disabled_hook_writes_nothing(tmp_path):
    runner = SimpleNamespace(work_dir=str(tmp_path))  # touching anything else would fail
    HFExportHook(enabled=False).after_train(runner)
    assert not (tmp_path / 'hf').exists()


@pytest.mark.parametrize('override', ['prompt_template=llama3_chat',
                                      'train_dataloader.dataset.prompt_template=llama3_chat'])
def test_exported_chat_template_renders_the_trained_text(override, tmp_path, tiny_model_dir,
                                                         xl_home):
    """Whether the template is set through the knob or through the dataset spec, the exported
    tokenizer's chat_template renders exactly the text the model was trained on (the export
    used to read the knob only, so a dataset-spec override exported ChatML)."""
    options = [f'pretrained_model_name_or_path={tiny_model_dir}', override, 'max_iters=2',
               'warmup_iters=1',
               'save_steps=100', 'evaluation_inputs=[]', 'pack_to_max_length=False']
    assert run_cli(['train', 'smollm2_135m_instruct_lora_identity', '--work-dir', tmp_path,
                    '--cfg-options', *options]) == 0
    cfg = load_config('smollm2_135m_instruct_lora_identity', parse_options(options))
    dataset = build(dataset_spec(cfg))
    assert dataset.chat_format.name == 'llama3_chat'
    trained = dataset.tokenizer.decode(dataset[0]['input_ids'], skip_special_tokens=False,
                                       clean_up_tokenization_spaces=False)
    row = identity_rows(cfg.assistant_name, cfg.assistant_author)[0]
    messages = [{'role': 'user', 'content': row['instruction']},
                {'role': 'assistant', 'content': row['output']}]
    exported = AutoTokenizer.from_pretrained(tmp_path / 'hf')
    assert exported.apply_chat_template(messages, tokenize=False) == trained
