"""Reply generation with a prompt template; stop words end the reply and are never shown."""
from __future__ import annotations

from typing import Any, Sequence

import torch

from ..templates import PromptTemplate, render_prompt


def stop_strings(stop_words: Sequence[str], tokenizer: Any) -> list[str]:
    """``stop_words`` (a ChatFormat's) and the eos text, without duplicates."""
    words = list(stop_words)
    if tokenizer.eos_token:
        words.append(tokenizer.eos_token)
    return list(dict.fromkeys(w for w in words if w))


def stop_token_ids(tokenizer: Any, stop_words: Sequence[str] = ()) -> list[int]:
    """Token ids that end a reply: the eos and every stop word that is one token."""
    ids = [tokenizer.eos_token_id] if tokenizer.eos_token_id is not None else []
    for word in stop_words:
        encoded = tokenizer.encode(word, add_special_tokens=False)
        if len(encoded) == 1:
            ids.append(encoded[0])
    return list(dict.fromkeys(ids))


def set_stop_tokens(generation_config: Any, tokenizer: Any, stop_words: Sequence[str] = (),
                    keep_existing: bool = True) -> None:
    """The one place a generation config learns where a reply ends (export, merge, GGUF import).

    Its ``eos_token_id`` becomes the tokenizer's eos, the one-token ``stop_words`` and (with
    ``keep_existing``) the ids it already had; ``pad_token_id`` the tokenizer's pad when it
    has one.
    """
    old = generation_config.eos_token_id
    kept = ([old] if isinstance(old, int) else list(old or [])) if keep_existing else []
    ids = list(dict.fromkeys([*stop_token_ids(tokenizer, stop_words), *kept]))
    generation_config.eos_token_id = ids[0] if len(ids) == 1 else (ids or old)
    if tokenizer.pad_token_id is not None or generation_config.pad_token_id is None:
        generation_config.pad_token_id = tokenizer.pad_token_id


def cut_at_stop(text: str, stops: Sequence[str]) -> str:
    """The text before the first stop word."""
    cut = min((text.find(s) for s in stops if s in text), default=-1)
    return text if cut < 0 else text[:cut]


@torch.no_grad()
def generate_reply(model: Any, tokenizer: Any, prompt: str, stops: Sequence[str],
                   max_new_tokens: int = 128, temperature: float = 0.0, top_k: int = 0,
                   top_p: float = 1.0, repetition_penalty: float = 1.0,
                   streamer: Any = None, seed: int | None = None) -> str:
    """Generate from ``prompt`` (already templated text) and return the reply text.

    ``temperature`` 0 is greedy. Generation stops at any of ``stops`` (a stop word or the eos),
    which is cut from the returned text.
    """
    inputs = tokenizer(prompt, return_tensors='pt', add_special_tokens=False)
    device = next(model.parameters()).device
    inputs = {k: v.to(device) for k, v in inputs.items()}
    if seed is not None:
        torch.manual_seed(seed)
    sample = temperature > 0
    kwargs = dict(do_sample=sample, max_new_tokens=max_new_tokens, use_cache=True,
                  repetition_penalty=repetition_penalty, streamer=streamer,
                  stop_strings=list(stops), tokenizer=tokenizer,
                  pad_token_id=tokenizer.pad_token_id or tokenizer.eos_token_id,
                  eos_token_id=tokenizer.eos_token_id)
    if sample:
        kwargs.update(temperature=temperature, top_k=top_k or None, top_p=top_p)
    else:
        kwargs.update(temperature=None, top_k=None, top_p=None)
    was_training = model.training
    model.eval()
    try:
        out = model.generate(**inputs, **kwargs)
    finally:
        model.train(was_training)
    text = tokenizer.decode(out[0, inputs['input_ids'].shape[1]:], skip_special_tokens=False)
    return cut_at_stop(text, stops).strip()


def chat_prompt(template: PromptTemplate, tokenizer: Any, turns: Sequence[dict],
                system: str | None = None, tools: list | None = None) -> str:
    """Prompt text for the reply to the last of ``turns`` (the ones before it completed);
    ``tools`` (function schemas) are rendered where the template's tool style puts them, as
    in training."""
    turns = list(turns)
    if tools:
        turns[0] = {**turns[0], 'tools': tools}
    return render_prompt(turns, template, system=system, eos_token=tokenizer.eos_token or '')
