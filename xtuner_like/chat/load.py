"""Load the model and tokenizer that ``chat`` talks to (optionally 4/8-bit, with an adapter)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..model.load import check_adapter_dir, has_tokenizer, load_causal_lm, load_tokenizer
from ..utils.dtype import auto_dtype

BITS = (4, 8)


def quantization_spec(bits: int | None) -> dict | None:
    """A BitsAndBytesConfig spec for ``--bits`` (4-bit NF4 also runs on the CPU)."""
    if bits is None:
        return None
    if bits not in BITS:
        raise ConfigError(f'--bits {bits}: use 4 or 8')
    from transformers import BitsAndBytesConfig
    if bits == 8:
        return dict(type=BitsAndBytesConfig, load_in_8bit=True)
    compute = str(auto_dtype()).replace('torch.', '')
    return dict(type=BitsAndBytesConfig, load_in_4bit=True, bnb_4bit_quant_type='nf4',
                bnb_4bit_use_double_quant=True, bnb_4bit_compute_dtype=compute)


def load_chat_model(model: str, adapter: str | None = None,
                    bits: int | None = None) -> tuple[Any, Any]:
    """(model in eval mode, tokenizer) for chat.

    Args:
        model: model folder, hub id or the embedded model's hub id.
        adapter: a PEFT adapter folder to apply on top, or None.
        bits: 4 or 8 to load the base through bitsandbytes, or None.

    The tokenizer is the adapter folder's when it has one (it carries the training
    chat_template), else the model's.
    """

    adapter_dir = check_adapter_dir(adapter) if adapter else None
    if model.startswith(('/', '.', '~')) and not Path(model).expanduser().exists():
        raise ConfigError(f'model {model}: no such folder; give a model folder (e.g. the output '
                          'of `convert merge`) or a hub id')
    try:
        llm = load_causal_lm(model, quantization=quantization_spec(bits))
    except OSError as exc:   # transformers: no such folder / hub id (offline or unknown)
        raise ConfigError(f'model {model}: cannot load it ({str(exc).splitlines()[0]}); give a '
                          'model folder (e.g. <work_dir>/hf after merge) or a hub id') from None
    if adapter_dir is not None:
        from peft import PeftModel
        llm = PeftModel.from_pretrained(llm, str(adapter_dir))
    llm.config.use_cache = True
    source = str(adapter_dir) if adapter_dir is not None and has_tokenizer(adapter_dir) \
        else model
    tokenizer = load_tokenizer(source if Path(source).is_dir() else model)
    return llm.eval(), tokenizer
