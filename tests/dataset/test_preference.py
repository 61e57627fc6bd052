"""Preference and KTO row types: two sequences per sample, only the final replies trained."""
from __future__ import annotations

import re
from itertools import groupby
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from xtuner_like.dataset.map_fns import get_map_fn
from xtuner_like.dataset.preference import (
    KtoRows, PreferenceCollator, PreferenceRows, join_sequences, reply_segments)
from xtuner_like.errors import DatasetFormatError
from xtuner_like.model.sequence_logps import sequence_index
from xtuner_like.templates import TEMPLATES

TEMPLATE_NAMES = sorted(TEMPLATES)


def _spec(map_fn='openai_preference', template='chatml', max_length=512):
    return SimpleNamespace(map_fn=get_map_fn(map_fn), max_length=max_length,
                           chat_format=SimpleNamespace(template=template, system=None))


def _trained_spans(tokenizer, ids, labels):
    return [tokenizer.decode([ids[k] for k in run]) for trained, run in groupby(
        range(len(ids)), key=lambda k: labels[k] != -100) for run in [list(run)] if trained]


ROW = {'prompt': [{'role': 'user', 'content': 'Hi'}, {'role': 'assistant', 'content': 'Hey.'},
                  {'role': 'user', 'content': 'Who are you?'}],
       'chosen': 'I am Tuna.', 'rejected': 'No idea.'}


@pytest.mark.parametrize('template', TEMPLATE_NAMES)
def test_only_the_final_reply_is_trained_for_every_template(template):
    turns = get_map_fn('openai_preference')(ROW)['conversation']
    segments = reply_segments(turns, 'I am Tuna.', template, None, '</s>')
    trained = [s['text'] for s in segments if s['trained']]
    # the trained text is the template's reply: a leading space (Llama-2, Mistral, Vicuna) or
    # an empty think block (Qwen3; DeepSeek-R1 opens it in the prompt) may come before it
    assert trained and re.match(r'\s*(<think>)?\s*(</think>)?\s*I am Tuna\.', trained[0]), trained
    assert not any('Hey.' in t for t in trained)
    # Trained = served: the text is the SFT rendering of the same conversation.
    assert ''.join(s['text'] for s in segments).count('Hey.') == 1


def test_pair_sample_holds_two_sequences(tiny_tokenizer):
    rows = PreferenceRows()
    spec = _spec()
    sample = rows.map(ROW, spec, tiny_tokenizer)
    rows.validate(sample, spec)
    out = rows.encode([sample, sample], tiny_tokenizer, spec)
    ids, labels, pos = out['input_ids'][0], out['labels'][0], out['position_ids'][0]
    assert len(ids) == len(labels) == len(pos) == out['length'][0]
    assert pos.count(0) == 2
    eos = tiny_tokenizer.eos_token
    assert _trained_spans(tiny_tokenizer, ids, labels) == [f'I am Tuna.{eos}', f'No idea.{eos}']
    assert out['num_trained'][0] == sum(label != -100 for label in labels)


def test_truncation_that_empties_a_reply_drops_the_pair(tiny_tokenizer):
    rows, spec = PreferenceRows(), _spec(max_length=8)
    out = rows.encode([rows.map(ROW, spec, tiny_tokenizer)], tiny_tokenizer, spec)
    assert out['truncated'] == [True] and out['num_trained'] == [0]


def test_join_keeps_a_pair_only_when_both_sides_train():
    a = {'input_ids': [1, 2], 'labels': [-100, 2], 'length': 2, 'num_trained': 1,
         'truncated': False}
    b = {'input_ids': [3], 'labels': [-100], 'length': 1, 'num_trained': 0, 'truncated': True}
    assert join_sequences(a, a)['num_trained'] == 2
    joined = join_sequences(a, b)
    assert joined['num_trained'] == 0 and joined['truncated']
    assert joined['position_ids'] == [0, 1, 0]


def test_identical_replies_are_a_bad_row(tiny_tokenizer):
    rows, spec = PreferenceRows(), _spec()
    sample = rows.map({**ROW, 'rejected': ROW['chosen']}, spec, tiny_tokenizer)
    with pytest.raises(DatasetFormatError, match='identical'):
        rows.validate(sample, spec)


def test_a_sft_row_under_the_preference_type_says_which_map_fn(tiny_tokenizer):
    with pytest.raises(DatasetFormatError, match='preference format'):
        PreferenceRows().map({'conversation': [{'input': 'a', 'output': 'b'}]},
                             _spec(map_fn=None), tiny_tokenizer)


