"""Load raw rows: local json/jsonl/parquet/csv/txt files or hub dataset ids.

JSON and JSON Lines are parsed with the json module, row by row, and each row is kept exactly
as written: ``datasets``' JSON loader infers one Arrow type per column from all rows, so one
row's list or number re-types the others (a valid ``"4."`` became ``4.0``) and the error blamed
a valid row. Here a column whose values are all text (or all numbers, or all booleans) is a
plain Arrow column; any other column (nested values, mixed kinds) is stored with ``datasets``'
``Json`` feature, which gives every row back exactly as parsed. A broken file is one error
naming the file and line.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import datasets

from ..errors import ConfigError, DatasetFormatError
from ..utils.build import build

_BUILDERS = {'.json': 'json', '.jsonl': 'json', '.parquet': 'parquet', '.csv': 'csv',
             '.txt': 'text'}


def resolve_data_files(data_files: Any) -> list[str]:
    """Paths of the data files: a path, a list of paths, or a spec that writes one."""
    if isinstance(data_files, dict) and 'type' in data_files:
        data_files = build(data_files)
    files = [data_files] if isinstance(data_files, (str, Path)) else list(data_files or [])
    missing = [str(f) for f in files if not Path(f).is_file()]
    if missing:
        raise ConfigError(f'data_files: {", ".join(missing)} not found; give existing local '
                          'files (json, jsonl, parquet, csv, txt) or use path=<hub dataset id>')
    return [str(Path(f).resolve()) for f in files]


def _text(path: Path) -> str:
    """The file as UTF-8 text; bad bytes are an error with their line."""
    data = path.read_bytes()
    try:
        return data.decode('utf-8-sig')
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b'\n') + 1
        raise DatasetFormatError(
            f'{path}, line {line}: not valid UTF-8 (byte 0x{data[exc.start]:02x}); save the '
            'file as UTF-8') from None


def _bad_json(path: Path, line: int, exc: json.JSONDecodeError) -> DatasetFormatError:
    return DatasetFormatError(f'{path}, line {line}: not valid JSON ({exc.msg}, column '
                              f'{exc.colno}); fix or remove that line')


def read_json_rows(path: str | Path) -> list[dict]:
    """Rows of a ``.jsonl`` (one object per line) or ``.json`` (an array of objects) file."""
    path = Path(path)
    text = _text(path)
    if not text.strip():
        raise DatasetFormatError(f'{path}, line 1: the file is empty; add rows (one JSON '
                                 'object per line for .jsonl, an array of objects for .json)')
    rows: list[tuple[int, Any]] = []
    if path.suffix.lower() == '.jsonl':
        for number, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    rows.append((number, json.loads(line)))
                except json.JSONDecodeError as exc:
                    raise _bad_json(path, number, exc) from None
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise _bad_json(path, exc.lineno, exc) from None
        if not isinstance(data, list):
            raise DatasetFormatError(
                f'{path}, line 1: a .json dataset is an array of row objects, got '
                f'{type(data).__name__}; write [{{...}}, {{...}}] or use .jsonl')
        rows = [(i, row) for i, row in enumerate(data)]
    where = 'line' if path.suffix.lower() == '.jsonl' else 'row'
    for number, row in rows:
        if not isinstance(row, dict):
            raise DatasetFormatError(f'{path}, {where} {number}: a row must be a JSON object '
                                     f'{{"key": value, ...}}, got {type(row).__name__}')
    return [row for _, row in rows]


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return 'bool'
    if isinstance(value, int):
        return 'int'
    if isinstance(value, float):
        return 'float'
    return 'text' if isinstance(value, str) else 'json'


_PLAIN = {'text': 'string', 'bool': 'bool', 'int': 'int64', 'float': 'float64'}


def rows_to_dataset(rows: list[dict]) -> datasets.Dataset:
    """A Dataset holding every row as parsed: no type is inferred across rows.

    A column of one plain kind (text, int, float, bool; nulls allowed) is a plain column;
    anything else (lists, objects, mixed kinds) is a ``Json`` column, decoded row by row.
    """
    columns = list(dict.fromkeys(key for row in rows for key in row))
    features = {}
    for key in columns:
        kinds = {_kind(row[key]) for row in rows if row.get(key) is not None} or {'text'}
        plain = _PLAIN.get(kinds.pop()) if len(kinds) == 1 else None
        features[key] = datasets.Value(plain) if plain else datasets.Json()
    data = {key: [row.get(key) for row in rows] for key in columns}
    return datasets.Dataset.from_dict(data, features=datasets.Features(features))


def load_raw_dataset(data_files: list[str] | None = None, path: str | None = None,
                     split: str = 'train') -> datasets.Dataset:
    """Rows of local ``data_files`` (format from the extension) or of a hub dataset ``path``."""
    if data_files:
        suffixes = {Path(f).suffix.lower() for f in data_files}
        builders = {_BUILDERS.get(s) for s in suffixes}
        if None in builders or len(builders) != 1:
            raise ConfigError(f'data_files: cannot mix or read suffixes {sorted(suffixes)}; '
                              f'use one of {sorted(_BUILDERS)}')
        builder = builders.pop()
        if builder == 'json':
            return rows_to_dataset([row for f in data_files for row in read_json_rows(f)])
        for f in data_files:
            if Path(f).stat().st_size == 0:
                raise DatasetFormatError(f'{f}, line 1: the file is empty; add rows')
        return datasets.load_dataset(builder, data_files=data_files, split='train')
    if path:
        return datasets.load_dataset(path, split=split)
    raise ConfigError('the dataset needs data_files=<local files> or path=<hub dataset id>')
