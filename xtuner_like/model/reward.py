"""RewardModel: a scalar-head model trained with the Bradley-Terry loss on preference pairs.

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
from .preference import PairwiseModel
from .preference_loss import PreferenceLoss, bradley_terry_loss
from .sequence_logps import last_token_index


class RewardModel(PairwiseModel):
    """Sequence-classification model + optional LoRA/QLoRA, Bradley-Terry loss.

    Args:
        llm: a sequence-classification model or its spec (``load_causal_lm`` with
            ``head='reward'``).
        lora: a ``peft.LoraConfig`` spec; its task type is set to 'SEQ_CLS' so the new
            score head is trained (and saved) along with the adapters.
        center_rewards_coefficient: weight of ``mean((s_chosen + s_rejected)^2)``, which keeps
            scores centred on 0 (None: off).
        **kwargs: as :class:`SupervisedFinetune`.
    """

    def __init__(self, llm: Any, lora: Any = None,
                 center_rewards_coefficient: float | None = None, **kwargs: Any):
        lora_config = build(lora)
        if lora_config is not None:
            lora_config.task_type = 'SEQ_CLS'
        super().__init__(llm, lora=lora_config, **kwargs)
        if not hasattr(self.backbone, 'score'):
            raise ConfigError(f'{type(self.backbone).__name__} has no `score` head; a reward '
                              "model needs load_causal_lm(..., head='reward')")
        self.center_rewards_coefficient = center_rewards_coefficient

    def scores(self, batch: dict) -> torch.Tensor:
        """One score per sequence of the packed batch ``[sequences]``."""
        backbone = self.backbone
        hidden = backbone.base_model(input_ids=batch['input_ids'],
                                     position_ids=batch['position_ids'],
                                     use_cache=False).last_hidden_state
        last = hidden.flatten(0, 1)[last_token_index(batch['position_ids'])]
        return backbone.score(last)[:, 0].float()

    def preference_loss(self, batch: dict) -> PreferenceLoss:
        scores = self.scores(batch)
        return bradley_terry_loss(scores[0::2], scores[1::2],
                                  center_rewards_coefficient=self.center_rewards_coefficient)

    @torch.no_grad()
    def pair_rewards(self, batch: dict) -> tuple[torch.Tensor, torch.Tensor]:
        scores = self.scores(batch)
        return scores[0::2], scores[1::2]

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
