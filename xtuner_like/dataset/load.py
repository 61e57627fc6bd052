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
from typing import Any, Iterable, Iterator

import datasets
from datasets.arrow_writer import ArrowWriter

from ..errors import ConfigError, DatasetFormatError
from ..utils.build import build

_BUILDERS = {'.json': 'json', '.jsonl': 'json', '.parquet': 'parquet', '.csv': 'csv',
             '.txt': 'text'}


def resolve_data_files(data_files: Any) -> list[str]:
    """Paths of the data files: a path, a folder of data files, a list of those, or a spec
    that writes one."""
    if isinstance(data_files, dict) and 'type' in data_files:
        data_files = build(data_files)
    given = [data_files] if isinstance(data_files, (str, Path)) else list(data_files or [])
    files = [f for g in given for f in (_folder_files(Path(g)) if Path(g).is_dir() else [g])]
    missing = [str(f) for f in files if not Path(f).is_file()]
    if missing:
        raise ConfigError(f'data_files: {", ".join(missing)} not found; give existing local '
                          'files (json, jsonl, parquet, csv, txt) or a folder of them, or '
                          'use path=<hub dataset id>')
    return [str(Path(f).resolve()) for f in files]


def _folder_files(folder: Path) -> list[Path]:
    """The data files directly in ``folder`` (sorted by name), by their suffix."""
    found = sorted(p for p in folder.iterdir()
                   if p.is_file() and p.suffix.lower() in _BUILDERS and not p.name.startswith('.'))
    if not found:
        raise ConfigError(f'data_files: the folder {folder} holds no data files (none ends with '
                          f'{", ".join(sorted(_BUILDERS))}); point data_files at the files '
                          'themselves or at a folder of them')
    return found


def _not_utf8(path: Path, line: int, byte: int) -> DatasetFormatError:
    return DatasetFormatError(f'{path}, line {line}: not valid UTF-8 (byte 0x{byte:02x}); save '
                              'the file as UTF-8')


def _text(path: Path) -> str:
    """The file as UTF-8 text; bad bytes are an error with their line."""
    data = path.read_bytes()
    try:
        return data.decode('utf-8-sig')
    except UnicodeDecodeError as exc:
        raise _not_utf8(path, data[:exc.start].count(b'\n') + 1, data[exc.start]) from None


def _bad_json(path: Path, line: int, exc: json.JSONDecodeError) -> DatasetFormatError:
    return DatasetFormatError(f'{path}, line {line}: not valid JSON ({exc.msg}, column '
                              f'{exc.colno}); fix or remove that line')


def read_json_rows(path: str | Path) -> list[dict]:
    """Rows of a ``.jsonl`` (one object per line) or ``.json`` (an array of objects) file."""
    return list(iter_json_rows(path))


def iter_json_rows(path: str | Path) -> Iterator[dict]:
    """Rows of a ``.jsonl`` or ``.json`` file, one by one: a ``.jsonl`` file is read line by
    line, so memory holds one line at a time; a ``.json`` array is parsed whole."""
    path = Path(path)
    jsonl = path.suffix.lower() == '.jsonl'
    where, empty = ('line', True) if jsonl else ('row', False)
    for number, row in (_jsonl_rows(path) if jsonl else _json_array_rows(path)):
        empty = False
        if not isinstance(row, dict):
            raise DatasetFormatError(f'{path}, {where} {number}: a row must be a JSON object '
                                     f'{{"key": value, ...}}, got {type(row).__name__}')
        yield row
    if empty:
        raise _empty_json(path)


def _empty_json(path: Path) -> DatasetFormatError:
    return DatasetFormatError(f'{path}, line 1: the file is empty; add rows (one JSON object '
                              'per line for .jsonl, an array of objects for .json)')


