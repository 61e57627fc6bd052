"""TrainableModel: what the engine, convert and chat need from a model they train or export.

How to add a model (e.g. a preference model): subclass :class:`TrainableModel` and

1. set ``self.llm`` (the Hugging Face model; a ``PeftModel`` when it has adapters) in
   ``__init__``, after ``super().__init__(data_preprocessor=...)``;
2. implement :meth:`loss_sum` -> ``(sum of per-unit losses, units in this micro-batch)``;
3. if a "unit" of your loss is not a trained token (a DPO loss counts pairs), override
   :meth:`loss_units` so the train loop can divide every micro-batch's sum by the units of
   the whole accumulation window (and of all ranks): it passes that number back as
   ``loss_denominator`` (engine/train_loop.py).

The engine talks only to this interface: ``forward(mode='loss', loss_denominator=...)``,
``loss_units``, ``load_trainable_state_dict``; ``convert`` and the export hook call
:meth:`export`; checks use :attr:`has_adapters`. :func:`unwrap_model` removes a DDP/DeepSpeed
wrapper, in one place.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from mmengine.model import BaseModel, is_model_wrapper
from peft import PeftModel

from ..errors import CheckpointError
from ..templates.chat_format import ChatFormat
from ..utils.labels import count_trained
from .export import save_hf


def unwrap_model(model: torch.nn.Module) -> torch.nn.Module:
    """The model inside a DDP / DeepSpeed / mmengine wrapper (itself when unwrapped)."""
    return model.module if is_model_wrapper(model) else model


class TrainableModel(BaseModel):
    """Base class of every model this package trains (see the module docstring)."""

    llm: torch.nn.Module

    @property
    def has_adapters(self) -> bool:
        """True when only adapters (LoRA/QLoRA) are trained: checkpoints and exports hold
        just the adapters."""
        return isinstance(self.llm, PeftModel)

    @property
    def backbone(self) -> torch.nn.Module:
        """The transformers model (below the peft wrapper, adapter layers included)."""
        return self.llm.get_base_model() if isinstance(self.llm, PeftModel) else self.llm

    @staticmethod
    def loss_units(batch: dict) -> int:
        """What the loss of ``batch`` averages over; default: its trained tokens (labels
        after the causal shift)."""
        return count_trained(batch['labels'], shifted=True)

    def loss_sum(self, batch: dict) -> tuple[torch.Tensor, int]:
        """(sum of the losses of ``batch``, its loss units); ``batch`` is a collated dict."""
        raise NotImplementedError

    def forward(self, input_ids: torch.Tensor | None = None, labels: torch.Tensor | None = None,
                *, mode: str = 'loss', loss_denominator: float | None = None,
                **batch: Any) -> Any:
        """``mode='loss'``: ``{'loss': loss_sum / loss_denominator}`` (the units of this
        micro-batch when no denominator is given); ``'predict'``/``'tensor'``: the LM's logits.

        ``batch`` is the collated dict (``input_ids`` and ``labels`` may come positionally).
        """
        batch.update({k: v for k, v in (('input_ids', input_ids), ('labels', labels))
                      if v is not None})
        if mode != 'loss':
            inputs = {k: batch.get(k) for k in ('input_ids', 'position_ids', 'attention_mask')}
            return self.llm(**inputs, use_cache=False).logits
        total, units = self.loss_sum(batch)
        return {'loss': total / (loss_denominator if loss_denominator else max(units, 1))}

    def load_trainable_state_dict(self, state_dict: dict[str, torch.Tensor]) -> None:
        """Load a checkpoint's weights; every trained weight must be present."""
        result = self.load_state_dict(state_dict, strict=False)
        expected = {n for n, p in self.named_parameters() if p.requires_grad}
        missing = sorted(expected & set(result.missing_keys))
        if result.unexpected_keys or missing:
            raise CheckpointError(
                'checkpoint does not match the model of this config: '
                f'{len(missing)} trained weights missing (e.g. {missing[:3]}), '
                f'{len(result.unexpected_keys)} unexpected (e.g. {result.unexpected_keys[:3]}); '
                'use the config the checkpoint was trained with')

    def export(self, out_dir: str | os.PathLike, tokenizer: Any, chat_format: ChatFormat,
               **options: Any) -> Path:
        """Write a Hugging Face folder: adapters only (:attr:`has_adapters`) or the full model,
        the tokenizer with ``chat_format.chat_template``; ``options`` as for
        :func:`~xtuner_like.model.export.save_hf`."""
        return save_hf(self, tokenizer, out_dir, chat_format=chat_format, **options)
