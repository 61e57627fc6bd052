"""Tests for xtuner_like/engine/hooks/hf_export_hook.py: <work_dir>/hf after training."""
from __future__ import annotations

from types import SimpleNamespace

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from xtuner_like.engine.hooks import HFExportHook
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
    expected = ''.join(t for t, _ in render_conversation(turns, get_template('chatml'), None,
                                                         tok.eos_token))
    assert tok.apply_chat_template(messages, tokenize=False) == expected


def test_disabled_hook_writes_nothing(tmp_path):
    runner = SimpleNamespace(work_dir=str(tmp_path))  # touching anything else would fail
    HFExportHook(enabled=False).after_train(runner)
    assert not (tmp_path / 'hf').exists()
