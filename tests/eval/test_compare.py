"""Paired bootstrap and the tables."""
from __future__ import annotations

import json
import math

import pytest

from xtuner_like.errors import ConfigError
from xtuner_like.eval.compare import (compare, compare_saved, markdown_table, paired_bootstrap,
                                      scores_table)


def results(acc_values, losses=None):
    samples = {'t': [{'doc_id': i, 'acc': v} for i, v in enumerate(acc_values)]}
    res = {'t': {'alias': 't', 'acc,none': sum(acc_values) / len(acc_values)}}
    if losses:
        samples['l'] = [{'doc_id': i, 'loss': v, 'perplexity': v} for i, v in enumerate(losses)]
        logp, n = sum(v[0] for v in losses), sum(v[1] for v in losses)
        res['l'] = {'loss,none': -logp / n, 'perplexity,none': math.exp(-logp / n)}
    return {'results': res, 'samples': samples}


def test_bootstrap_interval_holds_the_difference_and_excludes_zero_for_a_clear_gain():
    tuned, base = [1] * 45 + [0] * 5, [1] * 10 + [0] * 40
    diff, low, high = paired_bootstrap(tuned, base, 'acc', iters=500)
    assert diff == pytest.approx(0.7)
    assert low < diff < high and low > 0
    diff, low, high = paired_bootstrap([1, 0] * 10, [0, 1] * 10, 'acc', iters=500)
    assert diff == 0 and low < 0 < high


def test_loss_metrics_aggregate_as_ratios_of_sums():
    tuned, base = [(-2.0, 4), (-6.0, 2)], [(-4.0, 4), (-8.0, 2)]
    diff, _, _ = paired_bootstrap(tuned, base, 'loss', iters=50)
    assert diff == pytest.approx(8 / 6 - 12 / 6)
    diff, _, _ = paired_bootstrap(tuned, base, 'perplexity', iters=50)
    assert diff == pytest.approx(math.exp(8 / 6) - math.exp(2))


def test_compare_pairs_by_document_and_tabulates(tmp_path):
    tuned = results([1, 1, 1, 0], losses=[(-1.0, 2), (-1.0, 2)])
    base = results([0, 0, 1, 0], losses=[(-3.0, 2), (-3.0, 2)])
    rows = compare(tuned, base, iters=200)
    acc = next(r for r in rows if r['metric'] == 'acc')
    assert (acc['tuned'], acc['base'], acc['diff'], acc['n']) == (0.75, 0.25, 0.5, 4)
    loss = next(r for r in rows if r['metric'] == 'loss')
    assert loss['diff'] == pytest.approx(-1.0)
    table = markdown_table(rows, 'run', 'base')
    assert '| t | acc | 0.7500 | 0.2500 | +0.5000 |' in table and '| run | base |' in table
    assert '| t | acc | 0.7500 |' in scores_table(tuned)
    (tmp_path / 'a').mkdir()
    (tmp_path / 'a' / 'results.json').write_text(json.dumps(tuned))
    (tmp_path / 'b.json').write_text(json.dumps(base))
    saved = compare_saved([tmp_path / 'a', tmp_path / 'b.json'])
    assert '| t | acc | 0.7500 | 0.2500 |' in saved
    with pytest.raises(ConfigError, match='no results.json'):
        compare_saved([tmp_path / 'missing'])
