"""Stage 'decontaminate': drop training rows that share a word n-gram with an evaluation set
(any file the pipeline reads, in any map_fn format), or whose prompt is an eval prompt.

The window adapts to the eval text: each eval prompt and each eval reply is indexed by its
windows of ``min(ngram_size, its length)`` tokens, so a short eval prompt copied into a
training row is caught even with another answer. Tokens are the script's units: words, or
for CJK text (no spaces between words) characters, with windows of up to twice
``ngram_size`` characters (a Chinese word is about two). A piece shorter than the floor
``min_ngram_size`` tokens (words, or CJK characters) is too common to index by windows;
instead a training prompt *equal* to an eval prompt (normalized: case, spaces and
punctuation ignored) is contamination at any length ('写一首诗。' copied as the whole
prompt). Training rows are checked at every window size the index uses, on the view ``by``
(``'prompt'``: eval prompts against training prompts only).

Speed: a row's n-gram hashes of every size come from one rolling pass over its token
hashes (numpy, a vector step per token of the largest window), then one ``searchsorted``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from xxhash import xxh3_64_intdigest

from ..dataset.load import resolve_data_files
from ..errors import ConfigError
from .engine import read_rows
from .format import check_spec, check_tokenizer, convert_rows, resolve_format
from .stage import CURATION_STAGES, Option, Stage
from .text import BY, VIEWS, decode, is_cjk, normalize, part_texts, pieces, stable_hash

_P = np.uint64(0x100000001B3)           # FNV prime: the rolling hash's multiplier
_EMPTY = np.empty(0, dtype=np.int64)


def tokens(text: str, norm: str | None = None) -> tuple[list[str], bool]:
    """The normalized text's tokens: words, or for CJK text its characters (spaces
    dropped); and whether they are CJK characters (``norm``: the text already normalized)."""
    norm = normalize(text) if norm is None else norm
    return (list(norm.replace(' ', '')), True) if is_cjk(norm) else (norm.split(), False)


def window_hashes(toks: list[str], sizes: list[int]) -> np.ndarray:
    """Hashes of every window of each size in ``sizes`` (ascending), in one rolling pass."""
    if not toks or not sizes:
        return _EMPTY
    # the stable_hash of each token, without a numpy scalar per token
    h = np.array([xxh3_64_intdigest(t.encode('utf-8')) for t in toks], dtype=np.uint64)
    acc, out, wanted = h.copy(), [], set(sizes)
    with np.errstate(over='ignore'):
        for w in range(1, min(max(sizes), len(toks)) + 1):
            if w > 1:
                acc = acc[:-1] * _P + h[w - 1:]
            if w in wanted:
                out.append(acc ^ np.uint64(w))
    return np.concatenate(out).view(np.int64) if out else _EMPTY


def ngram_hashes(text: str, sizes: list[int], cjk_sizes: list[int] | None = None,
                 norm: str | None = None) -> np.ndarray:
    """Hashes of the normalized text's windows of each size in ``sizes`` (words), or for
    CJK text of each size in ``cjk_sizes`` (characters; default: twice ``sizes``)."""
    toks, cjk = tokens(text, norm)
    if cjk:
        return window_hashes(toks, sorted(cjk_sizes if cjk_sizes is not None
                                          else {2 * n for n in sizes}))
    return window_hashes(toks, sorted(sizes))


def whole_hash(text: str, norm: str | None = None) -> int:
    """The hash of a whole normalized text (equal prompts, any length)."""
    return stable_hash(normalize(text) if norm is None else norm, seed=1)


@dataclass
class EvalIndex:
    """What the eval set is matched by: the sorted hashes of its windows, the window sizes
    used (words; CJK characters), and the hashes of its whole prompts."""
    windows: np.ndarray = field(default_factory=lambda: _EMPTY)
    sizes: list[int] = field(default_factory=list)
    cjk_sizes: list[int] = field(default_factory=list)
    prompts: frozenset = frozenset()


def eval_index(texts: list[str], ngram_size: int, min_ngram_size: int,
               prompts: list[str] = ()) -> EvalIndex:
    """The :class:`EvalIndex` of the eval pieces ``texts`` (windows of
    ``min(ngram_size, length)`` words, or ``min(2 * ngram_size, length)`` CJK characters;
    pieces under ``min_ngram_size`` tokens left out) and of the eval ``prompts`` (whole)."""
    hashes, sizes, cjk_sizes = [], set(), set()
    for text in texts:
        toks, cjk = tokens(text)
        n = min(2 * ngram_size if cjk else ngram_size, len(toks))
        if n < min_ngram_size:
            continue
        (cjk_sizes if cjk else sizes).add(n)
        hashes.append(window_hashes(toks, [n]))
    index = np.unique(np.concatenate(hashes)) if hashes else _EMPTY
    whole = frozenset(whole_hash(p) for p in prompts if normalize(p))
    return EvalIndex(index, sorted(sizes), sorted(cjk_sizes), whole)


def _any_in(index: np.ndarray, values: np.ndarray) -> bool:
    if not len(index) or not len(values):
        return False
    # searchsorted, not isin: isin sorts the whole index again for every row
    pos = np.minimum(np.searchsorted(index, values), len(index) - 1)
    return bool(np.any(index[pos] == values))


def contaminated_batch(batch: dict, *, index: EvalIndex, by: str = 'conversation') -> dict:
    """``_reason`` 'contaminated' for rows sharing a window with the eval set, or holding a
    prompt equal to an eval prompt."""
    reasons, details = [], []
    parts, check_prompts = VIEWS[by], bool(index.prompts) and 'prompt' in VIEWS[by]
    for sample in decode(batch):
        # each piece normalized once: for the whole-prompt test and, joined, for windows
        # (normalizing the joined text gives the same words)
        norms = [(part, normalize(text)) for _, part, text in pieces(sample)
                 if part in parts and text]
        hit, why = False, ''
        if check_prompts:
            hit = any(whole_hash('', n) in index.prompts for part, n in norms
                      if part == 'prompt' and n)
            why = 'a prompt equal to an eval prompt'
        if not hit and len(index.windows):
            joined = ' '.join(n for _, n in norms if n)
            hit = _any_in(index.windows, ngram_hashes('', index.sizes, index.cjk_sizes,
                                                      norm=joined))
            why = 'shares a word n-gram with the eval set'
        reasons.append('contaminated' if hit else '')
        details.append(why if hit else '')
    return {'_reason': reasons, '_detail': details}


def eval_texts(files: list[str], map_fn: str | None, by: str) -> tuple[list[str], list[str]]:
    """The pieces of every usable row of the eval files (any format) that view ``by``
    reads: each prompt and, unless ``by='prompt'``, each reply, one text each; and the
    prompts alone."""
    texts, prompts = [], []
    for path in files:
        raw = read_rows(path)
        name, row_type = resolve_format(path, [c for c in raw.column_names if c != '_row'],
                                        map_fn, None)
        rows = [{k: v for k, v in r.items() if k != '_row'} for r in raw]
        converted = convert_rows(rows, [f'{path}, row {i}' for i in range(len(rows))],
                                 check_spec(name, row_type, None), check_tokenizer(None))
        parts = ('prompt',) if by == 'prompt' else ('prompt', 'reply')
        samples = [sample for sample, _ in converted if sample is not None]
        texts += [t for sample in samples for t in part_texts(sample, parts)]
        prompts += [t for sample in samples for t in part_texts(sample, ('prompt',))]
    return texts, prompts


def _files_problem(value: Any) -> str:
    return '' if isinstance(value, (list, tuple, str)) else \
        f'{value!r}; give a list of evaluation files'


class DecontaminateStage(Stage):
    """Row by row, against an index of the eval set's word n-grams."""

    name, order = 'decontaminate', 40
    options = {
        'enabled': Option(False, choices=(True, False)),
        'eval_files': Option([], check=_files_problem, help='evaluation files, any format'),
        'map_fn': Option(None, help="the eval files' map_fn (None: from their columns)"),
        'by': Option('conversation', choices=BY, help="text of the training rows checked; "
                                                      "'prompt': eval prompts against "
                                                      'training prompts only'),
        'ngram_size': Option(13, help='words per window (at most; CJK: twice as many '
                                      'characters)'),
        'min_ngram_size': Option(6, help='the floor, in words or CJK characters: shorter '
                                         'eval pieces are matched as whole prompts only'),
    }

    def run(self, run: Any, data: Any, opts: dict) -> tuple[Any, None]:
        files = resolve_data_files(opts['eval_files'])
        if not files:
            raise ConfigError('decontaminate is enabled but decontaminate.eval_files is empty; '
                              'give the evaluation files or set decontaminate.enabled=False')
        texts, prompts = eval_texts(files, opts['map_fn'], opts['by'])
        index = eval_index(texts, opts['ngram_size'], opts['min_ngram_size'], prompts)
        run.log(f'curate: decontaminate: {len(index.windows)} n-grams and '
                f'{len(index.prompts)} whole prompts from {len(texts)} eval pieces')
        return run.engine.map(data, contaminated_batch, 'decontaminate', index=index,
                              by=opts['by']), None


CURATION_STAGES.register('decontaminate', DecontaminateStage())
