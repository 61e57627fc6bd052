"""Load the model and tokenizer that ``chat`` talks to (optionally 4/8-bit, with an adapter)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..model.load import check_adapter_dir, has_tokenizer, load_causal_lm, load_tokenizer
# quantization_spec lives in model/ so convert (merge --bits 4) shares it; kept importable here
from ..model.load import BITS, quantization_spec  # noqa: F401


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
