"""XRunner's checkpoints: atomic, adapters only for LoRA, loadable with weights_only."""
import torch

from xtuner_like.engine.checkpoint import safe_load


def test_lora_checkpoint_holds_only_adapters(tiny_run):
    checkpoint = safe_load(tiny_run / 'iter_12.pth')
    keys = list(checkpoint['state_dict'])
    assert keys and all('lora_' in k for k in keys)
    assert {'meta', 'message_hub', 'optimizer', 'param_schedulers', 'rng_state'} <= set(checkpoint)
    assert isinstance(checkpoint['rng_state']['torch'], torch.Tensor)
    assert checkpoint['meta']['iter'] == 12
