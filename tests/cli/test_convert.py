"""`xtuner-like convert`: pth_to_hf, merge and gguf_to_hf from the command line."""
from __future__ import annotations

import pytest
import torch
from conftest import run_cli
from transformers import AutoModelForCausalLM, AutoTokenizer

from xtuner_like.templates import get_template, render_conversation

RECIPE = 'smollm2_135m_instruct_lora_identity'
DEMO = [{'input': 'Who are you?', 'output': 'I am Tuna, made by the xtuner_like team.'}]


@pytest.fixture(scope='module')
def lora_checkpoint(tmp_path_factory, tiny_model_dir):
    from xtuner_like.convert.pth_to_hf import build_for_export, load_run_config
    cfg = load_run_config(RECIPE, {'pretrained_model_name_or_path': str(tiny_model_dir)})
    model = build_for_export(cfg)
    path = tmp_path_factory.mktemp('ckpt') / 'iter_3.pth'
    torch.save({'meta': {}, 'state_dict': model.state_dict()}, path)
    return path


def test_pth_to_hf_then_merge_then_template(tmp_path, tiny_model_dir, lora_checkpoint, capsys):
    adapter, merged = tmp_path / 'adapter', tmp_path / 'merged'
    assert run_cli(['convert', 'pth_to_hf', RECIPE, lora_checkpoint, adapter, '--cfg-options',
                    f'pretrained_model_name_or_path={tiny_model_dir}']) == 0
    assert 'saved adapter' in capsys.readouterr().out
    assert run_cli(['convert', 'merge', tiny_model_dir, adapter, merged, '--dtype', 'fp32']) == 0
    AutoModelForCausalLM.from_pretrained(merged)
    tok = AutoTokenizer.from_pretrained(merged)
    messages = [{'role': 'user', 'content': DEMO[0]['input']},
                {'role': 'assistant', 'content': DEMO[0]['output']}]
    expected = ''.join(t for t, _ in render_conversation(DEMO, get_template('smollm2_chat'), None,
                                                         tok.eos_token))
    assert tok.apply_chat_template(messages, tokenize=False) == expected


def test_pth_to_hf_of_a_training_run(tmp_path, tiny_run):
    """The work dir's config and checkpoint convert as they are (no --cfg-options)."""
    config = next(tiny_run.glob('*.py'))
    rc = run_cli(['convert', 'pth_to_hf', config, tiny_run / 'iter_12.pth', tmp_path / 'hf'])
    assert rc == 0
    assert (tmp_path / 'hf' / 'adapter_model.safetensors').is_file()


def test_wrong_pair_exits_1_naming_both_files(tmp_path, tiny_model_dir, lora_checkpoint,
                                              capsys):
    rc = run_cli(['convert', 'pth_to_hf', 'smollm2_135m_instruct_full_alpaca', lora_checkpoint,
                  tmp_path / 'hf', '--cfg-options',
                  f'pretrained_model_name_or_path={tiny_model_dir}'])
    err = capsys.readouterr().err
    assert rc == 1 and str(lora_checkpoint) in err and 'full_alpaca' in err
    assert 'Traceback' not in err


def test_merge_with_a_missing_adapter_exits_1(tmp_path, tiny_model_dir, capsys):
    assert run_cli(['convert', 'merge', tiny_model_dir, tmp_path / 'nope', tmp_path / 'm']) == 1
    assert 'adapter directory' in capsys.readouterr().err


def test_gguf_to_hf_with_a_missing_file_exits_1(tmp_path, capsys):
    assert run_cli(['convert', 'gguf_to_hf', tmp_path / 'x.gguf', tmp_path / 'out']) == 1
    assert 'does not exist' in capsys.readouterr().err


def test_quantize_help_lists_every_method(capsys):
    from xtuner_like.convert.quantize import QUANTIZE_METHODS
    with pytest.raises(SystemExit) as info:
        run_cli(['convert', 'quantize', '--help'])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert all(name in out for name in QUANTIZE_METHODS)
    assert '--method nf4' in out and '--method gguf:T' in out


def test_quantize_without_a_method_or_with_an_unavailable_one_exits_1(tmp_path, monkeypatch,
                                                                      capsys):
    assert run_cli(['convert', 'quantize', tmp_path, tmp_path / 'q']) == 1
    assert 'name a method' in capsys.readouterr().err
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    assert run_cli(['convert', 'quantize', tmp_path, tmp_path / 'q', '--method', 'gptq',
                    '--config', RECIPE]) == 1
    err = capsys.readouterr().err
    assert err.count('\n') == 1 and 'gptq cannot run here' in err and 'CUDA GPU' in err
    # the form from before --method had a choice: CONFIG MODEL_DIR OUT_DIR is GPTQ
    assert run_cli(['convert', 'quantize', RECIPE, tmp_path, tmp_path / 'q']) == 1
    assert 'gptq cannot run here' in capsys.readouterr().err
    assert not (tmp_path / 'q').exists()


def test_quantize_gguf_and_its_alias_write_the_same_file(tiny_model_dir, tmp_path, capsys):
    pytest.importorskip('gguf')
    assert run_cli(['convert', 'quantize', tiny_model_dir, tmp_path / 'a.gguf',
                    '--method', 'gguf:q8_0']) == 0
    assert 'q8_0' in capsys.readouterr().out
    assert run_cli(['convert', 'hf_to_gguf', tiny_model_dir, tmp_path / 'b.gguf',
                    '--type', 'q8_0']) == 0
    assert (tmp_path / 'a.gguf').read_bytes() == (tmp_path / 'b.gguf').read_bytes()
    assert run_cli(['convert', 'quantize', tiny_model_dir, tmp_path / 'c.gguf',
                    '--method', 'gguf:q8_0', '--bits', '4']) == 1
    assert 'does not take --bits' in capsys.readouterr().err
