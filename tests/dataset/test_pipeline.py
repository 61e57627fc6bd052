"""Tests for xtuner_like/dataset/pipeline.py: one spec, one process_rows, pluggable row types."""
from __future__ import annotations

import dataclasses
import json

import pytest

from xtuner_like.dataset.pipeline import (ROW_TYPES, PipelineSpec, load_rows, process_rows,
                                          run_pipeline, specs_of)
from xtuner_like.dataset.build import build_dataset, build_sft_dataset
from xtuner_like.errors import ConfigError, DatasetFormatError

GOOD = {'instruction': 'Q?', 'input': '', 'output': 'A.'}
BAD = {'instruction': 'Q?', 'response': 'no output column'}


def rows(*items):
    return [(f'f.json, row {i}', row) for i, row in enumerate(items)]


@pytest.fixture
def spec():
    return PipelineSpec.from_options(dataset_map_fn='alpaca', max_length=64)


def test_policies(spec, tiny_tokenizer):
    batch = rows(GOOD, BAD, GOOD)
    with pytest.raises(DatasetFormatError, match=r"f.json, row 1: .*'output'.*on_bad_row"):
        process_rows(batch, spec, tiny_tokenizer, 'error')
    skipped = process_rows(batch, spec, tiny_tokenizer, 'skip')
    assert skipped.skipped == 1 and skipped.bad_rows == [] and len(skipped.columns['length']) == 2
    collected = process_rows(batch, spec, tiny_tokenizer, 'collect')
    assert [b.where for b in collected.bad_rows] == ['f.json, row 1']
    assert collected.columns == skipped.columns
    with pytest.raises(ConfigError, match='policy'):
        process_rows(batch, spec, tiny_tokenizer, 'ignore')


def test_a_bug_in_a_map_fn_is_not_a_bad_row(spec, tiny_tokenizer):
    def buggy(row):
        return {'conversation': [{'input': row['instruction'], 'output': row['output'].upper(1)}]}
    for policy in ('error', 'skip', 'collect'):
        with pytest.raises(TypeError) as info:
            process_rows(rows(GOOD), dataclasses.replace(spec, map_fn=buggy), tiny_tokenizer,
                         policy)
        assert 'while processing f.json, row 0' in info.value.__notes__[0]
        assert info.traceback[-1].name == 'buggy'


class Letters:
    """A toy row type (every character of 'text' is a token, every one trained), to show that
    a new kind of sample plugs in without copying the pipeline."""

    name = 'letters'
    columns = ('input_ids', 'labels', 'length', 'num_trained', 'truncated')

    def map(self, row, spec, tokenizer):
        if not isinstance(row.get('text'), str):
            raise DatasetFormatError("letters row needs a 'text' string")
        return row['text']

    def validate(self, sample, spec):
        if not sample:
            raise DatasetFormatError('empty text')

    def encode(self, samples, tokenizer, spec):
        ids = [[ord(c) for c in s][:spec.max_length] for s in samples]
        return {'input_ids': ids, 'labels': ids, 'length': [len(i) for i in ids],
                'num_trained': [len(i) for i in ids],
                'truncated': [len(s) > spec.max_length for s in samples]}


class Picky(Letters):
    """Letters whose encoder refuses any text holding 'x' (found only when encoding)."""

    name = 'picky'

    def encode(self, samples, tokenizer, spec):
        if any('x' in s for s in samples):
            raise DatasetFormatError("the encoder refuses 'x'")
        return super().encode(samples, tokenizer, spec)


def test_rows_the_encoder_refuses_are_found_one_by_one(tiny_tokenizer):
    if 'picky' not in ROW_TYPES:
        ROW_TYPES.register('picky', Picky())
    spec = PipelineSpec(row_type='picky', max_length=8)
    done = process_rows(rows({'text': 'ab'}, {'text': 'xy'}, {'text': 'cd'}), spec,
                        tiny_tokenizer, 'collect')
    assert [(b.where, b.problem) for b in done.bad_rows] == [
        ('f.json, row 1', "the encoder refuses 'x'")]
    assert done.columns['input_ids'] == [[97, 98], [99, 100]]


