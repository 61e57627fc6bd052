"""Loading raw rows from local files."""
import json

import pytest

from xtuner_like.dataset.load import (json_files_to_arrow, load_raw_dataset, read_json_rows,
                                      resolve_data_files, rows_to_dataset)
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


def write_jsonl(path, lines):
    path.write_bytes(b'\n'.join(line if isinstance(line, bytes) else line.encode()
                                for line in lines) + b'\n')
    return str(path)


def test_rows_keep_their_own_types(tmp_path):
    """Issue 16: one row's list or number re-typed the others ('4.' became 4.0)."""
    rows = [{'messages': [{'role': 'user', 'content': '4.'}], 'n': 1},
            {'messages': [{'role': 'user', 'content': ['a', 'b']}], 'n': 2},
            {'messages': [{'role': 'user', 'content': 5}], 'n': 2.5, 'extra': True}]
    for name in ('a.jsonl', 'a.json'):
        path = tmp_path / name
        path.write_text('\n'.join(json.dumps(r) for r in rows) if name.endswith('l')
                        else json.dumps(rows))
        ds = load_raw_dataset([str(path)])
        got = [ds[i] for i in range(len(ds))]
        for row, original in zip(got, rows):
            assert row['messages'] == original['messages']
            assert type(row['n']) is type(original['n']) and row['n'] == original['n']
        assert got[0]['extra'] is None and got[2]['extra'] is True


def test_plain_columns_stay_plain(tmp_path):
    import datasets
    path = write_jsonl(tmp_path / 'a.jsonl', [json.dumps({'text': 'x', 'k': 1}),
                                               json.dumps({'text': None, 'k': 2})])
    ds = load_raw_dataset([path])
    assert ds.features['text'] == datasets.Value('string')
    assert ds.features['k'] == datasets.Value('int64') and ds['k'] == [1, 2]


@pytest.mark.parametrize('lines, message', [
    ([b'{"a": 1}', b'{"a": 2', b'{"a": 3}'], 'a.jsonl, line 2: not valid JSON'),
    ([b'{"a": 1}', b'', b'[1, 2]'], 'a.jsonl, line 3: a row must be a JSON object'),
    ([b'{"a": "ok"}', b'{"a": "caf\xe9"}'], 'a.jsonl, line 2: not valid UTF-8 (byte 0xe9)'),
    ([b'   '], 'a.jsonl, line 1: the file is empty'),
])
@pytest.mark.parametrize('streamed', [False, True], ids=['in-memory', 'streamed'])
def test_broken_files_name_file_and_line(tmp_path, lines, message, streamed):
    from xtuner_like.errors import DatasetFormatError
    path = write_jsonl(tmp_path / 'a.jsonl', lines)
    with pytest.raises(DatasetFormatError) as info:
        json_files_to_arrow([path], tmp_path / 'a.arrow') if streamed else \
            load_raw_dataset([path])
    assert message in str(info.value) and '\n' not in str(info.value)


@pytest.mark.parametrize('batch_size', [1, 2, 1000])
def test_streamed_rows_are_the_rows_held_in_memory(tmp_path, batch_size):
    """json_files_to_arrow (bounded memory) holds what rows_to_dataset holds: the same
    columns, kinds and values whatever batch a row's kind first shows up in."""
    rows = [{'a': 'x', 'b': 1, 'c': [1, {'k': 'v'}]}, {'a': None, 'b': 2.5, 'd': None},
            {'b': None, 'c': 'text', 'e': True}, {'a': 'y', 'e': False, 'f': {'n': [1]}}]
    (tmp_path / 'a.jsonl').write_text('\ufeff' + '\n'.join(json.dumps(r) for r in rows[:3])
                                      + '\n\n')
    (tmp_path / 'b.json').write_text(json.dumps(rows[3:]))
    files = [str(tmp_path / 'a.jsonl'), str(tmp_path / 'b.json')]
    got = json_files_to_arrow(files, tmp_path / 'rows.arrow', batch_size=batch_size)
    want = rows_to_dataset([r for f in files for r in read_json_rows(f)])
    assert got.features == want.features and got[:] == want[:] and len(got) == 4
    assert got.cache_files and got.cache_files[0]['filename'].endswith('rows.arrow')
    (tmp_path / 'empty.json').write_text('[]')
    assert len(json_files_to_arrow([str(tmp_path / 'empty.json')], tmp_path / 'e.arrow')) == 0


