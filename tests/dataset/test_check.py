"""Tests for xtuner_like/dataset/check.py: all bad rows at once, and the statistics."""
from __future__ import annotations

import json


import pytest

from xtuner_like.dataset.check import check_dataset, closing_line, format_report
from xtuner_like.dataset.build import build_dataset, build_sft_dataset

GOOD = {'messages': [{'role': 'user', 'content': 'Hi'},
                     {'role': 'assistant', 'content': 'Hello!'}]}
BAD = {  # line number -> row
    3: {'messages': [{'role': 'assistant', 'content': 'no question'}]},
    5: {'text': 'not a chat'},
    8: {'messages': [{'role': 'user', 'content': 'Hi'}, {'role': 'assistant', 'content': 7}]},
}


def write_planted(path, n=10):
    path.write_text(''.join(json.dumps(BAD.get(i, GOOD)) + '\n' for i in range(1, n + 1)))
    return path


def spec(tokenizer, data_files, **kwargs):
    return dict(type=build_sft_dataset, tokenizer=tokenizer, data_files=str(data_files),
                dataset_map_fn='openai', prompt_template='chatml', max_length=64, **kwargs)


def test_every_bad_row_is_named(tmp_path, tiny_tokenizer):
    report = check_dataset(spec(tiny_tokenizer, write_planted(tmp_path / 'bad.jsonl')))
    assert not report.ok and report.rows == 10
    assert [b.where for b in report.bad_rows] == [
        f'{tmp_path / "bad.jsonl"}, line {n}' for n in (3, 5, 8)]
    problems = [b.problem for b in report.bad_rows]
    assert "message 0 has role 'assistant' where 'user' was expected" in problems[0]
    assert "needs a non-empty 'messages' list (found ['text'])" in problems[1]
    assert "message 1 ('assistant') has no text content" in problems[2]
    text = format_report(report)
    assert '3 bad row(s):' in text and 'how to fix:' in text
    assert report.statistics()['samples'] == 7


def test_statistics_of_good_rows(tmp_path, tiny_tokenizer):
    path = tmp_path / 'good.jsonl'
    long = {'messages': [{'role': 'user', 'content': 'x ' * 100},
                         {'role': 'assistant', 'content': 'Hello!'}]}
    path.write_text(json.dumps(GOOD) + '\n' + json.dumps(long) + '\n')
    report = check_dataset(spec(tiny_tokenizer, path))
    stats = report.statistics()
    assert report.ok and stats['rows'] == 2 and stats['truncated'] == 1
    short = len(tiny_tokenizer('<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n'
                               'Hello!<|im_end|>\n', add_special_tokens=False)['input_ids'])
    assert stats['tokens'] == short                      # the long one's reply does not fit:
    assert stats['dropped'] == 1                         # dropped, never cut mid-reply
    trained = len(tiny_tokenizer('Hello!<|im_end|>', add_special_tokens=False)['input_ids'])
    assert stats['trained_tokens'] == trained
    assert '1 dropped (first reply does not fit)' in format_report(report)
    assert stats['length']['max'] > 64 and stats['length']['p50'] == short
    assert stats['packs'] == 1 and 0 < stats['pack_efficiency'] <= 1
    assert 'pack efficiency' in format_report(report)


def test_every_source_of_a_several_source_spec_is_checked(tmp_path, tiny_tokenizer):
    a = write_planted(tmp_path / 'a.jsonl', n=4)
    b = write_planted(tmp_path / 'b.jsonl', n=6)
    s = dict(type=build_dataset, tokenizer=tiny_tokenizer, max_length=32, seed=1,
             sources=[dict(data_files=str(a), dataset_map_fn='openai', ratio=0.5),
                      dict(data_files=str(b), dataset_map_fn='openai', system='S')])
    report = check_dataset(s)
    assert report.rows == 10
    assert [b.where for b in report.bad_rows] == [f'{a}, line 3', f'{b}, line 3', f'{b}, line 5']


def test_a_bug_in_a_map_fn_surfaces_with_its_traceback(tmp_path, tiny_tokenizer):
    def buggy_map_fn(row):
        return {'conversation': [{'input': row['messages'][0]['content'],
                                  'output': 1 / 0}]}
    path = write_planted(tmp_path / 'a.jsonl', n=2)
    with pytest.raises(ZeroDivisionError) as info:
        check_dataset(dict(spec(tiny_tokenizer, path), dataset_map_fn=buggy_map_fn))
    assert any(f'{path}, line 1' in note for note in info.value.__notes__)
    assert info.traceback[-1].name == 'buggy_map_fn'


def test_real_moss_and_toolcall_samples_pass(shared_data, tiny_tokenizer):
    moss = check_dataset(dict(spec(tiny_tokenizer, shared_data / 'moss_003_sft_sample.jsonl'),
                              dataset_map_fn='moss_sft', prompt_template='moss_sft'))
    assert moss.ok and moss.rows == 920
    tools = check_dataset(dict(spec(tiny_tokenizer, shared_data / 'glaive_toolcall_en_demo.json'),
                               dataset_map_fn='sharegpt'))
    assert tools.ok and tools.rows == 300