def test_a_new_row_type_runs_through_the_same_pipeline(tmp_path, tiny_tokenizer):
    if 'letters' not in ROW_TYPES:
        ROW_TYPES.register('letters', Letters())
    path = tmp_path / 'text.jsonl'
    path.write_text(''.join(json.dumps(r) + '\n' for r in
                            [{'text': 'abc'}, {'text': ''}, {'other': 1}, {'text': 'hello'}]))
    spec = PipelineSpec.from_options(data_files=str(path), row_type='letters', max_length=4,
                                     on_bad_row='skip', prompt_template=None)
    data, stats = run_pipeline(spec, tiny_tokenizer, tmp_path / 'scratch')
    assert [list(r) for r in data['input_ids']] == [[97, 98, 99], [104, 101, 108, 108]]
    assert stats['skipped'] == 2 and stats['truncated'] == 1 and stats['tokens'] == 7
    strict = dataclasses.replace(spec, on_bad_row='error')
    with pytest.raises(DatasetFormatError, match=rf'{path}, line 2: empty text'):
        run_pipeline(strict, tiny_tokenizer, tmp_path / 'scratch2')


def test_spec_options_are_checked(tmp_path):
    with pytest.raises(ConfigError, match='on_bad_row'):
        PipelineSpec.from_options(on_bad_row='ignore')
    with pytest.raises(ConfigError, match="unknown option 'max_lenght'; did you mean 'max_length'"):
        PipelineSpec.from_options(max_lenght=3)
    with pytest.raises(ConfigError, match="row_type='pair' use one of"):
        PipelineSpec.from_options(row_type='pair')


def test_specs_of_each_builder(tmp_path, tiny_tokenizer):
    a = tmp_path / 'a.json'
    a.write_text(json.dumps([GOOD]))
    sft = specs_of(dict(type=build_sft_dataset, tokenizer=tiny_tokenizer, data_files=str(a),
                        dataset_map_fn='alpaca', system='alpaca', max_length=32))
    assert len(sft) == 1 and sft[0].files == (str(a.resolve()),) and sft[0].pack
    concat = specs_of(dict(type=build_dataset, tokenizer=tiny_tokenizer, max_length=32,
                           sources=[dict(data_files=str(a), dataset_map_fn='alpaca'),
                                    dict(data_files=str(a), dataset_map_fn='alpaca',
                                         system='S', ratio=2)]))
    assert [s.chat_format.system for s in concat] == [None, 'S']
    assert [s.ratio for s in concat] == [1, 2] and {s.max_length for s in concat} == {32}
    with pytest.raises(ConfigError, match='does not run the data pipeline'):
        specs_of(dict(type=dict))


def test_load_rows_names_rows_by_file_and_line(tmp_path):
    a, b = tmp_path / 'a.jsonl', tmp_path / 'b.jsonl'
    a.write_text(json.dumps(GOOD) + '\n')
    b.write_text(json.dumps(GOOD) + '\n' + json.dumps(GOOD) + '\n')
    raw, where = load_rows(PipelineSpec(files=(str(a), str(b))))
    assert len(raw) == 3 and [where(i) for i in range(3)] == [
        f'{a}, line 1', f'{b}, line 1', f'{b}, line 2']


def test_a_first_batch_emptied_by_truncation_does_not_fix_the_column_types(tmp_path,
                                                                          tiny_tokenizer):
    """A batch whose samples all lose their reply (ids ``[]``) made ``datasets`` infer a list
    of nulls, and the next batch failed with "Couldn't cast array of type int64 to null"."""
    from xtuner_like.dataset.pipeline import BATCH
    long = {'instruction': 'x ' * 200, 'input': '', 'output': 'too long ' * 50}
    short = {'instruction': 'Hi', 'input': '', 'output': 'Hello.'}
    path = tmp_path / 'data.json'
    path.write_text(json.dumps([long] * BATCH + [short] * 3))
    ds = build_sft_dataset(tiny_tokenizer, data_files=str(path), dataset_map_fn='alpaca',
                           prompt_template='chatml', max_length=64, pack_to_max_length=False,
                           cache_dir=str(tmp_path / 'cache'))
    assert len(ds) == 3 and ds.stats['emptied'] == BATCH
