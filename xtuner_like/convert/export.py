"""Write a trained model as a Hugging Face folder: a PEFT adapter or a full model.

Shared by ``convert pth_to_hf`` and the end-of-training :class:`HFExportHook`, so both give
the same folder: weights, the tokenizer whose ``chat_template`` renders exactly the training
text (DESIGN.md), the generation config that stops at the template's stop words, and the
training config as ``xtuner_config.py``.
"""
from __future__ import annotations

import copy
import json
import os
import shutil
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import torch

from ..errors import CheckpointError
from ..templates import get_template, resolve_system, to_chat_template
from ..utils.dtype import resolve_dtype
from ..utils.logging import log

CONFIG_NAME = 'xtuner_config.py'


@contextmanager
def atomic_dir(out_dir: str | os.PathLike, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary folder beside ``out_dir`` that becomes ``out_dir`` on success.

    A failed export leaves no half-written folder that a later load could pick up.

    Raises:
        CheckpointError: ``out_dir`` holds files and ``overwrite`` is False.
    """
    out = Path(out_dir).expanduser().resolve()
    if out.exists() and not overwrite and (not out.is_dir() or any(out.iterdir())):
        raise CheckpointError(f'{out} already exists and is not an empty directory; '
                              'delete it or choose another output directory')
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f'.{out.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}'
    tmp.mkdir()
    try:
        yield tmp
        if out.is_dir():
            shutil.rmtree(out)
        elif out.exists():
            out.unlink()
        os.rename(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def chat_tokenizer(tokenizer: Any, prompt_template: str | None, system: str | None) -> Any:
    """A copy of ``tokenizer`` whose chat_template is the training template (if there is one).

    Without a prompt template (pre-training) the tokenizer keeps its own chat_template.
    """
    tokenizer = copy.deepcopy(tokenizer)
    if prompt_template is not None:
        tokenizer.chat_template = to_chat_template(get_template(prompt_template),
                                                   resolve_system(system))
    return tokenizer


def stop_token_ids(tokenizer: Any, prompt_template: str | None) -> list[int]:
    """Token ids that end a reply: the eos and every stop word that is one token."""
    words = list(get_template(prompt_template).stop_words) if prompt_template else []
    ids = [tokenizer.eos_token_id] if tokenizer.eos_token_id is not None else []
    for word in words:
        encoded = tokenizer.encode(word, add_special_tokens=False)
        if len(encoded) == 1:
            ids.append(encoded[0])
    return list(dict.fromkeys(ids))


def _cast(tensors: dict[str, torch.Tensor], dtype: torch.dtype | None) -> dict[str, torch.Tensor]:
    return {k: (v.detach().to(dtype) if dtype is not None and v.is_floating_point()
                else v.detach()) for k, v in tensors.items()}


def _save_adapter(peft_model: Any, out: Path, dtype: torch.dtype | None,
                  safe_serialization: bool, base_name: str | None) -> None:
    trainable = {n: p for n, p in peft_model.named_parameters() if p.requires_grad}
    if not trainable:  # a model rebuilt for export has its adapters trainable; be safe
        trainable = {n: p for n, p in peft_model.named_parameters() if 'lora_' in n}
    config = peft_model.peft_config['default']
    saved_name = config.base_model_name_or_path
    if base_name:  # the name the config used (a hub id stays portable), not a cache path
        config.base_model_name_or_path = base_name
    try:
        peft_model.save_pretrained(out, safe_serialization=safe_serialization,
                                   state_dict=_cast(trainable, dtype),
                                   save_embedding_layers=False)
    finally:
        config.base_model_name_or_path = saved_name


def _save_full(llm: Any, tokenizer: Any, out: Path, dtype: torch.dtype | None,
               max_shard_size: str, safe_serialization: bool,
               prompt_template: str | None) -> None:
    if not safe_serialization:
        log('transformers 5 always writes safetensors for full models; '
            '--no-safe-serialization applies to adapters only')
    config, generation = llm.config, copy.deepcopy(llm.generation_config)
    saved = (config.use_cache, llm.generation_config)
    ids = stop_token_ids(tokenizer, prompt_template)
    generation.eos_token_id = ids[0] if len(ids) == 1 else ids or generation.eos_token_id
    generation.pad_token_id = tokenizer.pad_token_id
    # Training turns the KV cache off; a served model needs it.
    config.use_cache = True
    llm.generation_config = generation
    try:
        llm.save_pretrained(out, state_dict=_cast(llm.state_dict(), dtype),
                            max_shard_size=max_shard_size)
    finally:
        config.use_cache, llm.generation_config = saved
    if dtype is not None:  # save_pretrained writes the dtype of the live model's weights
        path = out / 'config.json'
        data = json.loads(path.read_text(encoding='utf-8'))
        data['dtype'] = str(dtype).replace('torch.', '')
        path.write_text(json.dumps(data, indent=2, sort_keys=True) + '\n', encoding='utf-8')


def save_hf(model: Any, tokenizer: Any, out_dir: str | os.PathLike, *,
            prompt_template: str | None = None, system: str | None = None,
            config_text: str | None = None, dtype: str | None = None,
            max_shard_size: str = '2GB', safe_serialization: bool = True,
            base_name: str | None = None, overwrite: bool = False) -> Path:
    """Write ``model`` (a SupervisedFinetune) as an adapter folder (LoRA) or a full model.

    Args:
        model: the trained SupervisedFinetune; its ``llm`` is a PeftModel for LoRA/QLoRA.
        tokenizer: the training tokenizer; saved with the template as ``chat_template``.
        out_dir: the folder to write; it appears complete or not at all.
        prompt_template: template name the model was trained with (None: keep the
            tokenizer's own chat_template).
        system: system-template name or text used in training (the template's default).
        config_text: the training config, written as ``xtuner_config.py``.
        dtype: 'fp32', 'bf16', 'fp16' or None (keep the weights' dtype).
        max_shard_size: largest weight file of a full model, e.g. '2GB'.
        safe_serialization: safetensors (True) or a torch .bin adapter (False).
        base_name: base model name written into adapter_config.json.
        overwrite: replace an existing ``out_dir``.
    """
    torch_dtype = resolve_dtype(dtype) if dtype not in (None, 'auto') else None
    llm = model.llm
    with atomic_dir(out_dir, overwrite=overwrite) as tmp:
        if getattr(model, 'use_lora', False):
            _save_adapter(llm, tmp, torch_dtype, safe_serialization, base_name)
        else:
            _save_full(llm, tokenizer, tmp, torch_dtype, max_shard_size, safe_serialization,
                       prompt_template)
        chat_tokenizer(tokenizer, prompt_template, system).save_pretrained(tmp)
        if config_text is not None:
            (tmp / CONFIG_NAME).write_text(config_text, encoding='utf-8')
    return Path(out_dir).expanduser().resolve()
