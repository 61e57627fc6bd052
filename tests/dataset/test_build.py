"""build_sft_dataset: the whole pipeline, its cache, and its errors."""
import json
import logging

import pytest

from xtuner_like.dataset import build as build_module
from xtuner_like.dataset.build import build_sft_dataset
from xtuner_like.errors import ConfigError, DatasetFormatError, UnknownNameError

ROWS = [{'instruction': f'Question {i}?', 'input': '', 'output': f'Answer number {i}.'}
        for i in range(20)]


@pytest.fixture
def alpaca_file(tmp_path):
    path = tmp_path / 'alpaca.json'
    path.write_text(json.dumps(ROWS))
    return path


def build(tokenizer, path, tmp_path, **kwargs):
    kwargs.setdefault('dataset_map_fn', 'alpaca')
    kwargs.setdefault('max_length', 128)
    return build_sft_dataset(tokenizer, data_files=str(path), cache_dir=str(tmp_path / 'cache'),
                             **kwargs)


def test_packed_pipeline(tiny_tokenizer, alpaca_file, tmp_path):
    ds = build(tiny_tokenizer, alpaca_file, tmp_path)
    assert ds.packed and ds.stats['samples'] == 20
    assert 0 < ds.stats['pack_efficiency'] <= 1 and ds.stats['packs'] == len(ds) < 20
    row = ds[0]
    assert len(row['input_ids']) == len(row['labels']) == len(row['position_ids']) <= 128
    assert list(row['position_ids']).count(0) > 1          # several samples in one row


def test_unpacked_pipeline_and_labels(tiny_tokenizer, alpaca_file, tmp_path):
    ds = build(tiny_tokenizer, alpaca_file, tmp_path, pack_to_max_length=False,
               system='alpaca')
    assert len(ds) == 20 and 'position_ids' not in ds[0]
    row = ds[0]
    trained = [i for i, lab in zip(row['input_ids'], row['labels']) if lab != -100]
    text = tiny_tokenizer.decode(trained)
    assert text == 'Answer number 0.<|im_end|>'


def test_second_build_hits_the_cache(tiny_tokenizer, alpaca_file, tmp_path, monkeypatch):
    first = build(tiny_tokenizer, alpaca_file, tmp_path)

    def fail(*args, **kwargs):
        raise AssertionError('processed again instead of loading the cache')
    monkeypatch.setattr(build_module, 'run_pipeline', fail)
    second = build(tiny_tokenizer, alpaca_file, tmp_path)
    assert [list(r['input_ids']) for r in second] == [list(r['input_ids']) for r in first]
    with pytest.raises(AssertionError, match='processed again'):
        build(tiny_tokenizer, alpaca_file, tmp_path, max_length=64)   # a new key


def test_a_node_without_rank_0s_cache_says_to_share_it(tiny_tokenizer, alpaca_file, tmp_path,
                                                      monkeypatch):
    """Rank 1 of 2 on a node whose disk does not hold what rank 0 prepared (issue 28)."""
    monkeypatch.setattr(build_module, 'get_dist_info', lambda: (1, 2))
    monkeypatch.setattr(build_module, 'barrier', lambda: None)
    with pytest.raises(ConfigError, match=r'rank 1: the dataset cache .* is not on this node; '
                       r'put XTUNER_LIKE_HOME \(or cache_dir\) on a filesystem every node shares'):
        build(tiny_tokenizer, alpaca_file, tmp_path)


def test_bad_row_names_file_and_row(tiny_tokenizer, tmp_path):
    path = tmp_path / 'bad.json'
    path.write_text(json.dumps(ROWS[:3] + [{'instruction': 'x', 'response': 'y'}]))
    with pytest.raises(DatasetFormatError, match=rf"{path}, row 3: .*'output'"):
        build(tiny_tokenizer, path, tmp_path)


def test_bad_rows_skipped_on_request_and_counted(tiny_tokenizer, tmp_path, caplog):
    path = tmp_path / 'bad.jsonl'
    lines = [json.dumps(r) for r in ROWS[:5]] + ['{"instruction": "x"}'] * 2
    path.write_text('\n'.join(lines))
    ds = build(tiny_tokenizer, path, tmp_path, on_bad_row='skip', pack_to_max_length=False)
    assert len(ds) == 5 and ds.stats['skipped'] == 2


def test_jsonl_rows_are_named_by_line(tiny_tokenizer, tmp_path):
    path = tmp_path / 'bad.jsonl'
    path.write_text(json.dumps(ROWS[0]) + '\n' + json.dumps({'instruction': 'x'}) + '\n')
    with pytest.raises(DatasetFormatError, match=rf'{path}, line 2'):
        build(tiny_tokenizer, path, tmp_path)


