"""Harness runs end to end on a tiny model: our backend's metrics equal lm-eval's `hf`
backend on the same task, results are saved in the harness's format."""
from __future__ import annotations

import json

import pytest

from conftest import make_tiny_llama, make_tiny_tokenizer
from xtuner_like.errors import ConfigError
from xtuner_like.eval.backend import XtunerLM
from xtuner_like.eval.run import list_tasks, run_tasks, save_results


def test_task_metrics_equal_the_hf_backend(task_files, tmp_path):
    from lm_eval.models.huggingface import HFLM
    tok = make_tiny_tokenizer()
    model = make_tiny_llama(len(tok)).eval()
    specs = [str(task_files['mc']), str(task_files['qa'])]
    ours = run_tasks(XtunerLM(model, tok), task_files=specs, data_dir=tmp_path / 'a')
    theirs = run_tasks(HFLM(pretrained=model, tokenizer=tok, batch_size=2, device='cpu'),
                       task_files=specs, data_dir=tmp_path / 'b')
    for task in ('mc', 'qa'):
        mine = {k: v for k, v in ours['results'][task].items() if ',' in k}
        assert mine == {k: v for k, v in theirs['results'][task].items() if ',' in k}
    for a, b in zip(ours['samples']['mc'], theirs['samples']['mc']):
        assert [r[0] for r in a['filtered_resps']] == pytest.approx(
            [r[0] for r in b['filtered_resps']], abs=1e-4)
    assert [s['filtered_resps'] for s in ours['samples']['qa']] == \
        [s['filtered_resps'] for s in theirs['samples']['qa']]
    assert len(ours['samples']['mc']) == 6
    out = save_results(ours, tmp_path / 'out', log_samples=True)
    saved = json.loads(out.read_text())
    assert saved['results']['mc']['acc,none'] == ours['results']['mc']['acc,none']
    assert (tmp_path / 'out' / 'samples_qa.jsonl').is_file()


def test_offline_harness_task_is_one_clear_line(tmp_path, monkeypatch):
    monkeypatch.setenv('HF_DATASETS_OFFLINE', '1')
    monkeypatch.setenv('HF_HUB_OFFLINE', '1')
    monkeypatch.setenv('HF_DATASETS_CACHE', str(tmp_path / 'empty_cache'))
    tok = make_tiny_tokenizer()
    with pytest.raises(ConfigError, match='not in the Hugging Face cache'):
        run_tasks(XtunerLM(make_tiny_llama(len(tok)), tok), tasks=['arc_easy'], limit=2)


def test_nothing_to_do_and_task_listing():
    with pytest.raises(ConfigError, match='nothing to evaluate'):
        run_tasks(object())
    names = list_tasks('arc_*')
    assert 'arc_easy' in names and all(n.startswith('arc_') for n in names)
    assert 'mmlu' in list_tasks('mmlu')
