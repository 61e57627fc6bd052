"""Token-exact accumulation: k micro-batches == one batch holding them all."""
import pytest
import torch

from xtuner_like.dataset.collate import SftCollator
from xtuner_like.engine.train_loop import window_denominator
from xtuner_like.utils.labels import count_trained
from xtuner_like.model import SupervisedFinetune, load_causal_lm


def sample(length, prompt, seed):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(3, 300, (length,), generator=g).tolist()
    return {'input_ids': ids, 'labels': [-100] * prompt + ids[prompt:], 'length': length}


def grads(model):
    return {n: p.grad.clone() for n, p in model.named_parameters() if p.requires_grad}


def test_accumulated_gradient_equals_one_batch(tiny_model_dir):
    samples = [sample(30, 5, 0), sample(7, 2, 1), sample(19, 15, 2)]   # very different sizes
    pad = SftCollator(pad_token_id=0, packed=False)
    model = SupervisedFinetune(dict(type=load_causal_lm, dtype='fp32',
                                    pretrained_model_name_or_path=str(tiny_model_dir)))
    model.train()

    model(**pad(samples))['loss'].backward()          # one batch: mean over all tokens
    expected = grads(model)
    model.zero_grad()

    window = [pad([s]) for s in samples]
    denominator = window_denominator(window)
    for micro in window:                              # what the loop + optim wrapper do
        (model(**micro, loss_denominator=denominator)['loss'] / len(window)).backward()
    for name, grad in grads(model).items():
        torch.testing.assert_close(grad, expected[name], rtol=1e-4, atol=1e-6, msg=name)


def test_mean_of_micro_batch_means_would_differ(tiny_model_dir):
    """The naive scheme (transformers#34191) gives another gradient: the test above can fail."""
    samples = [sample(30, 5, 0), sample(7, 2, 1)]
    pad = SftCollator(pad_token_id=0, packed=False)
    model = SupervisedFinetune(dict(type=load_causal_lm, dtype='fp32',
                                    pretrained_model_name_or_path=str(tiny_model_dir)))
    model(**pad(samples))['loss'].backward()
    expected = grads(model)
    model.zero_grad()
    for s in samples:
        (model(**pad([s]))['loss'] / 2).backward()
    diffs = [float((g - expected[n]).abs().max()) for n, g in grads(model).items()]
    assert max(diffs) > 1e-4


def test_window_denominator_counts_targets():
    a = {'labels': torch.tensor([[-100, 1, 2, -100]])}
    b = {'labels': torch.tensor([[-100, -100, 5]])}
    assert count_trained(a['labels'], shifted=True) == 2
    assert window_denominator([a, b]) == 3 / 2
    assert window_denominator([{'labels': torch.tensor([[-100, -100]])}]) == 1.0


def test_train_loop_accumulation_equals_one_batch_and_logs_the_window_mean(
        tmp_path, tiny_model_dir, xl_home):
    """Through the real CLI and TrainLoop: 2 micro-batches accumulated give the gradient norm
    and the logged loss of one batch holding both samples (same sampler order). The logged
    loss is the window's mean per trained token (issue 16: it was the micro-batch's share)."""
    from conftest import run_cli
    import json

    def run(work, batch_size, counts, iters):
        assert run_cli(['train', 'smollm2_135m_instruct_lora_identity', '--work-dir', work,
                        '--cfg-options', f'pretrained_model_name_or_path={tiny_model_dir}',
                        'lora=None', 'pack_to_max_length=False', f'batch_size={batch_size}',
                        f'accumulative_counts={counts}', f'max_iters={iters}',
                        'param_scheduler=[]', 'log_interval=1', 'evaluation_inputs=[]',
                        'export_hf=False', 'save_steps=1000']) == 0
        rows = {}
        for path in work.glob('*/vis_data/scalars.json'):
            for line in path.read_text().splitlines():
                row = json.loads(line)
                rows[row['step']] = row
        return rows

    one = run(tmp_path / 'one', batch_size=2, counts=1, iters=1)
    accumulated = run(tmp_path / 'acc', batch_size=1, counts=2, iters=2)
    assert accumulated[2]['grad_norm'] == pytest.approx(one[1]['grad_norm'], rel=1e-4)
    assert accumulated[2]['loss'] == pytest.approx(one[1]['loss'], rel=1e-5)
    assert accumulated[1]['loss'] != pytest.approx(accumulated[2]['loss'])   # first half only


def test_lr_peak_check_warns_when_the_schedule_never_reaches_the_peak(monkeypatch):
    """The guard for schedules that are not fitted to the run (issue 16: a one-iteration
    LinearLR warm-up trained a whole run at 2e-9)."""
    from xtuner_like.engine import train_loop
    messages = []
    monkeypatch.setattr(train_loop, 'log', lambda msg, level=None: messages.append(msg))
    groups = [{'lr': 2e-9, 'initial_lr': 2e-4}]
    wrapper = type('W', (), {'param_groups': groups})()
    check = train_loop.LrPeakCheck(wrapper)
    check.see()
    check.check()
    assert len(messages) == 1 and 'never reached its configured peak' in messages[0]
    groups[0]['lr'] = 2e-4
    check.see()
    check.check()
    assert len(messages) == 1
    resumed = train_loop.LrPeakCheck(type('W', (), {'param_groups': [dict(groups[0], lr=1e-6)]})(),
                                     resumed=True)
    resumed.see()
    resumed.check()
    assert len(messages) == 1          # a resumed run may start past the peak
