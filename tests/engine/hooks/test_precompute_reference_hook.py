"""PrecomputeReferenceHook: cached reference log-probs give the same loss as computing them."""
from __future__ import annotations

import json
import logging
from types import SimpleNamespace

import pytest
import torch
from peft import LoraConfig

from xtuner_like.dataset import PreferenceCollator, build_preference_dataset
from xtuner_like.engine.hooks import PrecomputeReferenceHook
from xtuner_like.model import PreferenceFinetune, load_causal_lm

LORA = dict(type=LoraConfig, r=4, lora_alpha=8, lora_dropout=0.0, target_modules='all-linear',
            task_type='CAUSAL_LM')
PAIRS = [{'prompt': f'Question {i}?', 'chosen': 'I am Tuna.' * (i + 1), 'rejected': 'No.'}
         for i in range(5)]


def _runner(tmp_path, tokenizer, model, packed=False):
    path = tmp_path / 'pairs.json'
    path.write_text(json.dumps(PAIRS))
    dataset = build_preference_dataset(tokenizer, data_files=str(path),
                                       dataset_map_fn='plain_preference', max_length=64,
                                       pack_to_max_length=packed,
                                       cache_dir=str(tmp_path / 'cache'))
    return SimpleNamespace(model=model, logger=logging.getLogger('test'),
                           train_dataloader=SimpleNamespace(dataset=dataset))


@pytest.fixture
def model(tiny_model_dir):
    m = PreferenceFinetune(dict(type=load_causal_lm, pretrained_model_name_or_path=str(
        tiny_model_dir), dtype='fp32'), lora=LORA)
    with torch.no_grad():  # a policy that differs from its reference
        for name, p in m.named_parameters():
            if 'lora_B' in name:
                p.normal_(std=0.1)
    return m


@pytest.mark.parametrize('packed', [False, True], ids=['pair_rows', 'packed_rows'])
def test_precomputed_reference_gives_the_same_loss_and_is_cached(tmp_path, tiny_tokenizer,
                                                                 model, packed):
    runner = _runner(tmp_path, tiny_tokenizer, model, packed)
    dataset = runner.train_dataloader.dataset
    assert (len(dataset) < 5) == packed  # several pairs share a packed row
    rows = [dataset[i] for i in range(len(dataset))]
    live = model(**PreferenceCollator()(rows))
    PrecomputeReferenceHook(enabled=True, batch_size=2).before_train(runner)
    rows = [dataset[i] for i in range(len(dataset))]
    batch = PreferenceCollator()(rows)
    assert batch['reference_logps'].shape == (5, 2)
    cached = model(**batch)
    assert torch.allclose(cached['loss'], live['loss'], atol=1e-5)
    assert abs(float(cached['rewards/margins']) - float(live['rewards/margins'])) < 1e-5
    assert list((tmp_path / 'cache').glob('*/reference_*.npy'))
    # a second run reads the file (a changed model would not change what it reads)
    again = _runner(tmp_path, tiny_tokenizer, model, packed)
    PrecomputeReferenceHook(enabled=True).before_train(again)
    first = torch.as_tensor(again.train_dataloader.dataset[0]['reference_logps']).view(-1, 2)
    assert torch.equal(first, batch['reference_logps'][:len(first)])


def test_disabled_or_reference_free_does_nothing(tmp_path, tiny_tokenizer, tiny_model_dir):
    simpo = PreferenceFinetune(dict(type=load_causal_lm, pretrained_model_name_or_path=str(
        tiny_model_dir), dtype='fp32'), lora=LORA, loss=dict(type='SimPOLoss'))
    runner = _runner(tmp_path, tiny_tokenizer, simpo)
    PrecomputeReferenceHook(enabled=True).before_train(runner)
    assert 'reference_logps' not in runner.train_dataloader.dataset[0]
