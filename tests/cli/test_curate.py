"""`xtuner-like curate`: rows and a report whose counts add up; errors name what is wrong."""
from __future__ import annotations

import json

import pytest
from conftest import SHARED_DATA, run_cli


def write_corpus(tmp_path):
    rows = [{'instruction': f'Question {i}?', 'input': '', 'output': f'Answer number {i}.'}
            for i in range(30)]
    rows += rows[:5]                                              # 5 exact duplicates
    rows.append({'instruction': 'Mail?', 'input': '', 'output': 'bob@example.com'})
    path = tmp_path / 'data.json'
    path.write_text(json.dumps(rows))
    return path


def test_curate_writes_rows_and_a_report_that_adds_up(tmp_path, capsys):
    out = tmp_path / 'out'
    rc = run_cli(['curate', write_corpus(tmp_path), '-o', out, '--cfg-options',
                  'split.eval_count=4', 'near_dedup.threshold=0.9'])
    assert rc == 0
    assert 'curated 36 rows into 31' in capsys.readouterr().out
    report = json.loads((out / 'report.json').read_text())
    assert report['split'] == {'train': 27, 'eval': 4}
    assert report['redactions']['email'] == 1
    assert report['config']['near_dedup']['threshold'] == 0.9
    lines = {p.stem: p.read_text().splitlines() for p in out.glob('*.jsonl')}
    assert len(lines['train']) == 27 and len(lines['eval']) == 4


def test_dry_run_prints_the_report_and_writes_nothing(tmp_path, capsys):
    rc = run_cli(['curate', write_corpus(tmp_path), '-o', tmp_path / 'out', '--dry-run'])
    assert rc == 0 and not (tmp_path / 'out').exists()
    assert '| exact_dedup | 36 | 5 | 31 |' in capsys.readouterr().out


@pytest.mark.parametrize('args, message', [
    (['--cfg-options', 'dedup.by=prompt'], "unknown stage or section 'dedup'"),
    (['--cfg-options', 'clean.max_reply_char=9'], "did you mean 'max_reply_chars'"),
    (['--config', 'missing.py'], 'missing.py not found'),
])
def test_bad_options_fail_with_one_clear_line(tmp_path, capsys, args, message):
    rc = run_cli(['curate', write_corpus(tmp_path), '-o', tmp_path / 'out'] + args)
    err = capsys.readouterr().err
    assert rc == 1 and err.startswith('error: ') and message in err


def test_an_unreadable_input_is_named(tmp_path, capsys):
    bad = tmp_path / 'bad.jsonl'
    bad.write_text('{"text": \n')
    rc = run_cli(['curate', bad, '-o', tmp_path / 'out'])
    assert rc == 1 and 'bad.jsonl: cannot read it' in capsys.readouterr().err


@pytest.mark.skipif(not (SHARED_DATA / 'alpaca_5000.json').is_file(),
                    reason=f'shared data not found at {SHARED_DATA}')
def test_shared_alpaca_files(tmp_path, capsys):
    out = tmp_path / 'out'
    rc = run_cli(['curate', SHARED_DATA / 'alpaca_5000.json',
                  SHARED_DATA / 'alpaca_en_demo.json', '-o', out])
    assert rc == 0
    report = json.loads((out / 'report.json').read_text())
    assert report['rows_in'] == 5999
    rows = report['rows_in']
    for stage in report['stages']:
        assert stage['rows_in'] == rows
        rows = stage['rows_in'] - sum(stage['removed'].values())
        assert stage['rows_out'] == rows
    written = sum(len(p.read_text().splitlines()) for p in out.glob('*.jsonl'))
    assert written == report['rows_out'] == sum(report['split'].values())
    removed = {s['name']: s['removed'] for s in report['stages']}
    assert removed['exact_dedup']['exact_duplicate'] >= 10   # the two files overlap
