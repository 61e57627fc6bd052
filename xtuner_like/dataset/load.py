"""Load raw rows with `datasets`: local json/jsonl/parquet/csv/txt files or hub dataset ids."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import datasets

from ..errors import ConfigError
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


def load_raw_dataset(data_files: list[str] | None = None, path: str | None = None,
                     split: str = 'train') -> datasets.Dataset:
    """Rows of local ``data_files`` (format from the extension) or of a hub dataset ``path``."""
    if data_files:
        suffixes = {Path(f).suffix.lower() for f in data_files}
        builders = {_BUILDERS.get(s) for s in suffixes}
        if None in builders or len(builders) != 1:
            raise ConfigError(f'data_files: cannot mix or read suffixes {sorted(suffixes)}; '
                              f'use one of {sorted(_BUILDERS)}')
        return datasets.load_dataset(builders.pop(), data_files=data_files, split='train')
    if path:
        return datasets.load_dataset(path, split=split)
    raise ConfigError('the dataset needs data_files=<local files> or path=<hub dataset id>')
