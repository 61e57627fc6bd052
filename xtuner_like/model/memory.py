"""Estimate a training run's memory before it starts, and choose gradient checkpointing.

The estimate has five parts: weights (as stored: a 4-bit base counts its packed bytes),
trainable weights (adapters, or every weight in a full fine-tune), their gradients,
AdamW's two states, and the activations kept for backward. A run on the host adds a sixth,
measured rather than estimated: what the process holds besides the model (the interpreter,
torch, transformers and the other libraries: ~0.6 GiB, more than a small model's whole
training state), so the total can be compared with peak RSS. Activations follow a count of
the tensors a Llama-style decoder layer saves per token (below); it is an estimate, meant
to tell "fits easily" from "does not fit", not to predict a peak to the megabyte.

With ``use_gradient_checkpointing='auto'`` checkpointing is turned on only when the run
would not fit in ``fraction`` of the memory available to it: recomputing the forward pass
costs about a third more compute, which a run that fits should not pay.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from ..compat import config_name_or_path

# Values saved for backward per token and layer, in units of the hidden size h, the MLP
# width i and the LoRA rank r (fp32 or the model's dtype):
#   two RMSNorms (input, output): 4h; q/k/v/o outputs, rotary copies of q and k, the
#   attention output and its log-sum-exp: ~6h; the MLP: gate, up, silu(gate), their
#   product: 4i; each adapted linear keeps its rank-r intermediate, and with lora_dropout
#   > 0 peft's layer also keeps a dropped-out copy of its input and the float noise (one
#   mask per linear); FusedLoraLinear keeps only a bool mask (1 byte per input value).
_HIDDEN_PER_LAYER = 10
_MLP_PER_LAYER = 4
# Chunked LM head at trained positions: logits, softmax and their gradient of one chunk.
_LOGIT_COPIES = 3
GIB = 1024 ** 3


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes per part; ``activations`` without checkpointing, ``checkpointed`` with it."""

    weights: int
    trainable: int
    gradients: int
    optimizer_states: int
    activations: int
    checkpointed: int
    tokens: int
    runtime: int = 0   # the process besides the model (host runs only; process_baseline)
    loading: int = 0   # checkpoint file pages mapped while loading (checkpoint_file_bytes)

    def total(self, gradient_checkpointing: bool) -> int:
        """Peak estimate of training with or without gradient checkpointing."""
        acts = self.checkpointed if gradient_checkpointing else self.activations
        return self.weights + self.gradients + self.optimizer_states + acts + self.runtime

    def load_peak(self) -> int:
        """Peak while loading: the process, the loaded weights and the mapped checkpoint file
        (0 when the file is not converted). Its file pages are reclaimable page cache, so
        this never decides gradient checkpointing; it is what peak RSS measures."""
        return self.runtime + self.weights + self.loading if self.loading else 0

    def describe(self) -> str:
        """One line for the log, in GiB."""
        def g(n: int) -> str:
            return f'{n / GIB:.2f}'
        return (f'weights {g(self.weights)} (trainable {g(self.trainable)}), gradients '
                f'{g(self.gradients)}, AdamW states {g(self.optimizer_states)}, activations '
                f'for {self.tokens} tokens {g(self.activations)} '
                f'({g(self.checkpointed)} with checkpointing)'
                + (f', runtime {g(self.runtime)}' if self.runtime else '') + ' GiB'
                + (f'; while loading, the checkpoint file mapped ({g(self.loading)} GiB) on top '
                   f'of the weights: {g(self.load_peak())} GiB' if self.loading else ''))


def checkpoint_file_bytes(model: torch.nn.Module) -> int:
    """Bytes of the local checkpoint ``model`` was converted from while loading, else 0.

    transformers maps the safetensors file and converts tensor by tensor; every page it read
    stays resident (counted in RSS) until loading ends. A checkpoint stored in the dtype it
    loads in is used as it is (0 here): only a narrower load (fp32 file -> bf16, or a 4-bit
    base) holds the file and the converted weights at once.
    """
    folder = Path(config_name_or_path(getattr(model, 'config', None)))
    if not folder.is_dir():
        return 0
    file_bytes = sum(f.stat().st_size for f in folder.glob('*.safetensors'))
    weight_bytes = sum(t.numel() * t.element_size()
                       for t in list(model.parameters()) + list(model.buffers()))
    return file_bytes if file_bytes > 1.2 * weight_bytes else 0


def process_baseline() -> int:
    """This process's RSS now, before the model is built: the interpreter and the imported
    libraries (0 when training on CUDA, where they do not use device memory)."""
    if torch.cuda.is_available():
        return 0
    import psutil
    return psutil.Process().memory_info().rss


def _adapted_linears(model: torch.nn.Module) -> list[tuple[int, int]]:
    """(in_features, rank) of every LoRA-adapted linear (peft layers carry ``lora_A``)."""
    found = []
    for module in model.modules():
        lora_a = getattr(module, 'lora_A', None)
        if isinstance(lora_a, torch.nn.ModuleDict) and len(lora_a):
            layer = next(iter(lora_a.values()))
            found.append((layer.in_features, layer.out_features))
    return found


def _dropout_bytes_per_input(model: torch.nn.Module, itemsize: int) -> float:
    """Bytes kept per input value of an adapted linear for its LoRA dropout."""
    from .lora_linear import FusedLoraLinear
    for module in model.modules():
        drop = getattr(module, 'lora_dropout', None)
        if isinstance(drop, torch.nn.ModuleDict):
            if not any(isinstance(d, torch.nn.Dropout) and d.p > 0 for d in drop.values()):
                return 0.0
            return 1.0 if isinstance(module, FusedLoraLinear) else 2.0 * itemsize
    return 0.0


