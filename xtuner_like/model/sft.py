"""SupervisedFinetune: the mmengine model that wraps a causal LM for full, LoRA or QLoRA tuning."""
from __future__ import annotations

from typing import Any

import torch
from peft import get_peft_model, prepare_model_for_kbit_training

from ..errors import ConfigError
from ..utils import fast_paths
from ..utils.build import build
from ..utils.dtype import note_bf16_base
from ..utils.logging import log_once
from .base import TrainableModel
from .cpu_shapes import pad_batch, shape_bucket
from .loss import token_loss_from_hidden, token_loss_from_logits
from .lora_linear import use_fused_lora
from .memory import (GIB, available_memory, checkpoint_file_bytes, choose_gradient_checkpointing,
                     estimate_training_memory, process_baseline)

# Config fields that rescale logits after the LM head (Gemma 2's soft-capping, Cohere's
# logit_scale, Granite's logits_scaling).
LOGIT_POSTPROCESSING = ('final_logit_softcapping', 'logit_scale', 'logits_scaling')


def rescales_logits(config: Any) -> bool:
    """Whether a model's logits are rescaled after its LM head: such a model takes the
    full-logits loss path (the head applied to hidden states alone would be wrong)."""
    return any(getattr(config, k, None) for k in LOGIT_POSTPROCESSING)


def packed_sequence_logps(model: torch.nn.Module, batch: dict) -> 'SequenceLogps':
    """Log-probs of the trained tokens of every sequence of a packed batch under ``model``
    (preference replies, RL completions): the LM head only at trained positions, unless the
    model rescales its logits (then from the full logits)."""
    from .sequence_logps import sequence_logps_from_hidden, sequence_logps_from_logits
    inputs = dict(input_ids=batch['input_ids'], position_ids=batch['position_ids'],
                  use_cache=False)
    if rescales_logits(model.config):
        return sequence_logps_from_logits(model(**inputs).logits, batch['labels'],
                                          batch['position_ids'])
    hidden = model.get_decoder()(**inputs).last_hidden_state
    return sequence_logps_from_hidden(hidden, batch['labels'], batch['position_ids'],
                                      model.get_output_embeddings())


