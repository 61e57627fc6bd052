"""The DeepSpeed strategy's own pieces; whole runs are in tests/cli/test_train_distributed.py."""
import pytest
from mmengine.registry import OPTIMIZERS

pytest.importorskip('deepspeed', reason='pip install -r requirements/deepspeed.txt')


def test_optimizers_register_without_mmengines_onebit_import():
    from xtuner_like.launch.deepspeed_strategy import register_deepspeed_optimizers
    names = register_deepspeed_optimizers()
    assert set(names) == {'DeepSpeedCPUAdam', 'FusedAdam', 'FusedLamb'}
    assert all(OPTIMIZERS.get(n) is not None for n in names)


def test_the_strategy_keeps_deepspeed_from_building_its_inference_shm_op(tmp_path):
    """Issue 23, item 15: the first DeepSpeed run on a machine JIT-compiled deepspeed_shm_comm
    for ~4 minutes without a word; only inference all-reduce uses it."""
    import importlib

    from xtuner_like.launch.deepspeed_strategy import XDeepSpeedStrategy
    XDeepSpeedStrategy(config={'zero_optimization': {'stage': 3}}, work_dir=str(tmp_path))
    backend = importlib.import_module('deepspeed.comm.torch')
    assert backend.build_shm_op() is None                  # what TorchBackend calls