def test_preference_pairs_are_measured_per_sequence(tmp_path, tiny_tokenizer):
    """Each side of a pair is truncated on its own against max_length, a pair is dropped when
    either side loses its reply, and packed rows hold max_length per sequence — as training
    does (the joined pair is never compared with max_length)."""
    from xtuner_like.dataset import build_preference_dataset
    words = lambda n: ' '.join(['word'] * n)  # noqa: E731
    rows = [
        {'prompt': 'Hi', 'chosen': words(20), 'rejected': words(20) + '!'},  # joined > 128: fits
        {'prompt': 'Hi', 'chosen': 'Yes.', 'rejected': words(60)},       # rejected cannot fit
        {'prompt': 'Hi', 'chosen': 'Yes.', 'rejected': 'No.'},
    ]
    path = tmp_path / 'pairs.jsonl'
    path.write_text(''.join(json.dumps(r) + '\n' for r in rows))
    report = check_dataset(dict(
        type=build_preference_dataset, tokenizer=tiny_tokenizer, data_files=str(path),
        dataset_map_fn='plain_preference', prompt_template='chatml', max_length=128))
    stats = report.statistics()
    full = [len(tiny_tokenizer(t, add_special_tokens=False)['input_ids']) for t in (
        f'<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n{r}<|im_end|>\n'
        for r in (words(20), words(60)))]
    assert full[0] <= 128 < 2 * full[0] and full[1] > 128   # the rows test what they claim
    assert report.ok and stats['samples'] == 3
    assert stats['truncated'] == 1 and stats['dropped'] == 1
    assert stats['length']['max'] == full[1]
    assert stats['pack_length'] == 256
    assert stats['tokens'] == report.kept[0] + report.kept[2] and report.kept[0] > full[0] * 2
    assert 'rows of 256 tokens' in format_report(report)
    assert 'the longest sequence of each row' in format_report(report)
    assert closing_line(report) == ('OK: 3 preference rows: 2 kept, 1 dropped (too long for '
                                    'max_length=128: a reply does not fit), 0 bad')


@pytest.mark.parametrize('row_type, rows, kept', [
    ('sft', [{'instruction': 'Hi', 'output': 'word ' * 80}] * 3
     + [{'instruction': 'Hi', 'output': 'Yes.'}, {'instruction': 'Hi'}], 1),
    ('preference', [{'prompt': 'Hi', 'chosen': 'word ' * 80, 'rejected': 'No.'}] * 3
     + [{'prompt': 'Hi', 'chosen': 'Yes.', 'rejected': 'No.'}, {'prompt': 'Hi'}], 1),
    # a KTO row's KL sequence is its prompt + the next row's reply: the short row before a
    # long one is dropped too
    ('kto', [{'prompt': 'Hi', 'completion': 'word ' * 80, 'label': True}] * 2
     + [{'prompt': 'Hi', 'completion': 'Yes.', 'label': False}] * 2 + [{'prompt': 'Hi'}], 1)])
def test_the_closing_line_counts_kept_dropped_and_bad_rows_of_every_row_kind(
        row_type, rows, kept, tmp_path, tiny_tokenizer):
    """Rows dropped for not fitting max_length are not 'OK: all rows pass' (issue 23, 7)."""
    path = tmp_path / 'rows.jsonl'
    path.write_text(''.join(json.dumps(r) + '\n' for r in rows))
    map_fn = {'sft': 'alpaca', 'preference': 'plain_preference', 'kto': 'kto'}[row_type]
    spec = dict(type=build_dataset, tokenizer=tiny_tokenizer, data_files=str(path),
                dataset_map_fn=map_fn, row_type=row_type, max_length=48)
    report = check_dataset(spec)
    assert closing_line(report) == (
        f'FAILED: 1 bad row(s) of 5 {row_type} rows: {kept} kept, {4 - kept} dropped (too long '
        'for max_length=48: a reply does not fit), 1 bad')
    path.write_text(''.join(json.dumps(r) + '\n' for r in rows[:2]))
    assert closing_line(check_dataset(spec)).startswith(
        f'FAILED: no row of 2 {row_type} rows is usable: 0 kept, 2 dropped')
    path.write_text(''.join(json.dumps(r) + '\n' for r in rows[3:4]))
    assert closing_line(check_dataset(spec)) == (
        f'OK: 1 {row_type} rows: 1 kept, 0 dropped (too long for max_length=48: a reply does '
        'not fit), 0 bad')


def test_prompt_rows_count_long_prompts_as_bad_and_nothing_as_trained(tmp_path, tiny_tokenizer):
    """RL prompt rows (row_type='prompt') are checked by the same pipeline: a prompt longer
    than max_length is a bad row named by its line; the statistics are prompt lengths."""
    path = tmp_path / 'prompts.jsonl'
    rows = [{'prompt': 'What is 2 + 2?', 'answer': '4'}, {'prompt': 'word ' * 80, 'answer': '1'},
            {'question': '你好吗?', 'answer': '好'}, {'text': 'no prompt column'}]
    path.write_text(''.join(json.dumps(r, ensure_ascii=False) + '\n' for r in rows))
    report = check_dataset(dict(type=build_dataset, tokenizer=tiny_tokenizer, data_files=str(path),
                                row_type='prompt', prompt_template='chatml', max_length=48))
    bad = {b.where: b.problem for b in report.bad_rows}
    assert sorted(bad) == [f'{path}, line 2', f'{path}, line 4']
    assert 'more than max_length=48' in bad[f'{path}, line 2']
    assert closing_line(report) == ('FAILED: 2 bad row(s) of 4 prompt rows: 2 kept, 2 bad (a '
                                    'prompt longer than max_length is bad)')
    text = format_report(report)
    assert 'prompt tokens:' in text and 'trained tokens' not in text and 'packing' not in text
