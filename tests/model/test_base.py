"""Tests for xtuner_like/model/base.py: the interface engine, convert and chat talk to."""
from __future__ import annotations

import torch
from peft import LoraConfig

from xtuner_like.engine.train_loop import window_denominator
from xtuner_like.model import SupervisedFinetune, load_causal_lm
from xtuner_like.model.base import TrainableModel, unwrap_model
from xtuner_like.templates.chat_format import ChatFormat


class PairModel(TrainableModel):
    """A model whose loss averages over rows (like a preference loss over pairs)."""

    def __init__(self):
        super().__init__()
        self.llm = torch.nn.Linear(2, 1)

    @staticmethod
    def loss_units(batch):
        return int(batch['x'].shape[0])

    def loss_sum(self, batch):
        return self.llm(batch['x']).sum(), self.loss_units(batch)


def test_a_new_model_gets_the_external_denominator_and_its_own_units():
    model = PairModel()
    a, b = {'x': torch.ones(3, 2)}, {'x': torch.ones(1, 2)}
    denominator = window_denominator([a, b], loss_units=model.loss_units)
    assert denominator == 4 / 2  # 4 rows in a window of 2 micro-batches
    alone = model(**a)['loss']                       # no denominator: its own 3 rows
    shared = model(**a, loss_denominator=denominator)['loss']
    torch.testing.assert_close(alone * 3 / 2, shared)
    assert not model.has_adapters and unwrap_model(model) is model


def test_sft_implements_the_interface(tiny_model_dir, tiny_tokenizer, tmp_path):
    llm = dict(type=load_causal_lm, pretrained_model_name_or_path=str(tiny_model_dir),
               dtype='fp32')
    lora = SupervisedFinetune(llm, lora=dict(type=LoraConfig, r=2, target_modules='all-linear'))
    assert isinstance(lora, TrainableModel) and lora.has_adapters
    out = lora.export(tmp_path / 'hf', tiny_tokenizer, ChatFormat.build('chatml'))
    assert (out / 'adapter_config.json').is_file()
    full = SupervisedFinetune(llm)
    assert not full.has_adapters
    batch = {'input_ids': torch.tensor([[1, 2, 3, 4]]), 'labels': torch.tensor([[-100, 2, 3, 4]])}
    assert full.loss_units(batch) == 3
    total, units = full.loss_sum(batch)
    torch.testing.assert_close(full(**batch)['loss'], total / 3)
    assert units == 3
