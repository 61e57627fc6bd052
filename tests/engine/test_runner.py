"""XRunner's checkpoints: atomic, adapters only for LoRA, loadable with weights_only."""
import torch

from xtuner_like.utils.io import safe_load


def test_lora_checkpoint_holds_only_adapters(tiny_run):
    checkpoint = safe_load(tiny_run / 'iter_12.pth')
    keys = list(checkpoint['state_dict'])
    assert keys and all('lora_' in k for k in keys)
    assert {'meta', 'message_hub', 'optimizer', 'param_schedulers', 'rng_state'} <= set(checkpoint)
    assert isinstance(checkpoint['rng_state']['torch'], torch.Tensor)
    assert checkpoint['meta']['iter'] == 12


def test_runner_leaves_pretrained_and_lora_weights_as_built(tiny_model_dir):
    """mmengine's init_weights would re-draw LoRA B (so step 0 would not be the base model)."""
    from types import SimpleNamespace

    from xtuner_like.config import load_config
    from xtuner_like.engine.runner import XRunner
    from xtuner_like.utils.build import build
    cfg = load_config('smollm2_135m_instruct_lora_identity',
                      {'pretrained_model_name_or_path': str(tiny_model_dir)})
    model = build(cfg.model.to_dict())
    before = {n: p.clone() for n, p in model.named_parameters()}
    XRunner._init_model_weights(SimpleNamespace(model=model))
    assert all(torch.equal(p, before[n]) for n, p in model.named_parameters())
    assert all(not p.any() for n, p in model.named_parameters() if 'lora_B' in n)
