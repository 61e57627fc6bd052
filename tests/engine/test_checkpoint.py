"""Safe checkpoint loading and the plain message hub."""
import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer

from xtuner_like.engine.checkpoint import (atomic_replace, plain_message_hub, plain_numbers,
                                           restore_message_hub, rng_state, safe_load,
                                           set_rng_state)
from xtuner_like.errors import CheckpointError


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


def test_unsafe_pickles_are_refused(tmp_path):
    path = tmp_path / 'evil.pth'
    torch.save({'x': HistoryBuffer()}, path)       # pickles getattr: must not load
    with pytest.raises(CheckpointError, match='cannot load checkpoint'):
        safe_load(path)
    with pytest.raises(CheckpointError, match='does not exist'):
        safe_load(tmp_path / 'missing.pth')


def test_rng_round_trip():
    state = rng_state()
    a = torch.rand(3), np.random.rand()
    set_rng_state(state)
    b = torch.rand(3), np.random.rand()
    assert torch.equal(a[0], b[0]) and a[1] == b[1]


def test_plain_numbers_and_atomic_replace(tmp_path):
    assert plain_numbers({'a': [np.int64(2), np.arange(2)]}) == {'a': [2, [0, 1]]}
    tmp, final = tmp_path / '.x.tmp', tmp_path / 'x'
    tmp.write_bytes(b'data')
    atomic_replace(tmp, final)
    assert final.read_bytes() == b'data' and not tmp.exists()
