"""Tests for xtuner_like/dataset/build.py: build_dataset (one source or several, any row
kind), its cache and lock, and its errors."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from xtuner_like.dataset import build as build_module
from xtuner_like.dataset.build import build_dataset, sample_by_ratio
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
    return build_dataset(tokenizer, data_files=str(path), cache_dir=str(tmp_path / 'cache'),
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
    assert not list((tmp_path / 'cache').glob('*.scratch*'))


def _folder(cache_files):
    from pathlib import Path
    return Path(cache_files[0]['filename']).parent


def test_sample_by_ratio():
    assert sample_by_ratio(4, 1.0, 0) == [0, 1, 2, 3]
    assert sample_by_ratio(3, 2.0, 0) == [0, 1, 2, 0, 1, 2]
    half = sample_by_ratio(10, 0.5, 0)
    assert len(half) == 5 and len(set(half)) == 5 and half == sample_by_ratio(10, 0.5, 0)
    assert len(sample_by_ratio(4, 1.5, 0)) == 6


def _two_formats(tmp_path):
    alpaca = tmp_path / 'a.json'
    alpaca.write_text(json.dumps([{'instruction': f'Q{i}', 'input': '', 'output': f'A{i}'}
                                  for i in range(10)]))
    chats = tmp_path / 'b.jsonl'
    chats.write_text(''.join(json.dumps({'messages': [
        {'role': 'user', 'content': f'Hi {i}'}, {'role': 'assistant', 'content': 'Yo'}]}) + '\n'
        for i in range(4)))
    return [dict(data_files=str(alpaca), dataset_map_fn='alpaca', ratio=0.5),
            dict(data_files=str(chats), dataset_map_fn='openai', ratio=2)]


def test_two_formats_mixed_and_packed_once(tmp_path, tiny_tokenizer):
    sources = _two_formats(tmp_path)
    unpacked = build_dataset(tiny_tokenizer, sources, max_length=128,
                             pack_to_max_length=False, cache_dir=str(tmp_path / 'c'))
    assert len(unpacked) == 5 + 8
    assert [s['kept'] for s in unpacked.stats['sources']] == [5, 8]
    texts = [tiny_tokenizer.decode(unpacked[i]['input_ids']) for i in range(len(unpacked))]
    assert sum('<|im_start|>user\nQ' in t for t in texts) == 5
    assert sum('Hi ' in t for t in texts) == 8
    packed = build_dataset(tiny_tokenizer, sources, max_length=128,
                           cache_dir=str(tmp_path / 'c'))
    assert packed.packed and len(packed) < 13
    assert sum(int(packed[i]['num_samples']) for i in range(len(packed))) == 13
    assert 0 < packed.stats['pack_efficiency'] <= 1


def test_each_source_has_its_own_template_and_system(tmp_path, tiny_tokenizer):
    a, b = _two_formats(tmp_path)
    ds = build_dataset(tiny_tokenizer, [dict(a, ratio=1), dict(b, prompt_template='llama3_chat',
                                                             system='Be brief.')],
                       max_length=128, pack_to_max_length=False, cache_dir=str(tmp_path / 'c'))
    texts = [tiny_tokenizer.decode(ds[i]['input_ids']) for i in range(len(ds))]
    assert sum('<|im_start|>user' in t for t in texts) == 10
    assert sum('<|start_header_id|>system<|end_header_id|>\n\nBe brief.' in t
               for t in texts) == 8    # ratio 2
    assert ds.chat_format.name == 'chatml'    # the dataset's own: what an export writes


@pytest.mark.parametrize('row_type, map_fn, rows', [
    ('preference', 'plain_preference',
     [{'prompt': f'Q{i}', 'chosen': f'Good {i}', 'rejected': f'Bad {i}'} for i in range(6)]),
    ('kto', 'kto', [{'prompt': f'Q{i}', 'completion': f'A {i}', 'label': i % 2 == 0}
                    for i in range(6)])])
def test_several_sources_of_preference_rows_mix_and_pack(row_type, map_fn, rows, tmp_path,
                                                         tiny_tokenizer):
    """The several-source path takes any row kind (it could hold SFT rows only)."""
    first, second = tmp_path / 'first.json', tmp_path / 'second.json'
    first.write_text(json.dumps(rows[:4]))
    second.write_text(json.dumps(rows[4:]))
    sources = [dict(data_files=str(first)), dict(data_files=str(second), ratio=2)]
    ds = build_dataset(tiny_tokenizer, sources, row_type=row_type, dataset_map_fn=map_fn,
                       max_length=64, cache_dir=str(tmp_path / 'c'))
    assert ds.packed and ds.stats['samples'] == 4 + 4
    restarts = sum(list(ds[i]['position_ids']).count(0) for i in range(len(ds)))
    assert restarts == 2 * 8                                   # two sequences a sample
    if row_type == 'kto':
        assert sum(len(ds[i]['desirable']) for i in range(len(ds))) == 8
    from xtuner_like.dataset import collate_rows
    batch = collate_rows([ds[0]], row_type=row_type)
    assert batch['input_ids'].shape[0] == 1 and ('desirable' in batch) == (row_type == 'kto')


def test_held_out_rows_are_left_out_of_training_and_are_the_eval_part(tmp_path,
                                                                       tiny_tokenizer):
    path = tmp_path / 'a.json'
    path.write_text(json.dumps(ROWS))
    common = dict(data_files=str(path), dataset_map_fn='alpaca', max_length=64,
                  pack_to_max_length=False, cache_dir=str(tmp_path / 'c'), holdout=0.2)
    train = build_dataset(tiny_tokenizer, **common)
    held = build_dataset(tiny_tokenizer, part='eval', **common)
    def answers(ds):
        texts = [tiny_tokenizer.decode(ds[i]['input_ids']) for i in range(len(ds))]
        return {t.split('Answer number ')[1].split('.')[0] for t in texts}
    assert answers(held) == {'4', '9', '14', '19'} and len(train) == 16
    assert not answers(held) & answers(train)
    assert 'held-out rows (20%' in held.stats['data'] and str(path) in held.stats['data']
    every = build_dataset(tiny_tokenizer, **{**common, 'eval_data_files': str(path)})
    assert len(every) == 20          # evaluating on other files: every row is trained


WORKER = """
import sys
from transformers import AutoTokenizer
from xtuner_like.dataset import build as build_module
from xtuner_like.dataset.build import build_dataset
tokenizer = AutoTokenizer.from_pretrained(sys.argv[1])
ran = []
original = build_module.run_pipeline
build_module.run_pipeline = lambda *a, **k: ran.append(1) or original(*a, **k)
ds = build_dataset(tokenizer, data_files=sys.argv[2], dataset_map_fn='alpaca', max_length=64,
                   cache_dir=sys.argv[3])
