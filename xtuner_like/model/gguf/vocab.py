"""A Hugging Face fast tokenizer -> the ``tokenizer.*`` metadata of a GGUF file.

Two kinds, told apart by the tokenizer's own ``tokenizer.json``:

- ``gpt2``: byte-level BPE (SmolLM2, Llama 3, Qwen2/2.5/3). Tokens and merges are written
  as they are; ``tokenizer.ggml.pre`` names the pre-tokenizer regex llama.cpp must use,
  read from the tokenizer's pre_tokenizer (not guessed from the model name), so llama.cpp
  splits text exactly as the tokenizer that trained the model did.
- ``llama``: SentencePiece-style BPE with byte fallback (Llama 2, Mistral). llama.cpp merges
  such pieces by score, so each token scores minus the rank of the merge that makes it.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...errors import ConfigError

# Pre-tokenizer regexes of the byte-level BPE families -> llama.cpp's name for them.
_LLAMA3_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?"
                 r"[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
_QWEN2_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?"
                r"[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
SPLIT_REGEX_PRE = {_LLAMA3_REGEX: 'llama-bpe', _QWEN2_REGEX: 'qwen2'}
_BYTE_TOKEN = re.compile(r'<0x[0-9A-Fa-f]{2}>')

# gguf.TokenType values (kept as ints so this module imports without gguf).
NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 5, 6


@dataclass
class GGUFVocab:
    """Everything ``tokenizer.*`` in a GGUF file holds."""

    model: str  # 'gpt2' or 'llama'
    pre: str | None
    tokens: list[str]
    scores: list[float]
    types: list[int]
    merges: list[str] = field(default_factory=list)
    special_ids: dict[str, int] = field(default_factory=dict)  # bos/eos/unk/pad -> id
    add_bos: bool = False
    add_eos: bool = False
    add_space_prefix: bool = False
    chat_template: str | None = None

    def add_to(self, writer: Any) -> None:
        """Write the vocabulary into a ``gguf.GGUFWriter``."""
        writer.add_tokenizer_model(self.model)
        if self.pre is not None:
            writer.add_tokenizer_pre(self.pre)
        writer.add_token_list(self.tokens)
        writer.add_token_scores(self.scores)
        writer.add_token_types(self.types)
        if self.merges:
            writer.add_token_merges(self.merges)
        for kind, token_id in self.special_ids.items():
            getattr(writer, f'add_{kind}_token_id')(token_id)
        writer.add_add_bos_token(self.add_bos)
        writer.add_add_eos_token(self.add_eos)
        if self.model == 'llama':
            writer.add_add_space_prefix(self.add_space_prefix)
        if self.chat_template:
            writer.add_chat_template(self.chat_template)


def tokenizer_kind(spec: dict, where: str) -> str:
    """'gpt2' or 'llama' for a parsed tokenizer.json; ConfigError for anything else."""
    model = spec.get('model') or {}
    decoder = json.dumps(spec.get('decoder'))
    if model.get('type') == 'BPE' and not model.get('byte_fallback') and 'ByteLevel' in decoder:
        return 'gpt2'
    if model.get('type') == 'BPE' and model.get('byte_fallback'):
        return 'llama'
    raise ConfigError(
        f'{where}: tokenizer model {model.get("type")!r} (byte_fallback='
        f'{model.get("byte_fallback")}) is not supported for GGUF export; supported: '
        'byte-level BPE (SmolLM2, Llama 3, Qwen2/2.5/3) and SentencePiece-style BPE with '
        'byte fallback (Llama 2, Mistral)')


def pre_tokenizer_name(pre_tokenizer: dict | None) -> str:
    """llama.cpp's name for a byte-level BPE pre-tokenizer ('default' when it is none known)."""
    steps = (pre_tokenizer or {}).get('pretokenizers', [pre_tokenizer or {}])
    kinds = [s.get('type') for s in steps]
    if kinds == ['ByteLevel'] and steps[0].get('use_regex', True):
        return 'gpt-2'
    if kinds == ['Digits', 'ByteLevel'] and steps[0].get('individual_digits') \
            and steps[1].get('use_regex', True):
        return 'smollm'
    regexes = [s.get('pattern', {}).get('Regex') for s in steps if s.get('type') == 'Split']
    if len(regexes) == 1 and regexes[0] in SPLIT_REGEX_PRE:
        return SPLIT_REGEX_PRE[regexes[0]]
    return 'default'


def _merge_strings(merges: list) -> list[str]:
    """tokenizers writes merges as 'a b' strings or as [a, b] pairs, by version."""
    return [m if isinstance(m, str) else ' '.join(m) for m in merges]