def test_kto_rows_carry_label_and_a_mismatched_kl_sequence(tiny_tokenizer):
    rows, spec = KtoRows(), _spec(map_fn='kto')
    raw = [{'prompt': 'Who are you?', 'completion': 'I am Tuna.', 'label': True},
           {'prompt': 'Hi', 'completion': 'Go away.', 'label': False}]
    samples = [rows.map(r, spec, tiny_tokenizer) for r in raw]
    out = rows.encode(samples, tiny_tokenizer, spec)
    assert out['desirable'] == [True, False]
    eos = tiny_tokenizer.eos_token
    assert _trained_spans(tiny_tokenizer, out['input_ids'][0], out['labels'][0]) == [
        f'I am Tuna.{eos}', f'Go away.{eos}']
    text = tiny_tokenizer.decode(out['input_ids'][1])
    assert text.count('Hi') == 2 and 'I am Tuna.' in text  # KL: own prompt, next reply


def test_collator_concatenates_samples_without_padding(tiny_tokenizer):
    rows, spec = PreferenceRows(), _spec()
    out = rows.encode([rows.map(ROW, spec, tiny_tokenizer)] * 3, tiny_tokenizer, spec)
    samples = [{k: v[i] for k, v in out.items()} for i in range(3)]
    for s in samples:
        s['reference_logps'] = [-1.0, -2.0]
    batch = PreferenceCollator()(samples)
    assert batch['input_ids'].shape == (1, sum(out['length']))
    assert int(sequence_index(batch['position_ids']).max()) == 5
    assert batch['reference_logps'].shape == (3, 2)
    assert torch.equal(batch['labels'][batch['position_ids'] == 0],
                       torch.full((6,), -100))


def _write(tmp_path, rows, name='pairs.json'):
    import json
    path = tmp_path / name
    path.write_text(json.dumps(rows))
    return path


def test_build_preference_dataset_through_the_pipeline(tiny_tokenizer, tmp_path):
    from xtuner_like.dataset import build_preference_dataset
    path = _write(tmp_path, [ROW, {**ROW, 'chosen': 'Tuna, made by the team.'}])
    ds = build_preference_dataset(tiny_tokenizer, data_files=str(path),
                                  dataset_map_fn='openai_preference', max_length=256,
                                  pack_to_max_length=False, cache_dir=str(tmp_path / 'cache'))
    assert len(ds) == 2 and ds.chat_format.name == 'chatml'
    batch = PreferenceCollator()([ds[0], ds[1]])
    assert batch['input_ids'].shape == (1, int(ds.lengths.sum()))
    assert int((batch['position_ids'] == 0).sum()) == 4


def test_a_bad_pair_names_its_file_and_row(tiny_tokenizer, tmp_path):
    from xtuner_like.dataset import build_preference_dataset
    path = _write(tmp_path, [ROW, {'prompt': 'Hi', 'chosen': 'x'}])
    with pytest.raises(DatasetFormatError, match=r"pairs.json, row 1: .*missing \['rejected'\]"):
        build_preference_dataset(tiny_tokenizer, data_files=str(path),
                                 dataset_map_fn='openai_preference',
                                 cache_dir=str(tmp_path / 'cache'))
    ds = build_preference_dataset(tiny_tokenizer, data_files=str(path), on_bad_row='skip',
                                  dataset_map_fn='openai_preference',
                                  cache_dir=str(tmp_path / 'cache'))
    assert ds.stats['samples'] == 1 and ds.stats['skipped'] == 1


def test_build_kto_dataset_keeps_labels(tiny_tokenizer, tmp_path):
    from xtuner_like.dataset import build_preference_dataset
    path = _write(tmp_path, [{'prompt': 'Hi', 'completion': 'Hello!', 'label': True},
                             {'prompt': 'Who?', 'completion': 'Go.', 'label': False}])
    ds = build_preference_dataset(tiny_tokenizer, data_files=str(path), dataset_map_fn='kto',
                                  row_type='kto', pack_to_max_length=False,
                                  cache_dir=str(tmp_path / 'cache'))
    assert PreferenceCollator()([ds[0], ds[1]])['desirable'].tolist() == [True, False]