def _activation_itemsize(model: torch.nn.Module, trainable: list[torch.nn.Parameter]) -> int:
    """Bytes per activation value: the dtype of the embeddings' output (a bf16 base with fp32
    adapters keeps bf16 activations), else of the trainable weights."""
    embeddings = getattr(model, 'get_input_embeddings', lambda: None)()
    weight = getattr(embeddings, 'weight', None)
    if isinstance(weight, torch.Tensor) and weight.is_floating_point():
        return weight.element_size()
    return next((p.element_size() for p in trainable if p.is_floating_point()), 4)


def estimate_training_memory(model: torch.nn.Module, tokens: int,
                             optimizer_states_per_param: int = 2,
                             logits_chunk: int = 4096,
                             weight_bytes: int | None = None,
                             runtime: int = 0, loading: int = 0) -> MemoryEstimate:
    """Estimate the memory of training ``model`` on batches of ``tokens`` tokens.

    Args:
        model: the model as it will train (peft-wrapped for LoRA, frozen base included).
        tokens: tokens in one micro-batch (rows x padded or packed length).
        optimizer_states_per_param: 2 for Adam/AdamW (two states per trainable weight).
        logits_chunk: positions whose logits exist at once (the chunked loss).
        weight_bytes: the stored size of every weight and buffer, when ``model`` does not
            hold them as they will be stored (a meta-device stand-in for a 4-bit base).
        runtime: bytes the process holds besides the training state
            (:func:`process_baseline`); 0 for an estimate of another machine's run.
        loading: checkpoint file bytes mapped while loading (:func:`checkpoint_file_bytes`).

    Returns:
        A :class:`MemoryEstimate`.
    """
    if weight_bytes is None:
        weight_bytes = sum(t.numel() * t.element_size()
                           for t in list(model.parameters()) + list(model.buffers()))
    trainable = [p for p in model.parameters() if p.requires_grad]
    trainable_bytes = sum(p.numel() * p.element_size() for p in trainable)
    # torch's AdamW keeps its states in each weight's dtype (bf16 for a bf16 full fine-tune).
    states = optimizer_states_per_param * trainable_bytes
    config = getattr(model, 'config', None)
    hidden = int(getattr(config, 'hidden_size', 0) or 0)
    width = int(getattr(config, 'intermediate_size', 0) or 4 * hidden)
    layers = int(getattr(config, 'num_hidden_layers', 0) or 0)
    vocab = int(getattr(config, 'vocab_size', 0) or 0)
    itemsize = _activation_itemsize(model, trainable)
    per_token = layers * (_HIDDEN_PER_LAYER * hidden + _MLP_PER_LAYER * width)
    adapted = _adapted_linears(model)
    per_token += sum(rank for _, rank in adapted)
    per_token_bytes = per_token * itemsize + int(
        _dropout_bytes_per_input(model, itemsize) * sum(fan_in for fan_in, _ in adapted))
    full = tokens * per_token_bytes
    one_layer = per_token_bytes // max(layers, 1)
    # Checkpointing keeps each layer's input, plus one layer's activations while it is
    # recomputed in backward.
    checkpointed = tokens * (layers * hidden * itemsize + one_layer)
    logits = _LOGIT_COPIES * min(tokens, logits_chunk) * vocab * 4
    return MemoryEstimate(weights=weight_bytes, trainable=trainable_bytes,
                          gradients=trainable_bytes, optimizer_states=states,
                          activations=full + logits, checkpointed=checkpointed + logits,
                          tokens=tokens, runtime=runtime, loading=loading)


def available_memory(device: torch.device | str | None = None) -> tuple[int, str]:
    """(bytes this process can still use, where it was read) for CUDA or the host."""
    device = torch.device(device or ('cuda' if torch.cuda.is_available() else 'cpu'))
    if device.type == 'cuda':
        free, _ = torch.cuda.mem_get_info(device)
        return int(free + torch.cuda.memory_allocated(device)), f'{device} free memory'
    import psutil
    # Weights already loaded count in this process's RSS; the estimate includes them.
    rss = psutil.Process().memory_info().rss
    return int(psutil.virtual_memory().available + rss), 'host available memory'


def choose_gradient_checkpointing(setting: bool | str, estimate: MemoryEstimate,
                                  budget: int, where: str = 'memory',
                                  fraction: float = 0.8) -> tuple[bool, str]:
    """Resolve ``True``/``False``/``'auto'`` and say why.

    ``'auto'`` turns checkpointing on only when the estimate without it exceeds
    ``fraction`` of ``budget`` bytes.
    """
    if setting not in (True, False, 'auto'):
        from ..errors import ConfigError
        raise ConfigError(f"use_gradient_checkpointing={setting!r}; use True, False or 'auto'")
    without = estimate.total(False) / GIB
    limit = fraction * budget / GIB
    if setting != 'auto':
        return bool(setting), f'{"on" if setting else "off"} (set in the config)'
    if without <= limit:
        return False, (f'off (auto: {without:.2f} GiB without it fits in {fraction:.0%} of '
                       f'{budget / GIB:.1f} GiB {where})')
    return True, (f'on (auto: {without:.2f} GiB without it exceeds {fraction:.0%} of '
                  f'{budget / GIB:.1f} GiB {where}; with it '
                  f'{estimate.total(True) / GIB:.2f} GiB)')
