"""The plain message hub and RNG states: checkpoint contents that load with weights_only."""
import numpy as np
import torch
from mmengine.logging import HistoryBuffer

from xtuner_like.engine.checkpoint import (plain_message_hub, plain_numbers, restore_message_hub,
                                           rng_state, set_rng_state)
from xtuner_like.utils.io import safe_load


def test_message_hub_round_trip_loads_with_weights_only(tmp_path):
    buf = HistoryBuffer()
    buf.update(1.5, 2)
    state = {'log_scalars': {'train/loss': buf},
             'runtime_info': {'eta': np.float64(3.0), 'iter': 4}, 'resumed_keys': {}}
    path = tmp_path / 'ck.pth'
    torch.save({'message_hub': plain_message_hub(state), 'rng_state': rng_state()}, path)
    loaded = safe_load(path)
    hub = restore_message_hub(loaded['message_hub'])
    assert hub['log_scalars']['train/loss'].current() == 1.5
    assert hub['runtime_info']['eta'] == 3.0 and type(hub['runtime_info']['eta']) is float


def test_rng_round_trip():
    state = rng_state()
    a = torch.rand(3), np.random.rand()
    set_rng_state(state)
    b = torch.rand(3), np.random.rand()
    assert torch.equal(a[0], b[0]) and a[1] == b[1]


def test_plain_numbers():
    assert plain_numbers({'a': [np.int64(2), np.arange(2)]}) == {'a': [2, [0, 1]]}
