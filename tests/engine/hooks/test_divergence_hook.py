"""DivergenceHook: NaN/inf stops the run with the iteration named; bounded skipping; spikes."""
import json
import math

import pytest
import torch
from conftest import run_cli

from xtuner_like.engine.hooks.divergence_hook import DivergenceHook, nonfinite_parameters
from xtuner_like.errors import TrainingDivergedError

RECIPE = 'smollm2_135m_instruct_lora_identity'


def train(work, tiny_model_dir, *options):
    return run_cli(['train', RECIPE, '--work-dir', work, '--cfg-options',
                    f'pretrained_model_name_or_path={tiny_model_dir}', 'log_interval=1',
                    'evaluation_inputs=[]', 'save_total_limit=1', *options])


def test_huge_lr_stops_with_the_iteration_and_keeps_the_last_good_checkpoint(
        tmp_path, tiny_model_dir, xl_home, capsys):
    """Issue 16: lr=1e9 went NaN at iteration 3, exited 0 and saved and exported NaN weights."""
    from xtuner_like.utils.io import safe_load
    rc = train(tmp_path, tiny_model_dir, 'lora=None', 'lr=1e9', 'max_iters=12', 'save_steps=1',
               'warmup_iters=0')
    err = capsys.readouterr().err
    assert rc == 1
    line = next(x for x in err.splitlines() if x.startswith('error: '))
    assert 'iteration ' in line and 'diverged' in line and 'lower the lr' in line
    assert not (tmp_path / 'hf').exists()                       # nothing exported
    for path in tmp_path.glob('iter_*.pth'):                    # every checkpoint is finite
        state = safe_load(path)['state_dict']
        assert all(torch.isfinite(v).all() for v in state.values() if v.is_floating_point())
    assert not list(tmp_path.glob('.*.tmp'))


class FakeRunner:
    def __init__(self, model, optimizer):
        from mmengine.logging import MessageHub
        self.model, self.iter = model, 0
        self.optim_wrapper = type('W', (), {'optimizer': optimizer,
                                            'param_groups': optimizer.param_groups})()
        self.message_hub = MessageHub.get_instance('divergence_test')


def setup(max_skipped_steps=0):
    model = torch.nn.Linear(2, 1)
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.1)
    hook = DivergenceHook(max_skipped_steps=max_skipped_steps)
    runner = FakeRunner(model, optimizer)
    hook.before_train(runner)
    return model, optimizer, hook, runner


def nan_step(model, optimizer):
    model(torch.tensor([[math.nan, 1.0]])).sum().backward()
    optimizer.step()
    optimizer.zero_grad()


def test_nan_gradient_never_reaches_the_weights():
    model, optimizer, hook, runner = setup()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    runner.iter = 6
    with pytest.raises(TrainingDivergedError, match='iteration 7: the gradient norm is nan'):
        nan_step(model, optimizer)
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k])


def test_skip_policy_is_bounded_and_counted(capsys):
    model, optimizer, hook, runner = setup(max_skipped_steps=2)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    nan_step(model, optimizer)
    nan_step(model, optimizer)
    assert hook.skipped == 2 and not nonfinite_parameters(model)
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k])
    with pytest.raises(TrainingDivergedError):
        nan_step(model, optimizer)
    optimizer.zero_grad()
    model(torch.ones(1, 2)).sum().backward()     # a finite step still trains
    optimizer.step()
    assert not torch.equal(model.weight, before['weight'])


def test_nonfinite_loss_stops_at_that_iteration():
    model, optimizer, hook, runner = setup()
    runner.iter = 2
    hook.after_train_iter(runner, 2, outputs={'loss': 1.0})
    with pytest.raises(TrainingDivergedError, match='iteration 3: the loss is inf'):
        hook.after_train_iter(runner, 2, outputs={'loss': torch.tensor(math.inf)})