def _spm_scores(vocab: dict[str, int], merges: list[str], n_vocab: int) -> list[float]:
    """Score = -(rank of the first merge that makes the token); 0 for pieces no merge makes."""
    scores = [0.0] * n_vocab
    seen: set[int] = set()
    for rank, merge in enumerate(merges):
        token_id = vocab.get(merge.replace(' ', '', 1))
        if token_id is not None and token_id < n_vocab and token_id not in seen:
            seen.add(token_id)
            scores[token_id] = -float(rank + 1)
    return scores


def _adds_specials(tokenizer: Any) -> tuple[bool, bool]:
    """Whether encoding adds bos at the start / eos at the end (asked, not read from flags)."""
    plain = tokenizer.encode('a', add_special_tokens=False)
    full = tokenizer.encode('a', add_special_tokens=True)
    add_bos = tokenizer.bos_token_id is not None and len(full) > len(plain) \
        and full[0] == tokenizer.bos_token_id
    add_eos = tokenizer.eos_token_id is not None and len(full) > len(plain) \
        and full[-1] == tokenizer.eos_token_id
    return add_bos, add_eos


def _space_prefix(spec: dict) -> bool:
    """SentencePiece's dummy prefix: a Prepend('▁') normalizer or a Metaspace that prepends."""
    text = json.dumps([spec.get('normalizer'), spec.get('pre_tokenizer')])
    return '"Prepend"' in text or ('"Metaspace"' in text and '"never"' not in text)


def build_vocab(tokenizer: Any, n_vocab: int, where: str) -> GGUFVocab:
    """The GGUF vocabulary of a fast HF tokenizer, padded to the model's ``n_vocab`` rows.

    Args:
        tokenizer: a transformers fast tokenizer (``tokenizer.json`` inside).
        n_vocab: rows of the embedding matrix; ids past the tokenizer are unused pads.
        where: the model folder, named in errors.
    """
    if not getattr(tokenizer, 'is_fast', False):
        raise ConfigError(f'{where}: GGUF export needs a fast tokenizer (tokenizer.json)')
    spec = json.loads(tokenizer.backend_tokenizer.to_str())
    kind = tokenizer_kind(spec, where)
    vocab = tokenizer.get_vocab()
    if len(vocab) > n_vocab:
        raise ConfigError(f'{where}: the tokenizer has {len(vocab)} tokens but the model only '
                          f'{n_vocab} embedding rows; export the tokenizer the model was '
                          'trained with (resize_token_embeddings after adding tokens)')
    by_id = {i: t for t, i in vocab.items()}
    added = tokenizer.added_tokens_decoder
    tokens, types = [], []
    for i in range(n_vocab):
        token = by_id.get(i)
        if token is None:
            tokens.append(f'[PAD{i}]')
            types.append(UNUSED)
        elif i in added:
            tokens.append(added[i].content)
            types.append(CONTROL if added[i].special else USER_DEFINED)
        else:
            tokens.append(token)
            types.append(BYTE if kind == 'llama' and _BYTE_TOKEN.fullmatch(token) else NORMAL)
    if tokenizer.unk_token_id is not None and types[tokenizer.unk_token_id] != UNUSED:
        types[tokenizer.unk_token_id] = UNKNOWN
    merges = _merge_strings(spec['model'].get('merges', []))
    add_bos, add_eos = _adds_specials(tokenizer)
    special_ids = {name: getattr(tokenizer, f'{name}_token_id')
                   for name in ('bos', 'eos', 'unk', 'pad')
                   if getattr(tokenizer, f'{name}_token_id') is not None}
    template = tokenizer.chat_template if isinstance(tokenizer.chat_template, str) else None
    if kind == 'gpt2':
        return GGUFVocab('gpt2', pre_tokenizer_name(spec.get('pre_tokenizer')), tokens,
                         [0.0] * n_vocab, types, merges, special_ids, add_bos, add_eos,
                         chat_template=template)
    return GGUFVocab('llama', None, tokens, _spm_scores(vocab, merges, n_vocab), types, [],
                     special_ids, add_bos, add_eos, _space_prefix(spec), template)


def load_tokenizer_for_export(model_dir: Path) -> Any:
    """The fast tokenizer saved in ``model_dir``, with a clear error when there is none."""
    from transformers import AutoTokenizer
    if not (model_dir / 'tokenizer.json').is_file() and \
            not (model_dir / 'tokenizer_config.json').is_file():
        raise ConfigError(f'{model_dir} has no tokenizer (tokenizer.json); a GGUF file carries '
                          'its tokenizer: save the tokenizer into the model folder')
    return AutoTokenizer.from_pretrained(model_dir)
