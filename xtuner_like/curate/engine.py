"""Where the stages run: an engine maps pure batch functions over the rows, filters them and
gathers columns for the few global decisions (dedup, split by count).

Batch functions take and return ``{column: list}``; they never see the engine, so the same
function runs on ``datasets`` (memory-mapped Arrow on disk, ``num_proc`` workers) and on Ray
Data (:mod:`.ray_engine`).
"""
from __future__ import annotations

import json
import shutil
import tempfile
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, Callable, Iterable

import datasets
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..dataset.load import json_files_to_arrow, load_raw_dataset, rows_to_dataset
from ..errors import ConfigError, DatasetFormatError


def read_rows(path: str, arrow_file: str | None = None) -> datasets.Dataset:
    """A file's raw rows through the project's loader, with their row number ``_row``.

    With ``arrow_file``, json/jsonl rows are streamed into that memory-mapped Arrow file
    (bounded memory) instead of being held in memory."""
    try:
        if arrow_file is not None and Path(path).suffix.lower() in ('.json', '.jsonl'):
            raw = json_files_to_arrow([path], arrow_file)
        else:
            raw = load_raw_dataset([path])
    except ConfigError:
        raise
    except Exception as exc:  # datasets wraps parse errors in several exception types
        raise DatasetFormatError(f'{path}: cannot read it ({type(exc).__name__}: '
                                 f'{str(exc).splitlines()[0][:200]}); check that it is valid '
                                 'json/jsonl/parquet/csv/txt') from None
    return raw.add_column('_row', np.arange(len(raw), dtype=np.int64))


def to_arrow(columns: dict, schema: pa.Schema | None = None) -> dict[str, pa.Array]:
    """Batch-function output as Arrow arrays (2-D numpy -> fixed-size lists)."""
    out = {}
    for name, value in columns.items():
        if isinstance(value, np.ndarray) and value.ndim == 2:
            out[name] = pa.FixedSizeListArray.from_arrays(pa.array(value.ravel()),
                                                          value.shape[1])
        else:
            kind = schema.field(name).type if schema is not None and name in schema.names \
                else None
            out[name] = pa.array(value, type=kind)
    return out


def from_arrow(table: pa.Table, columns: list[str]) -> dict[str, Any]:
    """Columns of a table as numpy (numbers; fixed-size lists as 2-D) or Python lists."""
    out: dict[str, Any] = {}
    for name in columns:
        col = table.column(name).combine_chunks()
        if pa.types.is_fixed_size_list(col.type) or pa.types.is_list(col.type) and \
                pa.types.is_integer(col.type.value_type):
            flat = col.flatten().to_numpy()
            out[name] = flat.reshape(len(col), -1) if len(col) else flat.reshape(0, 0)
        elif pa.types.is_integer(col.type) or pa.types.is_floating(col.type):
            out[name] = col.to_numpy(zero_copy_only=False)
        else:
            out[name] = col.to_pylist()
    return out


class Engine(ABC):
    """Runs batch functions over rows; see the module docstring."""

    def __init__(self, num_proc: int = 1, batch_size: int = 1000, **_: Any):
        self.num_proc, self.batch_size = max(int(num_proc), 1), int(batch_size)

    @abstractmethod
    def read(self, path: str) -> Any:
        """Raw rows of one file, with ``_row``."""

    @abstractmethod
    def columns(self, data: Any) -> list[str]:
        """Column names."""

    @abstractmethod
    def count(self, data: Any) -> int:
        """Number of rows."""

    @abstractmethod
    def map(self, data: Any, fn: Callable[..., dict], desc: str, replace: bool = False,
            schema: pa.Schema | None = None, **kwargs: Any) -> Any:
        """``fn(batch, **kwargs)`` over every batch; its columns replace the batch's
        (``replace=True``) or are added/overwritten."""

    @abstractmethod
    def filter(self, data: Any, column: str, value: Any, equal: bool = True) -> Any:
        """Rows whose ``column`` equals ``value`` (or differs from it)."""

    @abstractmethod
    def drop_ids(self, data: Any, ids: np.ndarray) -> Any:
        """Rows whose ``_id`` is not in ``ids``."""

    @abstractmethod
    def concat(self, parts: list[Any]) -> Any:
        """Rows of every part, in order."""

    @abstractmethod
    def table(self, data: Any, columns: list[str], ids: np.ndarray | None = None) -> pa.Table:
        """Some columns of all rows (or of the rows whose ``_id`` is in ``ids``) as Arrow."""

    @abstractmethod
    def write(self, data: Any, path: Path, fmt: str) -> None:
        """The rows' ``_line`` (a JSON object each) as jsonl or parquet at ``path``, in
        ``_id`` order (see :func:`write_lines`)."""

    def gather(self, data: Any, columns: list[str], ids: np.ndarray | None = None) -> dict:
        """Columns of all rows (or of ``ids``) in memory, aligned (see :func:`from_arrow`)."""
        return from_arrow(self.table(data, columns, ids), columns)

    def close(self) -> None:
        """Release what the engine holds (scratch files, a local cluster)."""


