import torch

from xtuner_like.model import attention


def test_auto_is_sdpa_packed_without_flash_attn(monkeypatch):
    monkeypatch.setattr(attention, 'flash_attn_available', lambda: False)
    assert attention.choose_attn_implementation('auto', torch.bfloat16) == 'sdpa_packed'
    assert attention.choose_attn_implementation('eager') == 'eager'


def test_auto_prefers_flash_attn_in_16_bit(monkeypatch):
    monkeypatch.setattr(attention, 'flash_attn_available', lambda: True)
    assert attention.choose_attn_implementation('auto', torch.bfloat16) == 'flash_attention_2'
    assert attention.choose_attn_implementation('auto', torch.float32) == 'sdpa_packed'
