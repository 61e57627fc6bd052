import torch

from xtuner_like.model.load import load_causal_lm, load_tokenizer


def test_load_with_dtype_string_and_auto_attention(tiny_model_dir):
    model = load_causal_lm(str(tiny_model_dir), dtype='bf16')
    assert next(model.parameters()).dtype is torch.bfloat16
    assert model.config._attn_implementation == 'sdpa_packed'
    assert load_causal_lm(str(tiny_model_dir)).dtype is torch.float32     # auto on the CPU


def test_tokenizer_has_a_pad_token(tiny_model_dir):
    tok = load_tokenizer(str(tiny_model_dir))
    assert tok.pad_token is not None and tok.eos_token == '<|im_end|>'


def test_an_argument_nothing_takes_is_one_line_with_the_closest_name(tiny_model_dir):
    """Issue 23, item 12: ``torch_dtyp`` (too far from a known name for the config check)
    reached the model class and ended in a TypeError traceback."""
    import pytest

    from xtuner_like.errors import ConfigError
    with pytest.raises(ConfigError) as err:
        load_causal_lm(str(tiny_model_dir), torch_dtyp='bf16')
    text = str(err.value)
    assert text.startswith("model.llm: unknown argument 'torch_dtyp'") and '\n' not in text
    assert text.endswith("did you mean 'dtype'?")
    with pytest.raises(ConfigError, match="unknown argument 'zzqq'.*known: .*dtype"):
        load_causal_lm(str(tiny_model_dir), zzqq=1)


def test_a_field_of_the_model_config_is_set_on_it(tiny_model_dir):
    """What from_pretrained does when it loads the config itself (we pass ours)."""
    assert load_causal_lm(str(tiny_model_dir), use_cache=False).config.use_cache is False


def test_the_train_command_reports_it_in_one_line(tmp_path, tiny_model_dir, xl_home, capsys):
    from conftest import run_cli
    rc = run_cli(['train', 'smollm2_135m_instruct_lora_identity', '--work-dir', tmp_path,
                  '--cfg-options', f'pretrained_model_name_or_path={tiny_model_dir}',
                  "model.llm={'torch_dtyp': 'bf16'}"])
    err = capsys.readouterr().err
    assert rc == 1 and 'Traceback' not in err
    assert "error: model.llm: unknown argument 'torch_dtyp'" in err
