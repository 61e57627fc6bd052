"""Colocated vLLM generation for online RL (``GRPOFinetune(generation_backend='vllm')``, GPU).

A vLLM ``LLM`` is built in the training process itself, on the same GPU, holding
``gpu_memory_utilization`` of its memory (weights + KV cache; the rest stays with training).
It answers the repeated prompts of a rollout (one request per completion, so vLLM's prefix
cache shares each prompt's KV across its group), and before each rollout it receives the
policy's current weights, so the samples always come from the policy the last optimizer
step produced:

- LoRA / QLoRA: the adapters are written to a folder and served as a new vLLM LoRA request
  (``enable_lora``); the base weights in vLLM never change, and a 4-bit base needs no merge.
- full fine-tune: every parameter goes to vLLM's ``load_weights`` through a worker
  extension (:class:`WeightLoader`) called with ``collective_rpc``, vLLM's public way to run
  code beside its model.

vLLM is imported only here, only when asked for; without CUDA or without the package the
request stops with one line (:func:`check_vllm`). The sampling seed of each rollout is drawn
from the training loop's generator, so a resumed run draws the same seeds.
"""
from __future__ import annotations

import importlib.util
import os
import tempfile
from pathlib import Path
from typing import Any, Sequence

import torch

from ..errors import ConfigError

BACKENDS = ('hf', 'vllm')
LORA_RANKS = (8, 16, 32, 64, 128, 256, 320, 512)   # the max_lora_rank values vLLM accepts


def check_backend(name: str) -> str:
    """``name`` if it is a generation backend; else one line naming the choices."""
    if name not in BACKENDS:
        import difflib
        close = difflib.get_close_matches(str(name), BACKENDS, n=1, cutoff=0.3)
        hint = f'did you mean {close[0]!r}? ' if close else ''
        raise ConfigError(f'generation_backend={name!r}: {hint}use one of {BACKENDS}')
    return name


def check_vllm() -> None:
    """One clear line when vLLM cannot run here: no CUDA GPU, or the package is missing."""
    if not torch.cuda.is_available():
        raise ConfigError("generation_backend='vllm' needs a CUDA GPU and none is visible; "
                          "use generation_backend='hf' (the default) on this machine")
    if importlib.util.find_spec('vllm') is None:
        raise ConfigError("generation_backend='vllm' needs the vllm package: pip install -r "
                          "requirements/vllm.txt (or use generation_backend='hf')")


def sampling_settings(max_tokens: int, temperature: float, top_p: float, top_k: int,
                      stop_ids: Sequence[int], stop_texts: Sequence[str],
                      seed: int | None) -> dict:
    """The ``SamplingParams`` keywords of one rollout (one completion per request)."""
    return dict(n=1, max_tokens=int(max_tokens), temperature=float(temperature),
                top_p=float(top_p), top_k=int(top_k) if top_k else -1,
                stop_token_ids=list(stop_ids), stop=list(stop_texts),
                include_stop_str_in_output=True, skip_special_tokens=False, seed=seed)


def completion_ids(output: Any, eos_id: int | None) -> list[int]:
    """The generated ids of one vLLM ``CompletionOutput``, ending with the stop token when a
    stop token (or the eos) ended it, as ``generate_batch`` returns them."""
    ids = list(output.token_ids)
    if getattr(output, 'finish_reason', None) != 'stop':
        return ids
    reason = getattr(output, 'stop_reason', None)
    token = reason if isinstance(reason, int) else (eos_id if reason is None else None)
    if token is not None and (not ids or ids[-1] != token):
        ids.append(token)
    return ids


def lora_rank_slot(r: int) -> int:
    """The smallest ``max_lora_rank`` vLLM accepts that holds rank ``r``."""
    for slot in LORA_RANKS:
        if int(r) <= slot:
            return slot
    raise ConfigError(f"generation_backend='vllm': LoRA rank {r} is above vLLM's largest "
                      f'({LORA_RANKS[-1]}); lower lora_r')


def model_path(llm: torch.nn.Module) -> str:
    """The folder (or hub id) the policy's base weights came from: what vLLM loads."""
    base = llm.get_base_model() if hasattr(llm, 'get_base_model') else llm
    path = getattr(base.config, '_name_or_path', None) or getattr(base, 'name_or_path', None)
    if not path:
        raise ConfigError("generation_backend='vllm': the model has no source folder "
                          '(config._name_or_path) for vLLM to load')
    return str(path)


def full_weights(llm: torch.nn.Module) -> list[tuple[str, torch.Tensor]]:
    """(name, tensor) of every parameter of a full fine-tune, in the checkpoint names vLLM's
    ``load_weights`` reads."""
    return [(name, param.detach()) for name, param in llm.named_parameters()]


