"""RewardModel: a scalar-head model trained with the Bradley-Terry loss on preference pairs.

The loss is a registered object that takes scores (model/losses/; ``BradleyTerryLoss``).
The model is a Hugging Face sequence-classification model with one label
(``load_causal_lm(..., head='reward')``): the decoder of the causal LM plus a ``score``
head. A pair's two sequences sit in one packed row (dataset/preference.py); the score of a
sequence is the head applied at its last token, which is what
``AutoModelForSequenceClassification`` computes for a lone sequence (tested). The export is
always a full model (adapters merged into a copy), so ``AutoModelForSequenceClassification
.from_pretrained(<work_dir>/hf)`` loads it directly.
"""
from __future__ import annotations

import copy
import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import torch
from peft import PeftModel

from ..errors import ConfigError
from ..templates.chat_format import ChatFormat
from ..utils.build import build
from .export import save_hf
from .losses import LossInputs, build_loss
from .losses.base import check_model_inputs
from .preference import PairwiseModel
from .sequence_logps import last_token_index


class RewardModel(PairwiseModel):
    """Sequence-classification model + optional LoRA/QLoRA, trained with a loss on scores.

    Args:
        llm: a sequence-classification model or its spec (``load_causal_lm`` with
            ``head='reward'``).
        lora: a ``peft.LoraConfig`` spec; its task type is set to 'SEQ_CLS' so the new
            score head is trained (and saved) along with the adapters.
        loss: the loss spec: a loss that takes scores, e.g. ``dict(type='BradleyTerryLoss',
            center_rewards_coefficient=0.01)`` (model/losses/).
        **kwargs: as :class:`SupervisedFinetune`.
    """

    def __init__(self, llm: Any, lora: Any = None, loss: Any = 'BradleyTerryLoss',
                 **kwargs: Any):
        self.loss = build_loss(loss)
        check_model_inputs(self.loss, 'scores', 'RewardModel')
        lora_config = build(lora)
        if lora_config is not None:
            lora_config.task_type = 'SEQ_CLS'
        super().__init__(llm, lora=lora_config, **kwargs)
        if not hasattr(self.backbone, 'score'):
            raise ConfigError(f'{type(self.backbone).__name__} has no `score` head; a reward '
                              "model needs load_causal_lm(..., head='reward')")

    def scores(self, batch: dict) -> torch.Tensor:
        """One score per sequence of the packed batch ``[sequences]``."""
        backbone = self.backbone
        hidden = backbone.base_model(input_ids=batch['input_ids'],
                                     position_ids=batch['position_ids'],
                                     use_cache=False).last_hidden_state
        last = hidden.flatten(0, 1)[last_token_index(batch['position_ids'])]
        return backbone.score(last)[:, 0].float()

    def loss_inputs(self, batch: dict) -> LossInputs:
        """The scores of every sequence (a reward model has no reference)."""
        return LossInputs(scores=self.scores(batch), batch=batch)

    def export(self, out_dir: str | os.PathLike, tokenizer: Any, chat_format: ChatFormat,
               **options: Any) -> Path:
        """A full sequence-classification folder (adapters merged into a copy)."""
        llm = self.llm
        if isinstance(llm, PeftModel):
            llm = copy.deepcopy(llm).merge_and_unload()
        # The HF model finds each row's last token from pad_token_id.
        llm.config.pad_token_id = tokenizer.pad_token_id
        return save_hf(SimpleNamespace(llm=llm, has_adapters=False), tokenizer, out_dir,
                       chat_format=chat_format, **options)
