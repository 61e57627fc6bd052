"""Helpers of the conversion tests: checkpoints of tiny full, LoRA and QLoRA models.

Not a conftest.py: tests import `conftest` (the top one) by name, and a second file of
that name would shadow it.
"""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

RECIPES = {
    'full': 'smollm2_135m_instruct_full_alpaca',
    'lora': 'smollm2_135m_instruct_lora_identity',
    'qlora': 'smollm2_135m_instruct_qlora_alpaca',
}


def tiny_options(model_dir: Path, **extra) -> dict:
    return {'pretrained_model_name_or_path': str(model_dir), **extra}


def make_checkpoint(kind: str, model_dir: Path, path: Path, **options):
    """Build the recipe's model as training does (QLoRA: 4-bit), move its trained weights
    away from their start, and save an mmengine-style checkpoint; return the model."""
    from xtuner_like.convert.pth_to_hf import load_run_config
    from xtuner_like.utils.build import build

    cfg = load_run_config(RECIPES[kind], tiny_options(model_dir, **options))
    torch.manual_seed(1)
    model = build(cfg.model.to_dict())
    with torch.no_grad():
        for _, p in model.named_parameters():
            if p.requires_grad:
                p.add_(torch.randn_like(p) * 0.05)
    torch.save({'meta': {'iter': 3}, 'state_dict': model.state_dict()}, path)
    return model.eval()


@pytest.fixture(scope='session')
def checkpoints(tmp_path_factory, tiny_model_dir):
    """kind -> (checkpoint path, the model it holds) for 'full', 'lora' and 'qlora'."""
    root = tmp_path_factory.mktemp('checkpoints')
    return {kind: (root / f'{kind}.pth', make_checkpoint(kind, tiny_model_dir,
                                                        root / f'{kind}.pth'))
            for kind in RECIPES}


def logits(model, ids=None) -> torch.Tensor:
    ids = torch.tensor([[5, 17, 42, 99, 3, 250]]) if ids is None else ids
    with torch.no_grad():
        return model(input_ids=ids).logits.float()
