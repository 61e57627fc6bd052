from xtuner_like.curate.report import Report, StageCount, pick_examples, snippet


def report():
    return Report(inputs=[dict(path='a.json', rows=10, map_fn='alpaca')],
                  stages=[StageCount('format', 10, 9, {'format_error': 1}),
                          StageCount('clean', 9, 6, {'no_reply': 2, 'non_text': 1})],
                  split={'train': 5, 'eval': 1}, redactions={'email': 2})


def test_counts_add_up_or_are_reported():
    assert report().consistency_problems() == []
    bad = report()
    bad.stages[1].rows_out = 7
    bad.split = {'train': 1}
    problems = bad.consistency_problems()
    assert any('clean: 9 - 3 removed != 7 out' in p for p in problems)
    assert any('split' in p for p in problems)


def test_markdown_and_json(tmp_path):
    r = report()
    r.write(tmp_path)
    md = (tmp_path / 'report.md').read_text()
    assert '10 rows in, 6 rows out.' in md and '| clean | 9 | 3 | 6 |' in md
    assert '| email | 2 |' in md and 'train: 5, eval: 1' in md
    import json
    data = json.loads((tmp_path / 'report.json').read_text())
    assert data['rows_in'] == 10 and data['rows_out'] == 6


def test_examples_rotate_over_reasons():
    cands = [dict(stage='s', reason='a', i=i) for i in range(5)] + [
        dict(stage='s', reason='b', i=9)]
    assert [c['reason'] for c in pick_examples(cands, 3)] == ['a', 'b', 'a']


def test_snippet():
    assert snippet('a\n b', 10) == 'a b' and snippet('x' * 20, 10) == 'x' * 9 + '…'