class DatasetsEngine(Engine):
    """`datasets`: every step's result is a memory-mapped Arrow file in a scratch folder, so
    memory stays bounded whatever the number of rows."""

    def __init__(self, scratch: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.scratch = Path(tempfile.mkdtemp(prefix='curate-', dir=scratch))
        self.steps = 0

    def _cache_file(self, desc: str) -> str:
        self.steps += 1
        slug = ''.join(c if c.isalnum() else '_' for c in desc)[:40]
        return str(self.scratch / f'{self.steps:03d}-{slug}.arrow')

    def _procs(self, data: datasets.Dataset) -> int | None:
        """Worker processes, when there are enough rows to share."""
        return self.num_proc if self.num_proc > 1 and len(data) >= 2 * self.batch_size else None

    def read(self, path: str) -> datasets.Dataset:
        return read_rows(path, self._cache_file(f'read {Path(path).name}'))

    def columns(self, data: datasets.Dataset) -> list[str]:
        return list(data.column_names)

    def count(self, data: datasets.Dataset) -> int:
        return len(data)

    def map(self, data, fn, desc, replace=False, schema=None, **kwargs):
        features = datasets.Features.from_arrow_schema(schema) if schema is not None else None
        return data.map(
            fn, batched=True, batch_size=self.batch_size, fn_kwargs=kwargs, desc=desc,
            num_proc=self._procs(data), remove_columns=data.column_names if replace else None,
            features=features, load_from_cache_file=False, cache_file_name=self._cache_file(desc))

    def filter(self, data, column, value, equal=True):
        return data.filter(_equals, batched=True, batch_size=self.batch_size,
                           input_columns=[column], fn_kwargs=dict(value=value, equal=equal),
                           num_proc=self._procs(data),
                           load_from_cache_file=False, cache_file_name=self._cache_file(column),
                           desc=f'select {column}{"==" if equal else "!="}{value!r}')

    def drop_ids(self, data, ids):
        return data.filter(_not_in, batched=True, batch_size=self.batch_size,
                           input_columns=['_id'], fn_kwargs=dict(ids=ids),
                           num_proc=self._procs(data), load_from_cache_file=False,
                           cache_file_name=self._cache_file('drop'), desc='drop rows')

    def concat(self, parts):
        return parts[0] if len(parts) == 1 else datasets.concatenate_datasets(parts)

    def table(self, data, columns, ids=None):
        if ids is not None:
            all_ids = self.gather(data, ['_id'])['_id']
            data = data.select(np.flatnonzero(np.isin(all_ids, ids)))
        return data.select_columns(columns).with_format('arrow')[:]

    def write(self, data, path, fmt):
        lines = data.select_columns(['_line']).with_format('arrow')
        write_lines((line for batch in lines.iter(self.batch_size)
                     for line in batch.column('_line').to_pylist()), path, fmt)

    def close(self) -> None:
        shutil.rmtree(self.scratch, ignore_errors=True)


def _not_in(row_ids: list, *, ids: np.ndarray) -> list[bool]:
    return (~np.isin(np.asarray(row_ids), ids)).tolist()


def write_dataset(data: datasets.Dataset, path: Path, fmt: str, num_proc: int = 1) -> None:
    """Rows as one jsonl (UTF-8 kept) or parquet file."""
    if fmt == 'parquet':
        data.to_parquet(str(path))
    else:
        data.to_json(str(path), lines=True, force_ascii=False,
                     num_proc=num_proc if num_proc > 1 else None)


def write_lines(lines: Iterable[str], path: Path, fmt: str) -> None:
    """JSON-object lines as a jsonl file (byte for byte), or as parquet (a column per key,
    held as :func:`~xtuner_like.dataset.load.rows_to_dataset` holds rows)."""
    if fmt == 'parquet':
        rows_to_dataset([json.loads(line) for line in lines]).to_parquet(str(path))
        return
    with open(path, 'w', encoding='utf-8') as f:
        for line in lines:
            f.write(line + '\n')


def _equals(values: list, *, value: Any, equal: bool) -> list[bool]:
    mask = pc.equal(pa.array(values), pa.scalar(value)).to_numpy(zero_copy_only=False)
    return (mask if equal else ~mask).tolist()


def make_engine(opts: dict, scratch: str | None = None) -> Engine:
    """The engine named by ``engine.type`` ('datasets' or 'ray')."""
    kwargs = {k: v for k, v in opts.items() if k != 'type'}
    if opts['type'] == 'ray':
        from .ray_engine import RayEngine
        return RayEngine(**kwargs)
    return DatasetsEngine(scratch=scratch, **kwargs)
