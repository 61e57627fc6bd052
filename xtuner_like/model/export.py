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
from pathlib import Path
from typing import Any

import torch

from ..templates.chat_format import ChatFormat
from ..templates.equivalence import first_difference
from ..utils.dtype import resolve_dtype
from ..utils.io import atomic_dir
from ..utils.logging import log
from .generate import set_stop_tokens

CONFIG_NAME = 'xtuner_config.py'


def chat_tokenizer(tokenizer: Any, chat_format: ChatFormat) -> Any:
    """A copy of ``tokenizer`` whose chat_template renders the training text.

    The base model's own chat_template is kept only when it renders every feature a training
    conversation can carry (tools, calls, results, reasoning, None content, with or without a
    system message) exactly like the training template (``templates/equivalence.py``);
    otherwise ours replaces it (e.g. SmolLM2's own template, which ignores tools). Without a
    prompt template (pre-training) the tokenizer keeps its own chat_template.
    """
    tokenizer = copy.deepcopy(tokenizer)
    ours = chat_format.chat_template
    if ours is not None:
        theirs = tokenizer.chat_template
        difference = first_difference(tokenizer, theirs, ours)
        if difference is None:
            log(f"export: the base model's chat_template renders like {chat_format.name!r} "
                '(plain turns, tools, calls, results, reasoning); kept')
        else:
            if isinstance(theirs, str) and theirs:
                log(f"export: the base model's chat_template {difference}; writing "
                    f'{chat_format.name!r} as the chat_template instead')
            tokenizer.chat_template = ours
    return tokenizer


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
               chat_format: ChatFormat) -> None:
    if not safe_serialization:
        log('transformers 5 always writes safetensors for full models; '
            '--no-safe-serialization applies to adapters only')
    # A reward model (sequence classifier) has no generation config: nothing to stop.
    config, generation = llm.config, copy.deepcopy(getattr(llm, 'generation_config', None))
    saved = (config.use_cache, getattr(llm, 'generation_config', None))
    if generation is not None:
        set_stop_tokens(generation, tokenizer, chat_format.stop_words, keep_existing=False)
    # Training turns the KV cache off; a served model needs it.
    config.use_cache = True
    if generation is not None:
        llm.generation_config = generation
    try:
        llm.save_pretrained(out, state_dict=_cast(llm.state_dict(), dtype),
                            max_shard_size=max_shard_size)
    finally:
        config.use_cache = saved[0]
        if generation is not None:
            llm.generation_config = saved[1]
    if dtype is not None:  # save_pretrained writes the dtype of the live model's weights
        path = out / 'config.json'
        data = json.loads(path.read_text(encoding='utf-8'))
        data['dtype'] = str(dtype).replace('torch.', '')
        path.write_text(json.dumps(data, indent=2, sort_keys=True) + '\n', encoding='utf-8')


def save_hf(model: Any, tokenizer: Any, out_dir: str | os.PathLike, *,
            chat_format: ChatFormat, config_text: str | None = None, dtype: str | None = None,
            max_shard_size: str = '2GB', safe_serialization: bool = True,
            base_name: str | None = None, overwrite: bool = False) -> Path:
    """Write ``model`` as an adapter folder (LoRA/QLoRA) or a full model folder.

    Args:
        model: the trained model (model/base.py); its ``llm`` is a PeftModel with adapters.
        tokenizer: the training tokenizer; saved with the format's ``chat_template``.
        out_dir: the folder to write; it appears complete or not at all.
        chat_format: the format the model was trained with (template, system, stop words).
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
        if model.has_adapters:
            _save_adapter(llm, tmp, torch_dtype, safe_serialization, base_name)
        else:
            _save_full(llm, tokenizer, tmp, torch_dtype, max_shard_size, safe_serialization,
                       chat_format)
        chat_tokenizer(tokenizer, chat_format).save_pretrained(tmp)
        if config_text is not None:
            (tmp / CONFIG_NAME).write_text(config_text, encoding='utf-8')
    return Path(out_dir).expanduser().resolve()
