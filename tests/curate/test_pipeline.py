import json

import pytest

from xtuner_like.curate.config import load_curate_config
from xtuner_like.curate.pipeline import curate
from xtuner_like.errors import ConfigError, DatasetFormatError

from .conftest import SURVIVORS, survivors


def test_hand_made_corpus_keeps_exactly_the_expected_rows(corpus, tmp_path):
    out = tmp_path / 'out'
    report = curate(corpus, out, load_curate_config())
    assert survivors(out) == SURVIVORS
    stages = {s.name: s for s in report.stages}
    assert stages['format'].removed == {'format_error': 1}
    assert stages['clean'].removed == {'no_reply': 1, 'ngram_repetition': 1, 'non_text': 1}
    assert stages['exact_dedup'].removed == {'exact_duplicate': 2}
    assert stages['near_dedup'].removed == {'near_duplicate': 1}
    assert report.redactions['email'] == 1 and report.redactions['phone'] == 1
    assert report.rows_in == 11 and report.rows_out == 4
    assert sum(report.split.values()) == 4
    assert report.consistency_problems() == []


def test_written_rows_are_samples_with_provenance_and_placeholders(corpus, tmp_path):
    out = tmp_path / 'out'
    curate(corpus, out, load_curate_config(None, {'split.enabled': False}))
    rows = [json.loads(line) for line in (out / 'train.jsonl').read_text().splitlines()]
    assert [(r['source'].endswith('alpaca.json'), r['row']) for r in rows] == [
        (True, 0), (True, 2), (True, 7), (False, 0)]           # input order
    assert rows[2]['conversation'] == [{'input': 'How do I reach Jane?',
                                        'output': 'Email <EMAIL> or call <PHONE>.'}]
    assert rows[3]['conversation'][0] == {'system': 'Be brief.', 'input': 'Name a primary color.',
                                          'output': 'Red.'}


def test_report_files_agree_and_name_every_reason(corpus, tmp_path):
    out = tmp_path / 'out'
    curate(corpus, out, load_curate_config())
    data = json.loads((out / 'report.json').read_text())
    removed = sum(sum(s['removed'].values()) for s in data['stages'])
    assert data['rows_in'] - removed == data['rows_out'] == 4
    reasons = {e['reason'] for e in data['examples']}
    assert reasons == {'format_error', 'no_reply', 'ngram_repetition', 'non_text',
                       'exact_duplicate', 'near_duplicate'}
    assert all('alpaca.json' in e['where'] or 'openai.jsonl' in e['where']
               for e in data['examples'])
    assert data['clusters'][0]['size'] == 2
    text = (out / 'report.md').read_text()
    assert '| exact_dedup | 7 | 2 | 5 |' in text and 'near duplicate of' in text


def test_dry_run_writes_nothing(corpus, tmp_path):
    report = curate(corpus, tmp_path / 'out', load_curate_config(), dry_run=True)
    assert report.rows_out == 4 and not (tmp_path / 'out').exists()


def test_disabled_stages_keep_their_rows(corpus, tmp_path):
    cfg = load_curate_config(None, {f'{s}.enabled': False for s in (
        'clean', 'exact_dedup', 'near_dedup', 'safe', 'split')})
    report = curate(corpus, tmp_path / 'out', cfg)
    assert [s.name for s in report.stages] == ['format']
    assert report.rows_out == 10


def test_format_errors_stop_the_run_when_asked(corpus, tmp_path):
    cfg = load_curate_config(None, {'format.on_bad_row': 'error'})
    with pytest.raises(DatasetFormatError, match=r'openai.jsonl, line 2: .*assistant'):
        curate(corpus, tmp_path / 'out', cfg)


def test_the_old_policy_name_still_works_and_says_so(corpus, tmp_path):
    said = []
    report = curate(corpus, tmp_path / 'out', load_curate_config(None, {'format.on_bad_row':
                                                                        'drop'}),
                    log=said.append)
    assert report.rows_out == 4 and any("'drop' is deprecated" in m for m in said)


def test_unreadable_and_missing_files_are_named(tmp_path):
    bad = tmp_path / 'broken.json'
    bad.write_text('{"instruction": "a", "output": ')
    with pytest.raises(DatasetFormatError, match='broken.json: cannot read it'):
        curate([str(bad)], tmp_path / 'out', load_curate_config())
    with pytest.raises(ConfigError, match='nope.json'):
        curate([str(tmp_path / 'nope.json')], tmp_path / 'out', load_curate_config())


