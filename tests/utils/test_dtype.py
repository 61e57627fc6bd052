import pytest
import torch

from xtuner_like.errors import UnknownNameError
from xtuner_like.utils.dtype import resolve_dtype


def test_resolve_dtype():
    assert resolve_dtype('bf16') is torch.bfloat16 and resolve_dtype('float32') is torch.float32
    assert resolve_dtype('auto') == 'auto' and resolve_dtype(None) is None
    with pytest.raises(UnknownNameError, match="did you mean 'bf16'"):
        resolve_dtype('bf61')