def test_broken_json_array(tmp_path):
    from xtuner_like.errors import DatasetFormatError
    (tmp_path / 'a.json').write_text('[\n{"a": 1},\n{"a": 2,,}\n]')
    with pytest.raises(DatasetFormatError, match=r'a.json, line 3: not valid JSON'):
        load_raw_dataset([str(tmp_path / 'a.json')])
    (tmp_path / 'b.json').write_text('{"a": 1}')
    with pytest.raises(DatasetFormatError, match='an array of row objects, got dict'):
        load_raw_dataset([str(tmp_path / 'b.json')])
    (tmp_path / 'c.csv').write_text('')
    with pytest.raises(DatasetFormatError, match='c.csv, line 1: the file is empty'):
        load_raw_dataset([str(tmp_path / 'c.csv')])


def test_a_hub_dataset_offline_is_one_line(monkeypatch):
    """Issue 23, item 12: datasets' ConnectionError (HF_DATASETS_OFFLINE, no cache) ended in a
    traceback in every worker."""
    import datasets
    monkeypatch.setenv('HF_DATASETS_OFFLINE', '1')

    def offline(*args, **kwargs):
        raise ConnectionError("Couldn't reach 'someone/data' on the Hub (OfflineModeIsEnabled)")
    monkeypatch.setattr(datasets, 'load_dataset', offline)
    with pytest.raises(ConfigError) as err:
        load_raw_dataset(path='someone/data')
    assert str(err.value).startswith("hub dataset 'someone/data': Couldn't reach")
    assert 'data_files' in str(err.value) and '\n' not in str(err.value)


def test_strings_in_mixed_columns_come_back_as_written(tmp_path):
    """A KTO file whose labels mix true and "false": the string stays a string (it became
    the boolean False) so the map_fn can refuse it; "4" and JSON text stay strings too."""
    rows = [{'label': True, 'a': '4', 'b': [1]}, {'label': 'false', 'a': 4, 'b': '[1]'},
            {'label': None, 'a': '{"x": 1}', 'b': None}]
    (tmp_path / 'k.json').write_text(json.dumps(rows))
    (tmp_path / 'k.jsonl').write_text(''.join(json.dumps(r) + '\n' for r in rows))
    for name in ('k.json', 'k.jsonl'):
        assert list(load_raw_dataset([str(tmp_path / name)])) == rows, name
    assert list(json_files_to_arrow([str(tmp_path / 'k.jsonl')], tmp_path / 'k.arrow')) == rows


def test_a_folder_reads_its_data_files(tmp_path):
    """data_files=<a folder> used to say 'not found' (issue 23, 16)."""
    folder = tmp_path / 'data'
    folder.mkdir()
    (folder / 'b.jsonl').write_text('{"text": "two"}\n{"text": "three"}\n')
    (folder / 'a.json').write_text('[{"text": "one"}]')
    (folder / 'README.md').write_text('not data')
    (folder / '.hidden.json').write_text('[]')
    (folder / 'sub').mkdir()
    files = resolve_data_files(str(folder))
    assert files == [str((folder / 'a.json').resolve()), str((folder / 'b.jsonl').resolve())]
    assert load_raw_dataset(files)['text'] == ['one', 'two', 'three']
    assert resolve_data_files([str(folder), str(folder / 'a.json')])[-1].endswith('a.json')
    empty = tmp_path / 'empty'
    empty.mkdir()
    (empty / 'notes.txt.bak').write_text('x')
    with pytest.raises(ConfigError, match=f'the folder {empty} holds no data files'):
        resolve_data_files(str(empty))
