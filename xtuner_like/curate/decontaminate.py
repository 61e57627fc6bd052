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

Speed: a whole batch is checked in a fixed number of numpy steps, none per row or per
token: its texts' code points are one array whose prefix sums give the hash of any window
(:func:`tokenize`), and each window is first looked up by its *anchor*, its first words of
the smallest indexed size; only the few windows whose anchor the eval set holds are hashed
at every size (:func:`window_hits`). Python does per row only the JSON decoding and the
normalization.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..dataset.load import resolve_data_files
from ..errors import ConfigError
from .engine import read_rows
from .format import check_spec, check_tokenizer, convert_rows, resolve_format
from .stage import CURATION_STAGES, Option, Stage
from .text import BY, VIEWS, decode, is_cjk, normalize, part_texts, pieces, stable_hash

_P = 0x100000001B3                      # FNV prime: the polynomial hash's base
_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
_EMPTY = np.empty(0, dtype=np.int64)
_POWERS: dict[int, np.ndarray] = {}


def _powers(base: int, n: int) -> np.ndarray:
    """``base ** k`` modulo 2**64 for k < n (at least), cached and grown by doubling."""
    have = _POWERS.get(base)
    if have is None or len(have) < n:
        have = np.full(max(n, 2 * len(have) if have is not None else 1024), base, np.uint64)
        have[0] = 1
        have = _POWERS[base] = np.cumprod(have)             # wraps modulo 2**64
    return have


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finalizer: every bit of the output depends on every bit of ``x``."""
    x = (x ^ (x >> np.uint64(30))) * _M1
    x = (x ^ (x >> np.uint64(27))) * _M2
    return x ^ (x >> np.uint64(31))


@dataclass
class Tokens:
    """The tokens of many normalized texts at once (:func:`tokenize`): each token's first
    and past-the-end character, its text (row) and script, and the prefix sums that give the
    hash of any run of characters in a few vector steps."""
    start: np.ndarray
    end: np.ndarray
    row: np.ndarray
    cjk: np.ndarray
    prefix: np.ndarray


def tokenize(norms: list[str], cjk: list[bool]) -> Tokens:
    """:class:`Tokens` of normalized texts: words, or for CJK texts (``cjk``) characters
    with the spaces dropped. All texts are one array of code points; a character's hash
    (splitmix64 of its code point) is weighted by the inverse of the base to the power of
    its position, so the polynomial hash of the characters ``s..e-1`` is
    ``base ** (e - 1) * (prefix[e] - prefix[s])`` wherever they are (the base is odd, so
    it has an inverse modulo 2**64)."""
    text = '\x00'.join(n.replace(' ', '') if c else n for n, c in zip(norms, cjk))
    cp = np.frombuffer(text.encode('utf-32-le'), dtype=np.uint32)
    sep = cp == 0                            # normalized text holds no NUL: a text's end
    tok = ~sep & (cp != 32)
    row = np.cumsum(sep)
    each = np.asarray(cjk, dtype=bool)[row] if len(cp) else tok  # CJK: each character
    prev = np.concatenate([[False], tok[:-1]])
    nxt = np.concatenate([tok[1:], [False]])
    start = np.flatnonzero(tok & (~prev | each))
    end = np.flatnonzero(tok & (~nxt | each)) + 1
    prefix = np.zeros(len(cp) + 1, dtype=np.uint64)
    inverse = _powers(pow(_P, -1, 1 << 64), len(cp))
    np.cumsum(_mix(cp.astype(np.uint64)) * inverse[:len(cp)], out=prefix[1:])
    return Tokens(start, end, row[start], each[start], prefix)


def _windows(toks: Tokens, k: np.ndarray, w: Any) -> tuple[np.ndarray, np.ndarray]:
    """(int64 hashes of the windows of ``w`` tokens starting at the tokens ``k``, those
    starting tokens): windows that run past their text are left out. The hash is that of
    the window's characters (so of its tokens and the single spaces between words), mixed,
    xor its size: a window of one size never meets one of another."""
    w = np.broadcast_to(np.asarray(w, dtype=np.int64), k.shape)
    last = k + w - 1
    ok = last < len(toks.start)
    k, w, last = k[ok], w[ok], last[ok]
    ok = toks.row[last] == toks.row[k]
    k, w, last = k[ok], w[ok], last[ok]
    s, e = toks.start[k], toks.end[last]
    h = _powers(_P, len(toks.prefix))[e - 1] * (toks.prefix[e] - toks.prefix[s])
    return (_mix(h) ^ w.astype(np.uint64)).view(np.int64), k


def ngram_hashes(text: str, sizes: list[int], cjk_sizes: list[int] | None = None,
                 norm: str | None = None) -> np.ndarray:
    """Hashes of the normalized text's windows of each size in ``sizes`` (words), or for
    CJK text of each size in ``cjk_sizes`` (characters; default: twice ``sizes``)."""
    norm = normalize(text) if norm is None else norm
    cjk = is_cjk(norm)
    if cjk:
        sizes = cjk_sizes if cjk_sizes is not None else [2 * n for n in sizes]
    toks = tokenize([norm], [cjk])
    every = np.arange(len(toks.start))
    out = [_windows(toks, every, w)[0] for w in sorted(set(sizes))]
    return np.concatenate(out) if out else _EMPTY


def whole_hash(text: str, norm: str | None = None) -> int:
    """The hash of a whole normalized text (equal prompts, any length)."""
    return stable_hash(normalize(text) if norm is None else norm, seed=1)


@dataclass
class EvalIndex:
    """What the eval set is matched by: the sorted hashes of its windows, the window sizes
    used (words; CJK characters), the sorted hashes of every window's first
    ``sizes[0]`` words (``cjk_sizes[0]`` characters: its *anchor*, looked up first) and the
    hashes of its whole prompts."""
    windows: np.ndarray = field(default_factory=lambda: _EMPTY)
    sizes: list[int] = field(default_factory=list)
    cjk_sizes: list[int] = field(default_factory=list)
    prompts: frozenset = frozenset()
    anchors: np.ndarray = field(default_factory=lambda: _EMPTY)


def _anchor_sizes(toks: Tokens, sizes: list[int], cjk_sizes: list[int]) -> np.ndarray:
    """Each token's anchor size (the smallest window size of its script; 0: none)."""
    return np.where(toks.cjk, cjk_sizes[0] if cjk_sizes else 0, sizes[0] if sizes else 0)


