import json

import numpy as np
import pyarrow as pa
import pytest

from xtuner_like.curate.engine import DatasetsEngine, from_arrow, make_engine, to_arrow
from xtuner_like.errors import ConfigError


def add_square(batch, *, k):
    return {'sq': [k * x * x for x in batch['x']],
            'pair': np.array([[x, -x] for x in batch['x']], dtype=np.int64)}


@pytest.fixture
def engine(tmp_path):
    eng = DatasetsEngine(scratch=str(tmp_path), num_proc=1, batch_size=4)
    yield eng
    eng.close()
    assert not eng.scratch.exists()


@pytest.fixture
def rows_file(tmp_path):
    path = tmp_path / 'rows.jsonl'
    path.write_text(''.join(json.dumps({'x': i, 'tag': 'ab'[i % 2]}) + '\n' for i in range(10)))
    return str(path)


def test_read_numbers_rows(engine, rows_file):
    data = engine.read(rows_file)
    assert engine.gather(data, ['_row'])['_row'].tolist() == list(range(10))
    assert engine.count(data) == 10 and set(engine.columns(data)) == {'x', 'tag', '_row'}


def test_map_filter_gather_head(engine, rows_file):
    data = engine.map(engine.read(rows_file), add_square, 'square', k=2)
    data = data.rename_column('_row', '_id')
    cols = engine.gather(data, ['_id', 'sq', 'pair'])
    assert cols['sq'].tolist() == [2 * i * i for i in range(10)]
    assert cols['pair'].shape == (10, 2) and cols['pair'][3].tolist() == [3, -3]
    a = engine.filter(data, 'tag', 'a')
    assert engine.gather(a, ['x'])['x'].tolist() == [0, 2, 4, 6, 8]
    assert engine.count(engine.filter(data, 'tag', 'a', equal=False)) == 5
    assert engine.gather(engine.drop_ids(a, np.array([2, 8])), ['x'])['x'].tolist() == [0, 4, 6]
    assert engine.gather(data, ['x'], ids=np.array([7, 1]))['x'].tolist() == [1, 7]


def test_replace_and_write(engine, rows_file, tmp_path):
    data = engine.map(engine.read(rows_file), lambda b: {
        '_line': [f'{{"y": {x}}}' for x in b['x']], '_id': b['_row']}, 'y', replace=True)
    assert engine.columns(data) == ['_line', '_id']
    engine.write(data, tmp_path / 'o.jsonl', 'jsonl')
    assert (tmp_path / 'o.jsonl').read_text().splitlines()[2] == '{"y": 2}'
    engine.write(data, tmp_path / 'o.parquet', 'parquet')
    import datasets
    assert datasets.Dataset.from_parquet(str(tmp_path / 'o.parquet'))['y'][2] == 2


def test_arrow_conversions_round_trip():
    arrays = to_arrow({'m': np.arange(6, dtype=np.int64).reshape(3, 2), 's': ['a', 'b', 'c']})
    back = from_arrow(pa.table(arrays), ['m', 's'])
    assert back['m'].tolist() == [[0, 1], [2, 3], [4, 5]] and back['s'] == ['a', 'b', 'c']


def test_ray_engine_without_ray_is_a_clear_error(monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, 'ray', None)
    with pytest.raises(ConfigError, match='requirements/ray.txt'):
        make_engine({'type': 'ray', 'num_proc': 1, 'batch_size': 10, 'address': None})