print('RESULT', len(ran), ds.stats['samples'], len(ds))
"""


def test_three_runs_preparing_the_same_data_at_once_all_finish(tmp_path, tiny_model_dir):
    """Each process builds in its own scratch folder under a lock: one processes the data,
    the other two wait and load its cache (they used to share `<key>.scratch` and delete
    each other's files: issue 23, 11)."""
    path = tmp_path / 'a.json'
    path.write_text(json.dumps(ROWS * 50))
    env = {**os.environ, 'PYTHONPATH': str(Path(__file__).resolve().parents[2])}
    procs = [subprocess.Popen([sys.executable, '-c', WORKER, str(tiny_model_dir), str(path),
                               str(tmp_path / 'cache')], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(3)]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err[-3000:]
        results.append(next(line.split()[1:] for line in out.splitlines()
                            if line.startswith('RESULT')))
    assert sorted(r[0] for r in results) == ['0', '0', '1']   # processed once, loaded twice
    assert {tuple(r[1:]) for r in results} == {(results[0][1], results[0][2])}
    assert not list((tmp_path / 'cache').glob('*.scratch*'))


def test_every_keyed_option_changes_the_cache_key(tmp_path, tiny_tokenizer):
    from xtuner_like.dataset.pipeline import PipelineSpec
    from xtuner_like.dataset.spec import OPTIONS
    base = PipelineSpec()
    key = build_module.cache_target(base, tiny_tokenizer, str(tmp_path))
    changed = {'path': 'x', 'split': 'test', 'max_rows': 3, 'on_bad_row': 'skip', 'holdout': 2,
               'eval_data_files': 'e.json', 'part': 'eval', 'row_type': 'kto',
               'max_length': 7, 'pack': False}
    for option in OPTIONS:
        if option.field == '':
            continue
        other = build_module.cache_target(
            PipelineSpec(**{option.field_name: changed.get(option.field_name, 12345)}),
            tiny_tokenizer, str(tmp_path))
        assert (other != key) == option.keyed, option.name
