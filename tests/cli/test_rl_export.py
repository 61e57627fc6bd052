"""A GRPO run's result through the export path (issue 26, item 8): `convert pth_to_hf` (live
weights and `--ema`), `convert merge`, `chat` and `eval` all take it, and the merged model
gives the logits of the base with the adapter."""
from __future__ import annotations

import io
import json

import torch
from conftest import run_cli

RECIPE = 'smollm2_135m_instruct_lora_grpo'


def test_a_grpo_run_converts_merges_chats_and_evaluates(tmp_path, tiny_model_dir, xl_home,
                                                       monkeypatch, capsys):
    from peft import PeftModel
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM

    work = tmp_path / 'work'
    # a length reward: the tiny random model never answers, but its completions' lengths
    # differ, so the 2 updates change the adapter
    assert run_cli(['train', RECIPE, '--work-dir', work, '--cfg-options',
                    f'pretrained_model_name_or_path={tiny_model_dir}', 'max_iters=2',
                    'save_steps=2', 'batch_size=1', 'group_size=4', 'max_completion_length=6',
                    'lr=0.05', 'param_scheduler=[]', 'evaluation_inputs=[]', 'log_interval=1',
                    "rewards=[{'type': 'length', 'target': 4, 'scale': 8.0}]",
                    "ema={'decay': 0.5}"]) == 0
    config, checkpoint = work / f'{RECIPE}.py', work / 'iter_2.pth'
    adapter, ema, merged = tmp_path / 'adapter', tmp_path / 'ema', tmp_path / 'merged'
    assert run_cli(['convert', 'pth_to_hf', config, checkpoint, adapter]) == 0
    assert run_cli(['convert', 'pth_to_hf', config, checkpoint, ema, '--ema']) == 0
    live = load_file(str(adapter / 'adapter_model.safetensors'))
    average = load_file(str(ema / 'adapter_model.safetensors'))
    assert live.keys() == average.keys()
    trained = [k for k in live if 'lora_B' in k]
    assert trained and all(live[k].abs().sum() > 0 for k in trained)
    # decay 0.5 over 2 updates from B = 0: the average lags the live weights
    assert any(not torch.allclose(live[k], average[k]) for k in trained)

    assert run_cli(['convert', 'merge', tiny_model_dir, adapter, merged, '--dtype', 'fp32']) == 0
    ids = torch.tensor([[5, 17, 42, 99, 7, 3]])
    with torch.no_grad():
        with_adapter = PeftModel.from_pretrained(
            AutoModelForCausalLM.from_pretrained(tiny_model_dir), adapter)(ids).logits
        merged_logits = AutoModelForCausalLM.from_pretrained(merged)(ids).logits
    torch.testing.assert_close(merged_logits, with_adapter, rtol=1e-5, atol=1e-5)
    capsys.readouterr()

    monkeypatch.setattr('sys.stdin', io.StringIO('What is 2 + 3?\n'))
    assert run_cli(['chat', merged, '--temperature', '0', '--max-new-tokens', '8',
                    '--stop-words', '\n', '--no-streamer']) == 0
    assert len(capsys.readouterr().out.split('\n')[:-1]) == 1      # one answer line

    tasks = tmp_path / 'mc.jsonl'
    tasks.write_text(''.join(json.dumps({'question': f'What is {i} + 1?',
                                         'choices': [str(i + 1), str(i + 2)], 'answer': 0}) + '\n'
                             for i in range(4)))
    out = tmp_path / 'eval'
    assert run_cli(['eval', work, '--task-file', tasks, '--output-dir', out,
                    '--batch-size', '4']) == 0
    assert '| mc | acc |' in capsys.readouterr().out
    assert 'mc' in json.loads((out / 'results.json').read_text())['results']
