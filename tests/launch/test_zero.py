"""DeepSpeed checkpoint folders are checked with weights_only=True before DeepSpeed reads them.

End-to-end conversion of real ZeRO-2/3 folders is in tests/cli/test_train_distributed.py.
"""
import pytest
import torch
from mmengine.logging import HistoryBuffer

from xtuner_like.launch.zero import check_deepspeed_dir, read_deepspeed_dir, read_deepspeed_extra
from xtuner_like.errors import CheckpointError

pytest.importorskip('deepspeed', reason='pip install -r requirements/deepspeed.txt')


def test_a_folder_without_model_states_is_refused(tmp_path):
    with pytest.raises(CheckpointError, match='not a DeepSpeed checkpoint'):
        check_deepspeed_dir(tmp_path)
    with pytest.raises(CheckpointError, match='not a DeepSpeed checkpoint'):
        read_deepspeed_dir(tmp_path)


def test_safe_files_pass_and_unsafe_pickles_are_refused(tmp_path):
    torch.save({'module': {'w': torch.zeros(2)}}, tmp_path / 'mp_rank_00_model_states.pt')
    check_deepspeed_dir(tmp_path)
    torch.save({'x': HistoryBuffer()}, tmp_path / 'zero_pp_rank_0_optim_states.pt')
    with pytest.raises(CheckpointError, match='optim_states.pt does not load with weights_only'):
        check_deepspeed_dir(tmp_path)


class _PickledByGetattr:
    """Pickles as ``getattr(cls, name)``, as some Python builds pickle enum members."""

    def __init__(self, cls, name):
        self.cls, self.name = cls, name

    def __reduce__(self):
        return getattr, (self.cls, self.name)


def test_enum_members_pickled_through_getattr_load_and_nothing_else_does(tmp_path):
    """Debian's Python 3.11.2 writes DeepSpeed's ZeroStageEnum as getattr(ZeroStageEnum,
    'gradients'); that loads, while getattr on anything but an enum member is refused."""
    from deepspeed.runtime.zero.config import ZeroStageEnum

    from xtuner_like.launch.zero import _deepspeed_globals
    from xtuner_like.utils.io import safe_load
    good, bad = tmp_path / 'good.pt', tmp_path / 'bad.pt'
    torch.save({'zero_stage': _PickledByGetattr(ZeroStageEnum, 'gradients')}, good)
    assert safe_load(good, extra_globals=_deepspeed_globals()) == {
        'zero_stage': ZeroStageEnum.gradients}
    torch.save({'x': _PickledByGetattr(ZeroStageEnum, '__class__')}, bad)
    with pytest.raises(CheckpointError, match='refused'):
        safe_load(bad, extra_globals=_deepspeed_globals())


def test_the_extra_state_beside_the_weights_is_read_safely(tmp_path):
    folder = tmp_path / 'global_step4'
    folder.mkdir()
    ema = {'updates': 2, 'state_dict': {'w': torch.ones(2)}}
    torch.save({'module': {'w': torch.zeros(2)}, 'ema': ema},
               folder / 'mp_rank_00_model_states.pt')
    assert torch.equal(read_deepspeed_extra(tmp_path)['ema']['state_dict']['w'], torch.ones(2))
