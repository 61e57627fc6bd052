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
