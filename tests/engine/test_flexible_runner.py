"""XFlexibleRunner keeps XRunner's checkpoint promises; runs are in test_train_distributed.py."""
from mmengine.runner._flexible_runner import FlexibleRunner

from xtuner_like.engine.flexible_runner import XFlexibleRunner
from xtuner_like.engine.runner import CheckpointStateMixin, XRunner


def test_shares_the_checkpoint_state_of_xrunner():
    assert issubclass(XFlexibleRunner, FlexibleRunner)
    assert issubclass(XFlexibleRunner, CheckpointStateMixin) and issubclass(XRunner,
                                                                            CheckpointStateMixin)
    assert XFlexibleRunner.call_hook is CheckpointStateMixin.call_hook
