import pytest
import torch

from xtuner_like.model.cpu_shapes import SHAPE_BUCKET, round_up, shape_bucket


@pytest.mark.parametrize('dtype, bucket', [(torch.bfloat16, SHAPE_BUCKET),
                                           (torch.float16, SHAPE_BUCKET), (torch.float32, 1)])
def test_reduced_precision_on_the_cpu_rounds_free_lengths(dtype, bucket):
    """torch's CPU kernels keep memory for every bf16/fp16 shape they see; fp32 does not."""
    assert shape_bucket(torch.zeros(3, 4, dtype=dtype)) == bucket


def test_round_up():
    assert [round_up(n, 64) for n in (1, 63, 64, 65, 128)] == [64, 64, 64, 128, 128]
    assert round_up(37, 1) == 37
