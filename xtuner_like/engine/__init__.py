"""The training runtime: runners, the loop, hooks and the optimizer constructor.

Config loading lives in ``config/``, launching and DeepSpeed in ``launch/``.
"""
from .train_loop import TrainLoop

__all__ = ['TrainLoop']
