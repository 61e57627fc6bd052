"""Small shared checks for map_fns that read named columns, and which formats a row fits.

Each registered map_fn declares its row kind and the columns it needs with :func:`requires`
(one tuple per row shape it reads). When a row lacks a column its map_fn needs, the error
names the registered map_fns whose columns the row has (:func:`columns_hint`): a DPO recipe
given ``conversations`` / ``chosen`` / ``rejected`` rows with ``plain_preference`` is told that
``sharegpt_preference`` reads them, and rows of another kind are named as such (SFT rows given
to a preference recipe).
"""
from __future__ import annotations

from typing import Callable

from ...errors import DatasetFormatError
from ...registry import MAP_FNS

ROW_KINDS = {'sft': 'SFT rows: train them with an SFT recipe',
             'preference': 'preference pairs: train them with a DPO / ORPO / SimPO recipe',
             'kto': 'KTO rows: train them with the KTO recipe'}
MAX_NAMED = 6


def requires(kind: str, *shapes: tuple[str, ...]) -> Callable:
    """Declare a map_fn's row kind (a key of ROW_KINDS) and, per row shape it reads, the
    columns that shape needs; :func:`fitting_map_fns` reads them."""
    if kind not in ROW_KINDS:
        raise ValueError(f'row kind {kind!r}; use one of {tuple(ROW_KINDS)}')

    def mark(fn: Callable) -> Callable:
        fn.row_kind, fn.required_columns = kind, tuple(tuple(s) for s in shapes)
        return fn
    return mark


def fits(row: dict, fn: Callable) -> int:
    """How many columns of ``fn``'s most specific shape the row holds a value for (0: none)."""
    return max((len(s) for s in getattr(fn, 'required_columns', ())
                if all(row.get(c) is not None for c in s)), default=0)


def fitting_map_fns(row: dict) -> list[tuple[str, str]]:
    """``(name, row kind)`` of the registered map_fns whose columns the row has, the most
    specific first (most columns matched), then by name."""
    scored = [(fits(row, fn), name, getattr(fn, 'row_kind', 'sft'))
              for name, fn in MAP_FNS.items()]
    return [(name, kind) for score, name, kind in sorted(scored, key=lambda s: (-s[0], s[1]))
            if score]


def columns_hint(row: dict, fmt: str) -> str:
    """What to do about a row that lacks a column map_fn ``fmt`` needs: the registered
    map_fns of the same row kind that read it, else those of another kind (named as such)."""
    kind = getattr(MAP_FNS.get(fmt), 'row_kind', 'sft') if fmt in MAP_FNS else 'sft'
    found = [(n, k) for n, k in fitting_map_fns(row) if n != fmt]
    same = [n for n, k in found if k == kind]
    if same:
        return (f"the row's columns fit dataset_map_fn={_names(same)}; set it, or rename the "
                'columns')
    if found:
        other = found[0][1]
        names = _names([n for n, k in found if k == other])
        return f"the row's columns fit no {kind} format but {names} ({ROW_KINDS[other]})"
    return ('rename the columns or pick another dataset_map_fn (`xtuner-like '
            'list-dataset-format` lists them)')


def _names(names: list[str]) -> str:
    shown = ' or '.join(repr(n) for n in names[:MAX_NAMED])
    return shown + (f' (or {len(names) - MAX_NAMED} more)' if len(names) > MAX_NAMED else '')


def missing_columns(row: dict, fmt: str, need: str) -> DatasetFormatError:
    """The error for a row that lacks a column ``fmt`` needs, naming the formats it fits."""
    return DatasetFormatError(f'{fmt} row needs {need} (found {present(row)}); '
                              f'{columns_hint(row, fmt)}')


def problem_fields(row: dict, keys: tuple[str, ...]) -> dict[str, list[str]]:
    """``keys`` sorted by what is wrong: ``'missing'`` (no value), ``'empty'`` (blank text or
    an empty list), ``'not text'`` (any other non-string); an empty dict when all are text."""
    found: dict[str, list[str]] = {}
    for k in keys:
        value = row.get(k)
        problem = ('missing' if value is None else
                   'empty' if (isinstance(value, str) and not value.strip()) or value == [] else
                   None if isinstance(value, str) else 'not text')
        if problem:
            found.setdefault(problem, []).append(k)
    return found


def text_fields(row: dict, fmt: str, required: tuple[str, ...],
                optional: tuple[str, ...] = ()) -> list[str]:
    """The values of ``required`` (non-empty strings) then ``optional`` ('' when absent).

    Raises:
        DatasetFormatError: A required field is missing (the error names the formats the
            row fits), empty (blank) or not text.
    """
    problems = problem_fields(row, required)
    if 'missing' in problems:
        raise missing_columns(row, fmt, f'text fields {list(required)}; missing '
                                        f'{problems["missing"]}')
    if problems:
        raise DatasetFormatError(f'{fmt} row: ' + '; '.join(
            f'{what}: {keys}' for what, keys in problems.items()) + ' (each must be non-empty '
            'text); fix those rows or drop them')
    bad = [k for k in optional if row.get(k) is not None and not isinstance(row[k], str)]
    if bad:
        raise DatasetFormatError(f'{fmt} row: fields {bad} must be text (found '
                                 f'{[type(row[k]).__name__ for k in bad]})')
    return [row[k] for k in required] + [row.get(k) or '' for k in optional]


def first_present(row: dict, *columns: str) -> str | None:
    """The first of ``columns`` that the row has (for formats with two column spellings)."""
    return next((c for c in columns if c in row), None)


def join(*parts: str, sep: str = '\n') -> str:
    """Non-empty parts joined by ``sep``."""
    return sep.join(p for p in parts if p)


def present(row: dict) -> list[str]:
    """The row's columns that hold a value (files with mixed rows fill the others with None)."""
    return sorted(k for k, v in row.items() if v is not None)
