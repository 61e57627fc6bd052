"""Reply generation with a prompt template; stop words end the reply and are never shown."""
from __future__ import annotations

from collections import deque
from typing import Any, Sequence

import torch
import torch.nn.functional as F

from ..templates import PromptTemplate, render_prompt
from .kv_cache import cache_of, drop_columns, splicable, stack_rows, with_cache


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


def _next_tokens(logits: torch.Tensor, temperature: float, top_k: int, top_p: float,
                 generator: torch.Generator | None) -> torch.Tensor:
    """Greedy (``temperature`` 0) or sampled next tokens from the last logits ``[B, V]``."""
    if temperature <= 0:
        return logits.argmax(-1)
    logits = logits.float() / temperature
    if top_k:
        kth = logits.topk(min(top_k, logits.shape[-1]), dim=-1).values[:, -1:]
        logits = logits.masked_fill(logits < kth, float('-inf'))
    if top_p < 1.0:
        sorted_logits, order = logits.sort(dim=-1, descending=True)
        probs = sorted_logits.softmax(-1)
        # keep the smallest prefix whose mass reaches top_p (the first token always stays)
        drop = probs.cumsum(-1) - probs > top_p
        logits = logits.scatter(1, order, sorted_logits.masked_fill(drop, float('-inf')))
    return torch.multinomial(logits.softmax(-1), 1, generator=generator).squeeze(1)


class _StopChecker:
    """Whether a row's generated ids end with a stop token or contain a stop text."""

    def __init__(self, tokenizer: Any, stop_ids: Sequence[int], stop_texts: Sequence[str]):
        self.tokenizer, self.stop_ids = tokenizer, set(stop_ids)
        self.stop_texts = [s for s in stop_texts if s]
        longest = max((len(tokenizer.encode(s, add_special_tokens=False))
                       for s in self.stop_texts), default=0)
        self.tail = longest + 2      # tokens decoded to find a text that just completed

    def __call__(self, ids: list[int]) -> bool:
        if ids[-1] in self.stop_ids:
            return True
        if not self.stop_texts:
            return False
        tail = self.tokenizer.decode(ids[-self.tail:], skip_special_tokens=False)
        return any(s in tail for s in self.stop_texts)


class _InFlight:
    """The rows generating together: left-padded attention mask ``[B, W]``, next position and
    last logits per row, and their KV cache (``W`` columns). Rows leave and join between
    steps; columns no row attends to any more are dropped, so ``W`` stays at most the longest
    row's prompt + reply."""

    def __init__(self, model: Any, prompts: Sequence[Sequence[int]], rows: list[int],
                 pad_id: int):
        device = next(model.parameters()).device
        width = max(len(p) for p in prompts)
        ids = torch.full((len(prompts), width), pad_id, dtype=torch.long, device=device)
        mask = torch.zeros_like(ids)
        for b, prompt in enumerate(prompts):
            ids[b, width - len(prompt):] = torch.tensor(list(prompt), device=device)
            mask[b, width - len(prompt):] = 1
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        # the LM head only at the last position: a prompt's other logits are never read
        out = model(input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=True,
                    logits_to_keep=1)
        self.model, self.rows, self.mask = model, rows, mask
        self.cache, self.logits = cache_of(out), out.logits[:, -1]
        self.next_pos = positions[:, -1] + 1

    def __len__(self) -> int:
        return len(self.rows)

    def keep(self, keep: list[int]) -> None:
        """Keep the rows at batch indices ``keep``; drop the columns only the others used."""
        if len(keep) == len(self.rows):
            return
        index = torch.tensor(keep, dtype=torch.long, device=self.mask.device)
        self.cache.reorder_cache(index)
        self.rows = [self.rows[b] for b in keep]
        self.mask, self.logits = self.mask[index], self.logits[index]
        self.next_pos = self.next_pos[index]
        if self.rows and splicable(self.cache):
            unused = int(self.mask.any(0).int().argmax())
            drop_columns(self.cache, unused)
            self.mask = self.mask[:, unused:]

    def join(self, other: '_InFlight') -> None:
        """Take ``other``'s rows (prefilled apart), left-padding the narrower mask and cache."""
        stack_rows(self.cache, other.cache)
        width = max(self.mask.shape[1], other.mask.shape[1])
        self.mask = torch.cat([F.pad(m, (width - m.shape[1], 0)) for m in (self.mask,
                                                                          other.mask)])
        self.rows = self.rows + other.rows
        self.logits = torch.cat([self.logits, other.logits])
        self.next_pos = torch.cat([self.next_pos, other.next_pos])

    def step(self, tokens: torch.Tensor) -> None:
        """Feed each row its next token; ``logits`` become the following ones."""
        self.mask = torch.cat([self.mask, self.mask.new_ones(len(self.rows), 1)], dim=1)
        out = self.model(input_ids=tokens[:, None], attention_mask=self.mask,
                         position_ids=self.next_pos[:, None], use_cache=True,
                         **with_cache(self.model, self.cache))
        self.cache, self.logits = cache_of(out), out.logits[:, -1]
        self.next_pos = self.next_pos + 1


