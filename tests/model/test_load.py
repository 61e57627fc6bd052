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