def test_long_rows_keep_whole_turns_or_are_dropped_and_counted(tiny_tokenizer, tmp_path):
    path = tmp_path / 'long.json'
    path.write_text(json.dumps([{'instruction': 'Hi', 'output': 'word ' * 200}] + ROWS[:3]))
    ds = build(tiny_tokenizer, path, tmp_path, max_length=40, pack_to_max_length=False)
    # the first reply does not fit: the sample is dropped, never cut inside the reply
    assert ds.stats['emptied'] == 1 and len(ds) == 3 and max(ds.lengths) <= 40
    path = tmp_path / 'turns.jsonl'
    turns = [{'input': 'Hi', 'output': 'Hello!'}, {'input': 'More', 'output': 'word ' * 200}]
    path.write_text(json.dumps({'conversation': turns}) + '\n')
    ds = build(tiny_tokenizer, path, tmp_path, max_length=40, pack_to_max_length=False,
               dataset_map_fn=None)
    assert ds.stats['truncated'] == 1 and len(ds) == 1
    assert tiny_tokenizer.decode(ds[0]['input_ids']).endswith('Hello!<|im_end|>')


def test_pretrain_mode_trains_every_token(tiny_tokenizer, tmp_path):
    path = tmp_path / 'text.jsonl'
    path.write_text('\n'.join(json.dumps({'text': f'Some text number {i}.'}) for i in range(4)))
    ds = build(tiny_tokenizer, path, tmp_path, dataset_map_fn='pretrain',
               prompt_template=None, pack_to_max_length=False)
    row = ds[0]
    assert list(row['labels']) == list(row['input_ids'])
    assert tiny_tokenizer.decode(row['input_ids']).endswith('<|im_end|>')


def test_max_rows(tiny_tokenizer, alpaca_file, tmp_path):
    assert len(build(tiny_tokenizer, alpaca_file, tmp_path, max_rows=7,
                     pack_to_max_length=False)) == 7


def test_config_mistakes(tiny_tokenizer, alpaca_file, tmp_path):
    with pytest.raises(UnknownNameError, match="did you mean 'chatml'"):
        build(tiny_tokenizer, alpaca_file, tmp_path, prompt_template='chatm1')
    with pytest.raises(UnknownNameError, match="'alpaca'"):
        build(tiny_tokenizer, alpaca_file, tmp_path, dataset_map_fn='alpacca')
    with pytest.raises(ConfigError, match='on_bad_row'):
        build(tiny_tokenizer, alpaca_file, tmp_path, on_bad_row='ignore')
    with pytest.raises(ConfigError, match='not found'):
        build(tiny_tokenizer, tmp_path / 'missing.json', tmp_path)


def test_real_alpaca(tiny_tokenizer, shared_data, tmp_path):
    ds = build(tiny_tokenizer, shared_data / 'alpaca_en_demo.json', tmp_path, max_length=512)
    stats = ds.stats   # the tiny tokenizer makes long texts: some answers do not fit
    assert stats['rows'] == 999 and stats['samples'] + stats['emptied'] == 999
    # a reply is never cut from its end of turn: a one-turn row keeps its whole reply (and
    # loses at most the untrained separator after it) or is dropped
    assert 0 < stats['emptied'] < 999 and stats['truncated'] < stats['emptied']
    assert all(len(ds[i]['input_ids']) <= 512 for i in range(len(ds)))
    assert stats['pack_efficiency'] > 0.9


def _alpaca_recording_pid(row):
    """The alpaca map_fn, also noting which process ran it (the file is set by the test)."""
    import os
    from xtuner_like.dataset.map_fns import get_map_fn
    with open(os.environ['XL_TEST_PID_FILE'], 'a') as f:
        f.write(f'{os.getpid()}\n')
    return get_map_fn('alpaca')(row)


def test_num_proc_2_runs_in_two_processes_after_a_num_proc_1_build(tiny_tokenizer, tmp_path,
                                                                   monkeypatch):
    """datasets reuses the shard count of cache files it finds next to the raw data; the
    pipeline keeps its map output in its own scratch folder, so none are ever found."""
    import datasets
    path = tmp_path / 'alpaca.json'
    path.write_text(json.dumps(ROWS * 30))
    raw_cache = datasets.load_dataset('json', data_files=str(path), split='train').cache_files
    before = {p.name for p in _folder(raw_cache).iterdir()}
    pids = tmp_path / 'pids.txt'
    monkeypatch.setenv('XL_TEST_PID_FILE', str(pids))
    for num_proc in (1, 2):
        pids.write_text('')
        ds = build(tiny_tokenizer, path, tmp_path, num_proc=num_proc, use_cache=False,
                   dataset_map_fn=_alpaca_recording_pid)
        assert ds.stats['samples'] == 600
        assert len(set(pids.read_text().split())) == num_proc
    assert {p.name for p in _folder(raw_cache).iterdir()} == before
    assert not list((tmp_path / 'cache').glob('*.scratch'))


def _folder(cache_files):
    from pathlib import Path
    return Path(cache_files[0]['filename']).parent
