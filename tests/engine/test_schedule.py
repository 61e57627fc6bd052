"""WarmupCosineLR: warm-up and decay in optimizer steps, fitted to the run."""
import pytest
import torch
from mmengine.optim import CosineAnnealingLR, LinearLR

from xtuner_like.engine.schedule import WarmupCosineLR, fit_schedulers, optimizer_steps
from xtuner_like.errors import ConfigError

PEAK = 2e-4
pytestmark = pytest.mark.filterwarnings("ignore:Detected call of .scheduler.step")


def optimizer():
    return torch.optim.AdamW([torch.nn.Parameter(torch.zeros(2))], lr=PEAK)


def lrs_per_iteration(scheduler, opt, micro_batches):
    """The lr each micro-batch trains with (as ParamSchedulerHook steps it)."""
    seen = []
    for _ in range(micro_batches):
        seen.append(opt.param_groups[0]['lr'])
        scheduler.step()
    return seen


@pytest.mark.parametrize('micro_batches', [1, 2, 3, 5, 12, 30, 100])
@pytest.mark.parametrize('counts', [1, 4, 16])
@pytest.mark.parametrize('warmup', [dict(warmup_iters=5), dict(warmup_ratio=0.03),
                                    dict(warmup_iters=0), dict(warmup_iters=1000)])
def test_every_run_reaches_the_peak_and_never_trains_at_zero(micro_batches, counts, warmup):
    opt = optimizer()
    scheduler = WarmupCosineLR(opt, **warmup)
    scheduler.fit(micro_batches, counts)
    lrs = lrs_per_iteration(scheduler, opt, micro_batches)
    steps = [lrs[i] for i in range(0, micro_batches, counts)]   # one value per window
    assert len(steps) == optimizer_steps(micro_batches, counts)
    for start in range(0, micro_batches, counts):               # constant inside a window
        assert len(set(lrs[start:start + counts])) == 1
    assert max(lrs) == pytest.approx(PEAK) and min(lrs) > 0
    top = steps.index(max(steps))
    assert steps[:top + 1] == sorted(steps[:top + 1])            # warm-up rises
    assert steps[top:] == sorted(steps[top:], reverse=True)      # then it decays


def test_warmup_is_clipped_with_a_note():
    scheduler = WarmupCosineLR(optimizer(), warmup_iters=3)
    note = scheduler.fit(micro_batches=2, accumulative_counts=1)
    assert scheduler.warmup_steps == 1 and 'clipped to 1' in note and '2 optimizer steps' in note
    assert 'clipped' not in WarmupCosineLR(optimizer(), warmup_iters=3).fit(60, 1)


def test_warmup_iters_count_micro_batches():
    scheduler = WarmupCosineLR(optimizer(), warmup_iters=5)
    scheduler.fit(micro_batches=100, accumulative_counts=4)
    assert scheduler.total_steps == 25 and scheduler.warmup_steps == 2


def test_a_run_too_short_to_step_once_is_an_error():
    with pytest.raises(ConfigError, match='too short to update the weights once: 3 micro'):
        WarmupCosineLR(optimizer(), warmup_iters=1).fit(3, 4, drops_last_window=True)
    with pytest.raises(ConfigError, match='too short'):
        WarmupCosineLR(optimizer(), warmup_iters=1).fit(0, 1)
    assert optimizer_steps(3, 4) == 1 and optimizer_steps(9, 4, drops_last_window=True) == 2


def test_resumed_schedule_continues_where_it_stopped():
    opt = optimizer()
    scheduler = WarmupCosineLR(opt, warmup_iters=4)
    scheduler.fit(20, 2)
    full = lrs_per_iteration(scheduler, opt, 20)
    opt2 = optimizer()
    first = WarmupCosineLR(opt2, warmup_iters=4)
    first.fit(20, 2)
    lrs_per_iteration(first, opt2, 8)
    opt3 = optimizer()
    resumed = WarmupCosineLR(opt3, warmup_iters=4)
    resumed.load_state_dict(first.state_dict())
    fit_schedulers([resumed], 20, 2)
    assert lrs_per_iteration(resumed, opt3, 12) == pytest.approx(full[8:])


@pytest.mark.parametrize('bad', [dict(warmup_iters=-1), dict(warmup_ratio=1.5),
                                 dict(warmup_iters=2, warmup_ratio=0.1), dict(by_epoch=True)])
def test_bad_settings_are_config_errors(bad):
    with pytest.raises(ConfigError):
        WarmupCosineLR(optimizer(), **bad)


def test_mmengine_chain_with_a_one_iteration_warmup_never_reaches_the_peak():
    """The schedule this replaces (issue 16): a 1-iteration LinearLR warm-up freezes the lr."""
    opt = optimizer()
    chain = [LinearLR(opt, start_factor=1e-5, by_epoch=False, begin=0, end=1),
             CosineAnnealingLR(opt, eta_min=0.0, by_epoch=False, begin=1, end=45)]
    seen = []
    for _ in range(45):
        seen.append(opt.param_groups[0]['lr'])
        for s in chain:
            s.step()
    assert max(seen) < 1e-8