class WeightLoader:
    """vLLM worker extension (``worker_extension_cls``): loads weights handed in-process."""

    def xtl_load_weights(self, weights: list[tuple[str, torch.Tensor]]) -> None:
        self.model_runner.model.load_weights(weights=weights)

    def xtl_weight_abs_sum(self) -> float:
        """Sum of |w| over vLLM's weights (a check that a sync arrived)."""
        return float(sum(p.float().abs().sum() for p in self.model_runner.model.parameters()))


class VLLMRollout:
    """A vLLM engine colocated with training that generates rollouts for the policy.

    Args:
        llm: the policy (a transformers model, or a peft model for LoRA/QLoRA).
        gpu_memory_utilization: share of the GPU's memory vLLM may take.
        max_model_len: longest prompt + completion (None: the model's).
        dtype: vLLM's dtype ('auto': the model config's).
        enforce_eager: no CUDA graphs (faster start, slower decoding).
        **engine: more ``vllm.LLM`` keywords.
    """

    def __init__(self, llm: torch.nn.Module, gpu_memory_utilization: float = 0.3,
                 max_model_len: int | None = None, dtype: str = 'auto',
                 enforce_eager: bool = False, **engine: Any) -> None:
        check_vllm()
        os.environ.setdefault('VLLM_ENABLE_V1_MULTIPROCESSING', '0')   # the engine in-process
        for key, value in (('RANK', '0'), ('LOCAL_RANK', '0'), ('WORLD_SIZE', '1'),
                           ('MASTER_ADDR', '127.0.0.1'), ('MASTER_PORT', '29533')):
            os.environ.setdefault(key, value)
        import vllm
        self.adapters = hasattr(llm, 'peft_config')
        options: dict[str, Any] = dict(
            model=model_path(llm), gpu_memory_utilization=gpu_memory_utilization,
            max_model_len=max_model_len, dtype=dtype, enforce_eager=enforce_eager,
            enable_prefix_caching=True, distributed_executor_backend='external_launcher',
            worker_extension_cls=f'{__name__}.WeightLoader')
        if self.adapters:
            config = next(iter(llm.peft_config.values()))
            options.update(enable_lora=True, max_loras=1, max_lora_rank=lora_rank_slot(config.r))
            base = llm.get_base_model()
            if getattr(base.config, 'quantization_config', None) is not None:
                options.update(quantization='bitsandbytes')
        options.update(engine)
        self.engine = vllm.LLM(**options)
        self._adapter_dir = tempfile.TemporaryDirectory(prefix='xtl_vllm_lora_')
        self._lora_request = None
        self._version = 0

    def sync(self, llm: torch.nn.Module) -> None:
        """Hand the policy's current weights to vLLM (see the module docstring)."""
        self._version += 1
        if self.adapters:
            from vllm.lora.request import LoRARequest
            folder = Path(self._adapter_dir.name) / f'v{self._version}'
            llm.save_pretrained(str(folder))
            self._lora_request = LoRARequest('policy', self._version, str(folder))
        else:
            self.engine.collective_rpc('xtl_load_weights', args=(full_weights(llm),))
        self.engine.reset_prefix_cache()

    def generate(self, prompts: Sequence[Sequence[int]], settings: dict) -> list[Any]:
        """The vLLM ``CompletionOutput`` of each prompt (token ids), in order."""
        from vllm import SamplingParams
        requests = [{'prompt_token_ids': list(p)} for p in prompts]
        outputs = self.engine.generate(requests, SamplingParams(**settings),
                                       lora_request=self._lora_request, use_tqdm=False)
        return [out.outputs[0] for out in outputs]


def vllm_generate(rollout: VLLMRollout, llm: torch.nn.Module,
                  prompts: Sequence[Sequence[int]], max_new_tokens: int,
                  stop_ids: Sequence[int], stop_texts: Sequence[str], temperature: float,
                  top_p: float, top_k: int, eos_id: int | None,
                  generator: torch.Generator | None) -> list[list[int]]:
    """Sync the weights, then the new token ids of each prompt (as ``generate_batch``)."""
    rollout.sync(llm)
    seed = None if generator is None else int(
        torch.randint(0, 2 ** 31 - 1, (1,), generator=generator, device=generator.device))
    texts = [s for s in stop_texts if s]
    settings = sampling_settings(max_new_tokens, temperature, top_p, top_k, stop_ids, texts,
                                 seed)
    return [completion_ids(out, eos_id) for out in rollout.generate(prompts, settings)]


__all__ = ['BACKENDS', 'VLLMRollout', 'WeightLoader', 'check_backend', 'check_vllm',
           'completion_ids', 'full_weights', 'lora_rank_slot', 'model_path',
           'sampling_settings', 'vllm_generate']
