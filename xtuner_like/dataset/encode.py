"""Tokenization and labels: the whole conversation is tokenized once, as a server does.

The segments of a rendered conversation are joined into one text, which is tokenized in one
call without added special tokens (the template holds them), exactly as
``tokenizer.apply_chat_template(messages, tokenize=True)`` does with the exported
chat_template; so the trained ids are the served ids. Trained tokens are found from the
character spans of the trained segments: every token that overlaps one is trained (a merge
across a border, or a SentencePiece space before the reply, belongs to the reply). Fast
tokenizers give the spans from their offsets; slow ones, the same spans, from the token
borders found by tokenizing text prefixes.

A conversation longer than ``max_length`` keeps its first whole turns (never a reply without
its end of turn); when not even the first reply fits, the sample is dropped (no tokens). A
text with nothing untrained (pre-training) has no turns and is cut at ``max_length``.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..errors import ConfigError, DatasetFormatError
from ..utils import fast_paths
from ..utils.labels import IGNORE_INDEX

SegmentLike = Mapping | Sequence  # {'text', 'trained'} or (text, trained)
Span = tuple[int, int]
KEYS = ('input_ids', 'labels', 'length', 'num_trained', 'truncated')


def encode_segments(segments: Sequence[SegmentLike], tokenizer, max_length: int,
                    full_length: bool = False) -> dict:
    """Tokenize one conversation's segments into input_ids and labels.

    Args:
        segments: ``{'text', 'trained'}`` dicts or ``(text, trained)`` pairs.
        tokenizer: A Hugging Face tokenizer (a fast one for speed).
        max_length: The most tokens kept (whole turns, see the module docstring).
        full_length: Also return ``'full_length'``, the length before truncation.

    Returns:
        ``{'input_ids', 'labels', 'length', 'num_trained', 'truncated'}``; labels are the
        ids at trained tokens and -100 elsewhere (unshifted). ``truncated``: turns were
        dropped; a dropped sample has no tokens and ``num_trained`` 0.

    Raises:
        DatasetFormatError: No segment holds a trained token.
    """
    out = encode_batch([segments], tokenizer, max_length, full_length)
    return {key: values[0] for key, values in out.items()}


def encode_batch(batch_segments: Sequence[Sequence[SegmentLike]], tokenizer,
                 max_length: int, full_length: bool = False) -> dict[str, list]:
    """``encode_segments`` over many conversations with one tokenizer call.

    Returns:
        A dict of lists (the layout of ``datasets.Dataset.map(batched=True)``).
    """
    if not isinstance(max_length, int) or max_length < 1:
        raise ConfigError(f'max_length must be a positive int, got {max_length!r}')
    texts, char_spans = [], []
    for row in batch_segments:
        text, spans = _join(row)
        texts.append(text)
        char_spans.append(spans)
    out: dict[str, list] = {key: [] for key in KEYS + (('full_length',) if full_length else ())}
    for text, spans, (ids, token_spans) in zip(texts, char_spans,
                                               _tokenize(texts, char_spans, tokenizer)):
        one = _labels(ids, token_spans, text, len(spans) == 1 and spans[0] == (0, len(text)),
                      max_length)
        if full_length:
            one['full_length'] = len(ids)
        for key, value in one.items():
            out[key].append(value)
    return out


def token_ids(texts: list[str], tokenizer) -> list[list[int]]:
    """Token ids of each text, without special tokens added."""
    encodings = _fast_encodings(texts, tokenizer)
    if encodings is None:
        return tokenizer(texts, add_special_tokens=False)['input_ids']
    return [e.ids for e in encodings]


def _fast_encodings(texts: list[str], tokenizer) -> list | None:
    """The Rust ``Encoding`` of each text, or None for a slow tokenizer.

    The backend is called directly: transformers' ``__call__`` gives the same encodings but
    turns each into a dict of lists first (a third of the tokenizing time on Alpaca). Its
    ``encode_batch`` (not ``encode_batch_fast``, which skips them) keeps the offsets. A backend
    with padding or truncation switched on goes through ``__call__``.
    """
    if not texts or not getattr(tokenizer, 'is_fast', False):
        return None if texts else []
    backend = getattr(tokenizer, 'backend_tokenizer', None)
    if (backend is None or not fast_paths.enabled('rust_tokenizer')
            or backend.padding is not None or backend.truncation is not None):
        return tokenizer(texts, add_special_tokens=False).encodings
    return backend.encode_batch(texts, add_special_tokens=False)


def _tokenize(texts: list[str], char_spans: list[list[Span]],
              tokenizer) -> list[tuple[list[int], list[Span]]]:
    encodings = _fast_encodings(texts, tokenizer)
    if encodings is not None:
        return [(e.ids, [s for s in (_fast_span(e, a, b) for a, b in spans) if s])
                for e, spans in zip(encodings, char_spans)]
    return [_slow(text, spans, tokenizer) for text, spans in zip(texts, char_spans)]


def _fast_span(encoding, start: int, end: int) -> Span | None:
    """Tokens overlapping characters [start, end), from the offsets of a fast tokenizer."""
    first, last = encoding.char_to_token(start), encoding.char_to_token(end - 1)
    if first is not None and last is not None:  # nearly always: few characters have no token
        return first, last + 1
    for pos in range(start, end):
        first = encoding.char_to_token(pos)
        if first is not None:
            break
    for pos in range(end - 1, start - 1, -1):
        last = encoding.char_to_token(pos)
        if last is not None:
            break
    return None if first is None else (first, last + 1)


def _slow(text: str, spans: list[Span], tokenizer) -> tuple[list[int], list[Span]]:
    """Token spans without offsets (a slow tokenizer): the tokens overlapping each span, as
    the offsets of a fast tokenizer give them.

    A token border lies at character ``b`` exactly when ``text[:b]`` tokenizes to a prefix of
    the whole text's ids: those ids then spell ``text[:b]``; and at a real border no merge
    crosses it, so the left part tokenizes alone as it does within the whole (BPE applies
    the same merges in the same order; a Unigram model may not, and the search then goes on
    to the next border, training a token more). A span's first token starts at the nearest
    border at or before its start, its last ends at the nearest border at or after its end.
    Usually the span's own borders are token borders: one tokenizer call each.
    """
    def encode(part: str) -> list[int]:
        return tokenizer(part, add_special_tokens=False)['input_ids']

    def border(pos: int, step: int) -> int:
        """Tokens before the nearest border from ``pos`` in the direction ``step``."""
        while 0 < pos < len(text):
            prefix = encode(text[:pos])
            if prefix == ids[:len(prefix)]:
                return len(prefix)
            pos += step
        return 0 if pos <= 0 else len(ids)

    ids, token_spans = encode(text), []
    for start, end in spans:
        first, last = border(start, -1), border(end, 1)
        if last > first:
            token_spans.append((first, last))
    return ids, token_spans


def _labels(ids: list[int], spans: list[Span], text: str, plain: bool, max_length: int) -> dict:
    if not spans:
        raise DatasetFormatError(
            f'conversation has no trained token (empty outputs and no template suffix?): '
            f'{text[:120]!r}; drop such rows or fix the dataset_map_fn')
    truncated = len(ids) > max_length
    if truncated and not plain:  # keep whole turns: cut after the last reply that fits
        ends = [end for _, end in spans if end <= max_length]
        cut = ends[-1] if ends else 0
        spans = [(a, b) for a, b in spans if b <= cut]
    else:
        cut = max_length
    if truncated:
        ids = ids[:cut]
    labels = [IGNORE_INDEX] * len(ids)
    trained = done = 0
    for start, end in spans:
        start, end = max(start, done), min(end, cut)  # neighbours may share a token
        if end > start:
            labels[start:end] = ids[start:end]
            trained, done = trained + end - start, end
    return {'input_ids': ids, 'labels': labels, 'length': len(ids), 'num_trained': trained,
            'truncated': truncated}


def kept_length(labels: Sequence[int], max_length: int) -> int:
    """How many tokens of an untruncated sample ``max_length`` keeps: all, its first whole
    turns (a turn ends where a run of trained labels ends), 0 when its first reply does not
    fit, or ``max_length`` for a text with nothing untrained (the rule of ``encode_batch``)."""
    if len(labels) <= max_length:
        return len(labels)
    trained = [label != IGNORE_INDEX for label in labels]
    if all(trained):
        return max_length
    ends = [i + 1 for i in range(max_length) if trained[i] and not trained[i + 1]]
    return ends[-1] if ends else 0


def _join(row: Sequence[SegmentLike]) -> tuple[str, list[Span]]:
    """The conversation's text and the character spans of its trained segments."""
    parts, spans, pos = [], [], 0
    for segment in row:
        text, trained = _pair(segment)
        if trained and text:
            spans.append((pos, pos + len(text)))
        parts.append(text)
        pos += len(text)
    return ''.join(parts), spans


def _pair(segment: SegmentLike) -> tuple[str, bool]:
    # exact types first: isinstance against the Mapping / Sequence ABCs is slow
    if type(segment) is tuple and len(segment) == 2:
        text, trained = segment
    elif type(segment) is dict or isinstance(segment, Mapping):
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
