"""Ray Data engine: the same batch functions as the `datasets` engine, on a Ray cluster.

``engine.address=None`` starts a local Ray instance with ``num_proc`` CPUs; ``'auto'`` (on a
cluster node) or ``'ray://head:10001'`` joins an existing cluster. Files are read on the
driver with the project's loaders and handed to Ray as Arrow; each stage's result is
materialized in Ray's object store, so a later stage never recomputes an earlier one.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import ConfigError
from .engine import Engine, read_rows, to_arrow, write_lines


def _ray():
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError:
        raise ConfigError("engine.type='ray' needs Ray Data: pip install -r "
                          'requirements/ray.txt (or use engine.type=datasets)') from None
    return ray


def _pydict(table: pa.Table) -> dict[str, list]:
    """The table's columns as Python lists; a column that ``datasets`` stored as JSON text
    (its ``Json`` feature, for rows whose values change type) is parsed back, as ``datasets``
    does when it reads a row."""
    columns = table.to_pydict()
    for field in table.schema:
        if getattr(field.type, 'extension_name', None) == 'arrow.json':
            columns[field.name] = [None if v is None else json.loads(v)
                                   for v in columns[field.name]]
    return columns


def _apply(table: pa.Table, fn, replace: bool, schema, kwargs: dict) -> pa.Table:
    out = to_arrow(fn(_pydict(table), **kwargs), schema)
    if not replace:
        out = {**{n: table.column(n) for n in table.column_names if n not in out}, **out}
    return pa.table(out)


def _select(table: pa.Table, column: str, value: Any, equal: bool) -> pa.Table:
    mask = pc.equal(table.column(column), pa.scalar(value))
    return table.filter(mask if equal else pc.invert(mask))


def _take_ids(table: pa.Table, ids: np.ndarray, keep: bool = True) -> pa.Table:
    mask = pc.is_in(table.column('_id'), value_set=pa.array(ids))
    return table.filter(mask if keep else pc.invert(mask))


class RayEngine(Engine):
    """See the module docstring."""

    def __init__(self, address: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        ray = _ray()
        self.started = not ray.is_initialized()
        if self.started:
            local = dict(num_cpus=self.num_proc) if address is None else {}
            ray.init(address=address, include_dashboard=False, log_to_driver=False,
                     configure_logging=False, **local)
        self.ray = ray
        # One line per stage comes from the pipeline; Ray's per-dataset banners would bury it.
        logging.getLogger('ray.data').setLevel(logging.WARNING)
        ray.data.DataContext.get_current().enable_progress_bars = False

    def _batches(self, data, func, **kwargs):
        return data.map_batches(func, batch_format='pyarrow', batch_size=self.batch_size,
                                zero_copy_batch=True, fn_kwargs=kwargs).materialize()

    def read(self, path: str):
        return self.ray.data.from_arrow(read_rows(path).data.table).materialize()

    def columns(self, data) -> list[str]:
        return list(data.schema().names)

    def count(self, data) -> int:
        return data.count()

    def map(self, data, fn, desc, replace=False, schema=None, **kwargs):
        return self._batches(data, _apply, fn=fn, replace=replace, schema=schema,
                             kwargs=kwargs)

    def filter(self, data, column, value, equal=True):
        return self._batches(data, _select, column=column, value=value, equal=equal)

    def drop_ids(self, data, ids):
        return self._batches(data, _take_ids, ids=ids, keep=False)

    def concat(self, parts):
        return parts[0] if len(parts) == 1 else parts[0].union(*parts[1:]).materialize()

    def table(self, data, columns, ids=None):
        if ids is not None:
            data = self._batches(data, _take_ids, ids=ids)
        tables = [t for t in self.ray.get(data.select_columns(columns).to_arrow_refs())
                  if t.num_rows]
        if not tables:
            return pa.table({c: pa.array([]) for c in columns})
        return pa.concat_tables(tables, promote_options='default')

    def write(self, data, path: Path, fmt: str) -> None:
        table = self.table(data, ['_id', '_line']).sort_by('_id')
        write_lines(table.column('_line').to_pylist(), path, fmt)

    def close(self) -> None:
        if self.started:
            self.ray.shutdown()
