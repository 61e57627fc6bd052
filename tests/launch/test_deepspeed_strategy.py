"""The DeepSpeed strategy's own pieces; whole runs are in tests/cli/test_train_distributed.py."""
import pytest
from mmengine.registry import OPTIMIZERS

pytest.importorskip('deepspeed', reason='pip install -r requirements/deepspeed.txt')


def test_optimizers_register_without_mmengines_onebit_import():
    from xtuner_like.launch.deepspeed_strategy import register_deepspeed_optimizers
    names = register_deepspeed_optimizers()
    assert set(names) == {'DeepSpeedCPUAdam', 'FusedAdam', 'FusedLamb'}
    assert all(OPTIMIZERS.get(n) is not None for n in names)