class SupervisedFinetune(TrainableModel):
    """Causal LM + optional LoRA/QLoRA, with a token-sum loss (implements model/base.py).

    Args:
        llm: a built model or its spec (``dict(type=load_causal_lm, ...)``).
        lora: a ``peft.LoraConfig`` spec; None trains every weight.
        use_gradient_checkpointing: recompute activations in backward to save memory;
            ``'auto'`` turns it on only when the memory estimate does not fit (model/memory.py).
        loss_on_trained_positions: compute the LM head only where labels are trained.
        max_tokens_per_batch: tokens in the largest micro-batch (rows x max_length), for the
            memory estimate; None assumes ``min(max_position_embeddings, 4096)``.
        fused_lora: build LoRA layers as :class:`FusedLoraLinear` (same math as peft's, with
            fewer passes and less activation memory; model/lora_linear.py). Not for 4-bit bases.
        compile: ``torch.compile`` each decoder layer (True, or a dict of compile kwargs).
            Opt-in: it pays off only when a run is long enough to amortise compilation.
    """

    def __init__(self, llm: Any, lora: Any = None, use_gradient_checkpointing: bool | str = False,
                 loss_on_trained_positions: bool = True, max_tokens_per_batch: int | None = None,
                 fused_lora: bool = True, compile: bool | dict = False,
                 data_preprocessor: Any = None):
        super().__init__(data_preprocessor=data_preprocessor)
        baseline = process_baseline()   # counted in the memory estimate (model/memory.py)
        model = build(llm)
        loading = checkpoint_file_bytes(model) if baseline else 0
        quantized = bool(getattr(model, 'is_loaded_in_4bit', False)
                         or getattr(model, 'is_loaded_in_8bit', False))
        if quantized:
            # Checkpointing is decided below, once the adapters exist and memory is known.
            model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=False)
        model.config.use_cache = False
        lora_config = build(lora)
        if lora_config is not None:
            if fused_lora and not quantized and fast_paths.enabled('fused_lora'):
                use_fused_lora(lora_config)
            model = get_peft_model(model, lora_config)
            if not quantized:
                weight = model.get_input_embeddings().weight
                note_bf16_base(weight.dtype, weight.device)
        self.llm = model
        self.loss_on_trained_positions = loss_on_trained_positions
        self.gradient_checkpointing = self._setup_checkpointing(
            use_gradient_checkpointing, max_tokens_per_batch, baseline, loading)
        if compile:
            self._compile_layers(compile if isinstance(compile, dict) else {})
        trainable = sum(p.numel() for p in self.parameters() if p.requires_grad)
        total = sum(p.numel() for p in self.parameters())
        log_once(f'trainable parameters: {trainable / 1e6:.2f}M of {total / 1e6:.1f}M '
                 f'({"LoRA" if self.has_adapters else "full"}{", 4-bit base" if quantized else ""}'
                 f'{", gradient checkpointing" if self.gradient_checkpointing else ""}'
                 f'{", compiled layers" if compile else ""})')
        if self.has_adapters:
            from ..compat import register_state_dict_hook
            register_state_dict_hook(self, _keep_trainable_only)

    def _setup_checkpointing(self, setting: bool | str, max_tokens: int | None,
                             runtime: int, loading: int = 0) -> bool:
        """Estimate memory, log it, and enable checkpointing when asked or needed."""
        backbone = self.backbone
        if max_tokens is None:
            max_tokens = min(int(getattr(backbone.config, 'max_position_embeddings', 4096)
                                 or 4096), 4096)
        estimate = estimate_training_memory(self.llm, max_tokens, runtime=runtime,
                                            loading=loading)
        budget, where = available_memory()
        enabled, why = choose_gradient_checkpointing(setting, estimate, budget, where)
        peak = max(estimate.total(enabled), estimate.load_peak())
        log_once(f'memory estimate: peak {peak / GIB:.2f} GiB = '
                 f'{estimate.describe()}; gradient checkpointing {why}')
        if enabled:
            backbone.gradient_checkpointing_enable(
                gradient_checkpointing_kwargs={'use_reentrant': False})
        return enabled

    def _compile_layers(self, kwargs: dict) -> None:
        """Compile each decoder layer in place: one graph serves every layer."""
        layers = getattr(self.backbone.get_decoder(), 'layers', None)
        if layers is None:
            raise ConfigError(f'compile=True: {type(self.backbone).__name__} has no decoder '
                              '`layers` to compile; set compile=False')
        for layer in layers:
            layer.compile(**kwargs)

    def loss_sum(self, batch: dict) -> tuple[torch.Tensor, int]:
        """(sum of token losses, trained tokens) of a collated batch."""
        inputs = dict(input_ids=batch['input_ids'], position_ids=batch.get('position_ids'),
                      attention_mask=batch.get('attention_mask'), use_cache=False)
        bucket = shape_bucket(self.backbone.get_input_embeddings().weight)
        return self.token_loss(*pad_batch(inputs, batch['labels'], bucket))

    def token_loss(self, inputs: dict, labels: torch.Tensor) -> tuple[torch.Tensor, int]:
        """(sum of token losses, trained tokens) for one micro-batch."""
        backbone = self.backbone
        if not self.loss_on_trained_positions or rescales_logits(backbone.config):
            return token_loss_from_logits(self.llm(**inputs).logits, labels)
        hidden = backbone.get_decoder()(**inputs).last_hidden_state
        return token_loss_from_hidden(hidden, labels, backbone.get_output_embeddings())


def _keep_trainable_only(module: SupervisedFinetune, state_dict: dict, prefix: str,
                         local_metadata: dict) -> None:
    """state_dict hook: drop frozen base weights so LoRA checkpoints hold only adapters."""
    trainable = {prefix + n for n, p in module.named_parameters() if p.requires_grad}
    for key in [k for k in state_dict if k.startswith(prefix) and k not in trainable]:
        del state_dict[key]