def test_an_sft_row_is_refused_by_the_preference_row_kind(tiny_tokenizer, tmp_path):
    from xtuner_like.dataset import build_preference_dataset
    from xtuner_like.errors import DatasetFormatError
    sft_row = {'messages': [{'role': 'user', 'content': 'Hi'},
                            {'role': 'assistant', 'content': 'Hello'}]}
    with pytest.raises(DatasetFormatError, match='preference format'):
        build_preference_dataset(tiny_tokenizer, data_files=str(_write(tmp_path, [sft_row])),
                                 dataset_map_fn='openai', cache_dir=str(tmp_path / 'c'))


def test_real_dpo_file_builds(tiny_tokenizer, tmp_path, shared_data):
    from xtuner_like.dataset import build_preference_dataset
    ds = build_preference_dataset(tiny_tokenizer, data_files=str(shared_data / 'dpo_en_demo.json'),
                                  max_length=4096, cache_dir=str(tmp_path / 'cache'))
    assert ds.stats['samples'] + ds.stats.get('emptied', 0) == 300
    assert len(ds) == ds.stats['packs'] < ds.stats['samples']


def _varied_rows(row_type: str, n: int = 12) -> list[dict]:
    """Pairs (or KTO rows) of different lengths, so packing has choices to make."""
    if row_type == 'kto':
        return [{'prompt': f'Question {i}?', 'completion': 'I am Tuna. ' * (i % 4 + 1),
                 'label': i % 3 != 0} for i in range(n)]
    return [{'prompt': f'Question {i}?' + ' Why?' * (i % 2), 'chosen': 'I am Tuna. ' * (i % 4 + 1),
             'rejected': 'No.' * (i % 3 + 1)} for i in range(n)]


def _samples_of(ds) -> list[tuple]:
    """Every sample of a dataset as (chosen ids, chosen labels, rejected ids, rejected labels,
    desirable), read from the collated batch of all its rows."""
    batch = PreferenceCollator()([ds[i] for i in range(len(ds))])
    seq = sequence_index(batch['position_ids'])[0]
    ids, labels = batch['input_ids'][0], batch['labels'][0]
    parts = [(tuple(ids[seq == k].tolist()), tuple(labels[seq == k].tolist()))
             for k in range(int(seq.max()) + 1)]
    desirable = batch['desirable'].tolist() if 'desirable' in batch else [None] * (len(parts) // 2)
    return [(*parts[2 * k], *parts[2 * k + 1], desirable[k]) for k in range(len(parts) // 2)]


@pytest.mark.parametrize('row_type', ['preference', 'kto'])
def test_packing_puts_whole_pairs_in_rows_of_twice_max_length(tiny_tokenizer, tmp_path, row_type):
    from xtuner_like.dataset import build_preference_dataset
    path = _write(tmp_path, _varied_rows(row_type))
    options = dict(data_files=str(path), max_length=96, row_type=row_type,
                   dataset_map_fn='kto' if row_type == 'kto' else 'plain_preference',
                   cache_dir=str(tmp_path / 'cache'))
    packed = build_preference_dataset(tiny_tokenizer, pack_to_max_length=True, **options)
    alone = build_preference_dataset(tiny_tokenizer, pack_to_max_length=False, **options)
    assert len(alone) == 12 and len(packed) == packed.stats['packs'] < 12
    assert 0 < packed.stats['pack_efficiency'] <= 1
    for i in range(len(packed)):
        row = packed[i]
        assert len(row['input_ids']) == row['length'] <= 2 * 96
        # two sequences per pair, both in this row: chosen and rejected are never split
        assert int((np.asarray(row['position_ids']) == 0).sum()) == 2 * row['num_samples']
    # the same pairs (tokens, trained labels, KTO label), only their order differs
    assert sorted(_samples_of(packed)) == sorted(_samples_of(alone))


@pytest.mark.parametrize('template, call_text', [
    ('chatml', '<tool_call>\n{"name": "f", "arguments": {}}\n</tool_call>'),
    ('mistral', '[TOOL_CALLS] [{"name": "f", "arguments": {}, "id": "abcdefghi"}]')])
def test_a_reply_that_calls_tools_is_trained_in_the_templates_tool_style(template, call_text):
    reply = {'output': '', 'tool_calls': [{'name': 'f', 'arguments': {}, 'id': 'abcdefghi'}]}
    segments = reply_segments([{'input': 'q'}], reply, template, None, '</s>')
    assert [s['text'] for s in segments if s['trained']][-1].startswith(call_text)