@torch.no_grad()
def generate_batch(model: Any, tokenizer: Any, prompts: Sequence[Sequence[int]],
                   max_new_tokens: int, stop_texts: Sequence[str] = (),
                   stop_ids: Sequence[int] = (), temperature: float = 0.0, top_k: int = 0,
                   top_p: float = 1.0, generator: torch.Generator | None = None,
                   pad_id: int = 0, batch_size: int | None = None) -> list[list[int]]:
    """New token ids for each prompt (token ids), generated together with one KV cache.

    At most ``batch_size`` prompts (default: all) generate at once, in the given order. A row
    leaves as soon as it ends (a stop id, a stop text, or ``max_new_tokens``) and a waiting
    prompt takes its place (continuous batching: it is prefilled apart and its KV cache is
    spliced in, left-padded, with its own positions), so the batch stays full while prompts
    wait and shrinks once none do. ``model.generate`` instead keeps computing finished rows
    until the last one of a batch ends. Greedy outputs equal each prompt decoded alone (up to
    float rounding, tested). Models whose cache cannot be spliced (sliding windows) run
    batch after batch. The returned ids include the stop token/text that ended a row; callers
    cut it. This serves evaluation and RL rollouts alike; ``chat`` streams one reply through
    :func:`generate_reply`.
    """
    if max_new_tokens <= 0:
        return [[] for _ in prompts]
    slots = max(1, batch_size or len(prompts))
    waiting = deque(range(len(prompts)))
    stopped = _StopChecker(tokenizer, stop_ids, stop_texts)
    generated: list[list[int]] = [[] for _ in prompts]
    batch: _InFlight | None = None
    while waiting or batch:
        if waiting and _admit(batch, slots, len(waiting)):
            joining = [waiting.popleft() for _ in range(min(slots - len(batch or ()),
                                                            len(waiting)))]
            new = _InFlight(model, [prompts[i] for i in joining], joining, pad_id)
            if batch:
                batch.join(new)
            else:
                batch = new
        tokens = _next_tokens(batch.logits, temperature, top_k, top_p, generator)
        keep = []
        for b, (row, token) in enumerate(zip(batch.rows, tokens.tolist())):
            generated[row].append(token)
            if not stopped(generated[row]) and len(generated[row]) < max_new_tokens:
                keep.append(b)
        batch.keep(keep)
        if batch:
            batch.step(tokens[keep] if len(keep) < len(tokens) else tokens)
        else:
            batch = None
    return generated


def _admit(batch: _InFlight | None, slots: int, waiting: int) -> bool:
    """Whether waiting prompts join now: into an empty batch always; into a running one when
    its cache can be spliced and a quarter of the slots (or every waiting prompt) fits, so
    one prefill pass serves several prompts."""
    if not batch:
        return True
    free = slots - len(batch)
    return free > 0 and splicable(batch.cache) and free >= min(waiting, -(-slots // 4))