def _jsonl_rows(path: Path) -> Iterator[tuple[int, Any]]:
    with path.open('rb') as f:
        for number, raw in enumerate(f, 1):
            try:
                line = raw.decode('utf-8-sig' if number == 1 else 'utf-8')
            except UnicodeDecodeError as exc:
                raise _not_utf8(path, number, raw[exc.start]) from None
            if line.strip():
                try:
                    yield number, json.loads(line)
                except json.JSONDecodeError as exc:
                    raise _bad_json(path, number, exc) from None


def _json_array_rows(path: Path) -> Iterator[tuple[int, Any]]:
    text = _text(path)
    if not text.strip():
        raise _empty_json(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _bad_json(path, exc.lineno, exc) from None
    if not isinstance(data, list):
        raise DatasetFormatError(
            f'{path}, line 1: a .json dataset is an array of row objects, got '
            f'{type(data).__name__}; write [{{...}}, {{...}}] or use .jsonl')
    yield from enumerate(data)


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
    import pyarrow as pa
    features = _features(rows)
    columns = {}
    for key, feature in features.items():
        values = _json_text([row.get(key) for row in rows], feature)
        # Arrow converts a plain column in C; Dataset.from_dict would encode value by value
        # in Python (0.4 s of the 0.7 s that loading 52k Alpaca rows took).
        columns[key] = pa.array(values, type=feature.pa_type)
    return datasets.Dataset(datasets.table.InMemoryTable(pa.table(columns)),
                            info=datasets.DatasetInfo(features=features))


def _features(rows: Iterable[dict]) -> datasets.Features:
    """Each column's feature (see :func:`rows_to_dataset`), columns in order of appearance."""
    kinds: dict[str, set[str]] = {}
    for row in rows:
        for key, value in row.items():
            seen = kinds.setdefault(key, set())
            if value is not None:
                seen.add(_kind(value))
    features = {}
    for key, seen in kinds.items():
        plain = _PLAIN.get(next(iter(seen))) if len(seen) == 1 else None if seen else 'string'
        features[key] = datasets.Value(plain) if plain else datasets.Json()
    return datasets.Features(features)


def json_files_to_arrow(files: list[str], path: str | Path,
                        batch_size: int = 1000) -> datasets.Dataset:
    """The rows of json/jsonl ``files`` as :func:`rows_to_dataset` holds them, in bounded
    memory: one pass finds each column's kind, a second writes the rows in batches to the
    Arrow file ``path``, which the result memory-maps."""
    features = _features(row for f in files for row in iter_json_rows(f))
    if not features:                  # no rows at all
        return rows_to_dataset([])
    with ArrowWriter(features=features, path=str(path)) as writer:
        batch: list[dict] = []
        for row in (row for f in files for row in iter_json_rows(f)):
            batch.append(row)
            if len(batch) == batch_size:
                writer.write_batch(_encode(batch, features))
                batch = []
        if batch:
            writer.write_batch(_encode(batch, features))
        writer.finalize()
    return datasets.Dataset.from_file(str(path))


def _encode(rows: list[dict], features: datasets.Features) -> dict[str, list]:
    return {key: _json_text([row.get(key) for row in rows], feature)
            for key, feature in features.items()}


def _json_text(values: list, feature: Any) -> list:
    """A plain column's values as they are; a Json column's as JSON text, strings included:
    datasets' own Json encoder keeps a string that parses as JSON as it is, so the string
    ``"false"`` came back as the boolean False and ``"4"`` as the number 4."""
    if isinstance(feature, datasets.Value):
        return values
    return [None if v is None else json.dumps(v, ensure_ascii=False) for v in values]


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
        try:
            return datasets.load_dataset(path, split=split)
        except ConnectionError as exc:   # offline (HF_HUB_OFFLINE) or the hub unreachable
            raise ConfigError(f'hub dataset {path!r}: {exc}; download it once while online '
                              '(it is cached then) or point data_files at a local copy') from None
    raise ConfigError('the dataset needs data_files=<local files> or path=<hub dataset id>')
