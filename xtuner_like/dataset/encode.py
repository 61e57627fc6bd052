"""Tokenization and labels: the loss falls only on trained segments."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..errors import ConfigError, DatasetFormatError
from ..utils import fast_paths
from ..utils.labels import IGNORE_INDEX, count_trained

SegmentLike = Mapping | Sequence  # {'text', 'trained'} or (text, trained)


def encode_segments(segments: Sequence[SegmentLike], tokenizer, max_length: int) -> dict:
    """Tokenize one conversation's segments into input_ids and labels.

    Each segment is tokenized alone, without special tokens (the template holds
    them); labels equal the ids in trained segments and -100 elsewhere (unshifted).
    Only the start is kept when the result is longer than ``max_length``.

    Args:
        segments: ``{'text', 'trained'}`` dicts or ``(text, trained)`` pairs.
        tokenizer: A Hugging Face tokenizer (a fast one for speed).
        max_length: The most tokens kept.

    Returns:
        ``{'input_ids', 'labels', 'length', 'num_trained', 'truncated'}``.

    Raises:
        DatasetFormatError: No segment holds a trained token.
    """
    return _one(*_tokenize_rows([segments], tokenizer, max_length)[0], max_length)


def encode_batch(batch_segments: Sequence[Sequence[SegmentLike]], tokenizer,
                 max_length: int) -> dict[str, list]:
    """``encode_segments`` over many conversations with one tokenizer call.

    Returns:
        A dict of lists (the layout of ``datasets.Dataset.map(batched=True)``).
    """
    out: dict[str, list] = {key: [] for key in
                            ('input_ids', 'labels', 'length', 'num_trained', 'truncated')}
    for ids, flags, texts in _tokenize_rows(batch_segments, tokenizer, max_length):
        for key, value in _one(ids, flags, texts, max_length).items():
            out[key].append(value)
    return out


def _tokenize_rows(rows, tokenizer, max_length: int) -> list[tuple[list, list, list]]:
    if not isinstance(max_length, int) or max_length < 1:
        raise ConfigError(f'max_length must be a positive int, got {max_length!r}')
    split = [[_pair(segment) for segment in row] for row in rows]
    texts = [text for row in split for text, _ in row]
    ids = token_ids(texts, tokenizer) if texts else []
    result, start = [], 0
    for row in split:
        end = start + len(row)
        result.append((ids[start:end], [flag for _, flag in row], [t for t, _ in row]))
        start = end
    return result


def token_ids(texts: list[str], tokenizer) -> list[list[int]]:
    """Token ids of each text, without special tokens added.

    A fast tokenizer's Rust backend is called directly: transformers' ``__call__`` gives the
    same ids but turns every encoding into a dict of lists first (a third of the tokenizing
    time on Alpaca). A backend with padding or truncation switched on, or a slow tokenizer,
    goes through ``__call__``.
    """
    backend = getattr(tokenizer, 'backend_tokenizer', None) if tokenizer.is_fast else None
    if backend is None or not fast_paths.enabled('rust_tokenizer') or backend.padding is not None or backend.truncation is not None:
        return tokenizer(texts, add_special_tokens=False)['input_ids']
    encode = getattr(backend, 'encode_batch_fast', backend.encode_batch)
    return [e.ids for e in encode(texts, add_special_tokens=False)]


def _one(ids_per_segment: list, flags: list, texts: list, max_length: int) -> dict:
    input_ids: list[int] = []
    labels: list[int] = []
    for ids, trained in zip(ids_per_segment, flags):
        input_ids.extend(ids)
        labels.extend(ids if trained else [IGNORE_INDEX] * len(ids))
    if all(label == IGNORE_INDEX for label in labels):
        preview = ''.join(texts)[:120]
        raise DatasetFormatError(
            f'conversation has no trained token (empty outputs and no template suffix?): '
            f'{preview!r}; drop such rows or fix the dataset_map_fn')
    truncated = len(input_ids) > max_length
    input_ids, labels = input_ids[:max_length], labels[:max_length]
    return {'input_ids': input_ids, 'labels': labels, 'length': len(input_ids),
            'num_trained': count_trained(labels),
            'truncated': truncated}


def _pair(segment: SegmentLike) -> tuple[str, bool]:
    if isinstance(segment, Mapping):
        text, trained = segment.get('text'), segment.get('trained')
    elif isinstance(segment, Sequence) and not isinstance(segment, str) and len(segment) == 2:
        text, trained = segment
    else:
        text = trained = None
    if not isinstance(text, str) or not isinstance(trained, bool):
        raise DatasetFormatError(
            f"a segment must be {{'text': str, 'trained': bool}} or (text, trained), "
            f'got {segment!r:.80}; build segments with template_map_fn')
    return text, trained