def test_loss_spike_is_a_warning(monkeypatch):
    import xtuner_like.engine.hooks.divergence_hook as module
    messages = []
    monkeypatch.setattr(module, 'log', lambda msg, level=None: messages.append(msg))
    model, optimizer, hook, runner = setup()
    for i, loss in enumerate([2.0, 2.1, 1.9, 2.0, 2.05, 30.0, 2.0]):
        runner.iter = i
        hook.after_train_iter(runner, i, outputs={'loss': loss})
    assert len(messages) == 1
    assert messages[0].startswith('iteration 6: loss spike: 30 is 15.0x the median 2')


def test_a_spike_that_stays_up_stops_the_run(monkeypatch):
    """Issue 23, item 10: a loss far above its running median, iteration after iteration."""
    import xtuner_like.engine.hooks.divergence_hook as module
    monkeypatch.setattr(module, 'log', lambda msg, level=None: None)
    model, optimizer, hook, runner = setup()
    losses = [2.0, 2.1, 1.9, 2.0, 2.05, 30.0, 31.0]
    for i, loss in enumerate(losses):
        runner.iter = i
        hook.after_train_iter(runner, i, outputs={'loss': loss})
    runner.iter = len(losses)
    with pytest.raises(TrainingDivergedError, match=r'iteration 8: the loss 40 is 20\.0x the '
                       r'median 2 .*3 iterations in a row above 10x \(a loss spike that did '
                       r'not recover: the learning rate is too high'):
        hook.after_train_iter(runner, 7, outputs={'loss': 40.0})


def collapse_setup(grad_scale):
    """A step whose gradient norm is ``grad_scale`` (x the norm of an all-ones input)."""
    model, optimizer, hook, runner = setup()
    hook._vocab = 50                 # as for a model trained on the token cross-entropy
    runner.iter = 3
    (model(torch.ones(1, 2)).sum() * grad_scale).backward()
    optimizer.step()
    return hook, runner


def test_a_loss_at_uniform_guessing_with_a_vanishing_gradient_stops_the_run():
    """Issue 23, item 10: lr=1e9 left the loss at ln(vocab) and grad_norm 0.0000 for five
    iterations; the run exited 0 and exported the adapter."""
    hook, runner = collapse_setup(grad_scale=0.0)
    with pytest.raises(TrainingDivergedError) as err:
        hook.after_train_iter(runner, 3, outputs={'loss': math.log(50)})
    text = str(err.value)
    assert text.startswith('iteration 4: the loss 3.9120 is at or above ln(vocab 50)')
    assert 'the weights collapsed: the learning rate is far too high' in text
    assert 'no checkpoint was written' in text and '\n' not in text


def test_a_model_at_its_random_start_is_not_a_collapse():
    hook, runner = collapse_setup(grad_scale=1.0)    # loss ln(vocab), a real gradient
    hook.after_train_iter(runner, 3, outputs={'loss': math.log(50)})
    hook.collapse_grad_norm = None                    # and the check can be turned off
    hook, runner = collapse_setup(grad_scale=0.0)
    hook.collapse_grad_norm = None
    hook.after_train_iter(runner, 3, outputs={'loss': math.log(50)})


def test_only_token_cross_entropy_models_are_checked_for_collapse(tiny_model_dir):
    from xtuner_like.engine.hooks.divergence_hook import token_loss_vocab
    from xtuner_like.model.sft import SupervisedFinetune
    model = SupervisedFinetune(llm=dict(type='xtuner_like.model.load.load_causal_lm',
                                        pretrained_model_name_or_path=str(tiny_model_dir)))
    assert token_loss_vocab(model) == model.backbone.config.vocab_size
    assert token_loss_vocab(torch.nn.Linear(2, 1)) is None


def test_lr_1e9_with_lora_stops_and_exports_nothing(tmp_path, tiny_model_dir, xl_home, capsys):
    """The issue's command on the tiny model: LoRA, lr=1e9, six iterations."""
    rc = train(tmp_path, tiny_model_dir, 'lr=1e9', 'max_iters=6', 'warmup_iters=0')
    err = capsys.readouterr().err
    assert rc == 1
    line = next(x for x in err.splitlines() if x.startswith('error: '))
    assert line.startswith('error: iteration ') and 'diverged' in line, line
    assert not (tmp_path / 'hf').exists()