def test_unknown_format_asks_for_a_map_fn(tmp_path):
    odd = tmp_path / 'odd.jsonl'
    odd.write_text('{"q": "a", "a": "b"}\n')
    with pytest.raises(ConfigError, match=r"odd.jsonl: cannot tell the format.*format.map_fn"):
        curate([str(odd)], tmp_path / 'out', load_curate_config())


def test_decontaminate_drops_rows_sharing_an_ngram_with_the_eval_set(corpus, tmp_path):
    from .conftest import PHOTO
    eval_file = tmp_path / 'eval.jsonl'
    eval_file.write_text(json.dumps({'text': ' '.join(PHOTO.split()[5:25])}) + '\n')
    cfg = load_curate_config(None, {'decontaminate.enabled': True,
                                    'decontaminate.eval_files': [str(eval_file)]})
    report = curate(corpus, tmp_path / 'out', cfg)
    assert {s.name: s.removed for s in report.stages}['decontaminate'] == {'contaminated': 1}
    assert ('alpaca.json', 2) not in survivors(tmp_path / 'out')


def test_decontaminate_without_eval_files_is_an_error(corpus, tmp_path):
    cfg = load_curate_config(None, {'decontaminate.enabled': True})
    with pytest.raises(ConfigError, match='eval_files is empty'):
        curate(corpus, tmp_path / 'out', cfg)


def test_parquet_output(corpus, tmp_path):
    import datasets
    cfg = load_curate_config(None, {'output.format': 'parquet', 'split.enabled': False})
    curate(corpus, tmp_path / 'out', cfg)
    ds = datasets.Dataset.from_parquet(str(tmp_path / 'out' / 'train.parquet'))
    assert len(ds) == 4 and ds.column_names == ['conversation', 'source', 'row']


def test_num_proc_gives_the_same_rows(corpus, tmp_path):
    cfg = load_curate_config(None, {'engine.num_proc': 2, 'engine.batch_size': 2})
    curate(corpus, tmp_path / 'out', cfg)
    assert survivors(tmp_path / 'out') == SURVIVORS


def test_removed_rows_file_names_every_removed_row(corpus, tmp_path):
    out = tmp_path / 'out'
    curate(corpus, out, load_curate_config(None, {'output.removed': True}))
    rows = [json.loads(line) for line in (out / 'removed.jsonl').read_text().splitlines()]
    got = {(r['source'].rsplit('/', 1)[1], r['row']): (r['stage'], r['reason']) for r in rows}
    assert got == {('openai.jsonl', 1): ('format', 'format_error'),
                   ('alpaca.json', 4): ('clean', 'no_reply'),
                   ('alpaca.json', 5): ('clean', 'ngram_repetition'),
                   ('alpaca.json', 6): ('clean', 'non_text'),
                   ('alpaca.json', 1): ('exact_dedup', 'exact_duplicate'),
                   ('openai.jsonl', 2): ('exact_dedup', 'exact_duplicate'),
                   ('alpaca.json', 3): ('near_dedup', 'near_duplicate')}
    near = next(r for r in rows if r['stage'] == 'near_dedup')
    assert near['detail'].startswith('near duplicate of') and near['detail'].endswith(
        'alpaca.json, row 2')


def test_every_file_format_is_read(tmp_path):
    import datasets
    rows = [{'instruction': f'Question {i}?', 'input': '', 'output': f'Answer {i}.'}
            for i in range(3)]
    datasets.Dataset.from_list(rows).to_parquet(str(tmp_path / 'a.parquet'))
    datasets.Dataset.from_list(rows).to_csv(str(tmp_path / 'b.csv'), index=False)
    (tmp_path / 'c.txt').write_text('A plain text document for pre-training.\nAnother one.\n')
    sharegpt = {'conversations': [{'from': 'human', 'value': 'Hi'},
                                  {'from': 'gpt', 'value': 'Hello there.'}]}
    (tmp_path / 'd.jsonl').write_text(json.dumps(sharegpt) + '\n')
    files = [str(tmp_path / n) for n in ('a.parquet', 'b.csv', 'c.txt', 'd.jsonl')]
    cfg = load_curate_config(None, {'split.enabled': False, 'exact_dedup.enabled': False,
                                    'near_dedup.enabled': False})   # a and b hold the same rows
    report = curate(files, tmp_path / 'out', cfg)
    assert [(i['rows'], i['map_fn']) for i in report.inputs] == [
        (3, 'alpaca'), (3, 'alpaca'), (2, 'pretrain'), (1, 'sharegpt')]
    assert report.rows_out == 9
