"""Loading raw rows from local files."""
import json

import pytest

from xtuner_like.dataset.load import load_raw_dataset, resolve_data_files
from xtuner_like.errors import ConfigError


def test_json_jsonl_parquet_txt(tmp_path):
    rows = [{'text': 'a'}, {'text': 'b'}]
    (tmp_path / 'a.json').write_text(json.dumps(rows))
    (tmp_path / 'a.jsonl').write_text('\n'.join(json.dumps(r) for r in rows))
    (tmp_path / 'a.txt').write_text('a\nb\n')
    import datasets
    datasets.Dataset.from_list(rows).to_parquet(str(tmp_path / 'a.parquet'))
    for name in ('a.json', 'a.jsonl', 'a.txt', 'a.parquet'):
        ds = load_raw_dataset(resolve_data_files(str(tmp_path / name)))
        assert ds['text'] == ['a', 'b'], name


def test_errors(tmp_path):
    with pytest.raises(ConfigError, match='missing.json not found'):
        resolve_data_files(str(tmp_path / 'missing.json'))
    (tmp_path / 'a.xml').write_text('<a/>')
    with pytest.raises(ConfigError, match='suffixes'):
        load_raw_dataset([str(tmp_path / 'a.xml')])
    with pytest.raises(ConfigError, match='data_files'):
        load_raw_dataset(None, None)


def test_data_files_from_a_spec(tmp_path):
    path = tmp_path / 'x.json'
    path.write_text('[]')
    spec = dict(type=lambda name: str(tmp_path / f'{name}.json'), name='x')
    assert resolve_data_files(spec) == [str(path)]
