"""Small shared checks for map_fns that read named columns."""
from __future__ import annotations

from ...errors import DatasetFormatError


def text_fields(row: dict, fmt: str, required: tuple[str, ...],
                optional: tuple[str, ...] = ()) -> list[str]:
    """The values of ``required`` (non-empty strings) then ``optional`` ('' when absent).

    Raises:
        DatasetFormatError: A required field is missing, empty or not text.
    """
    missing = [k for k in required if not isinstance(row.get(k), str) or not row[k].strip()]
    if missing:
        raise DatasetFormatError(
            f'{fmt} row needs non-empty text fields {list(required)}; missing, empty or not '
            f'text: {missing} (found {present(row)}); rename the columns or pick another '
            'dataset_map_fn')
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