def eval_index(texts: list[str], ngram_size: int, min_ngram_size: int,
               prompts: list[str] = ()) -> EvalIndex:
    """The :class:`EvalIndex` of the eval pieces ``texts`` (windows of
    ``min(ngram_size, length)`` words, or ``min(2 * ngram_size, length)`` CJK characters;
    pieces under ``min_ngram_size`` tokens left out) and of the eval ``prompts`` (whole)."""
    norms = [normalize(t) for t in texts]
    cjk = [is_cjk(n) for n in norms]
    toks = tokenize(norms, cjk)
    length = np.bincount(toks.row, minlength=len(norms))
    size = np.minimum(np.where(cjk, 2 * ngram_size, ngram_size), length) if norms else length
    size = np.where(size >= min_ngram_size, size, 0)         # 0: under the floor
    sizes = sorted({int(s) for s, c in zip(size, cjk) if s and not c})
    cjk_sizes = sorted({int(s) for s, c in zip(size, cjk) if s and c})
    k = np.flatnonzero(size[toks.row] > 0)
    windows, k = _windows(toks, k, size[toks.row[k]])
    anchors, _ = _windows(toks, k, _anchor_sizes(toks, sizes, cjk_sizes)[k])
    whole = frozenset(whole_hash(p) for p in prompts if normalize(p))
    return EvalIndex(np.unique(windows), sizes, cjk_sizes, whole, np.unique(anchors))


def _found(index: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Which ``values`` the sorted ``index`` holds."""
    if not len(index) or not len(values):
        return np.zeros(len(values), dtype=bool)
    pos = np.minimum(np.searchsorted(index, values), len(index) - 1)
    return index[pos] == values


def window_hits(norms: list[str], cjk: list[bool], index: EvalIndex) -> np.ndarray:
    """Which normalized texts share a window with the eval set: every text's anchors
    (windows of the smallest size, one vector pass over all texts) are looked up first;
    only where one is found are the windows of each size that start there hashed and looked
    up (the same answer as every window of every size, at a fraction of the hashes)."""
    hit = np.zeros(len(norms), dtype=bool)
    if not len(index.windows) or not norms:
        return hit
    toks = tokenize(norms, cjk)
    anchor = _anchor_sizes(toks, index.sizes, index.cjk_sizes)
    k = np.flatnonzero(anchor > 0)
    found, k = _windows(toks, k, anchor[k])
    k = k[_found(index.anchors, found)]
    for script, sizes in ((False, index.sizes), (True, index.cjk_sizes)):
        at = k[toks.cjk[k] == script]
        for w in sizes if len(at) else ():
            found, start = _windows(toks, at, w)
            hit[toks.row[start[_found(index.windows, found)]]] = True
    return hit


def contaminated_batch(batch: dict, *, index: EvalIndex, by: str = 'conversation') -> dict:
    """``_reason`` 'contaminated' for rows sharing a window with the eval set, or holding a
    prompt equal to an eval prompt."""
    parts, check_prompts = VIEWS[by], bool(index.prompts) and 'prompt' in VIEWS[by]
    prompt_hit, joined = [], []
    for sample in decode(batch):
        # each piece normalized once: for the whole-prompt test and, joined, for windows
        # (normalizing the joined text gives the same words)
        norms = [(part, normalize(text)) for _, part, text in pieces(sample)
                 if part in parts and text]
        prompt_hit.append(check_prompts and any(
            whole_hash('', n) in index.prompts for part, n in norms if part == 'prompt' and n))
        joined.append(' '.join(n for _, n in norms if n))
    window_hit = window_hits(joined, [is_cjk(j) for j in joined], index)
    why = ['a prompt equal to an eval prompt' if p else
           'shares a word n-gram with the eval set' if w else ''
           for p, w in zip(prompt_hit, window_hit)]
    return {'_reason': ['contaminated' if w else '' for w in why], '_detail': why}


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
