"""Training engine: config loading, the runner, the loop and hooks."""
from .train_loop import TrainLoop

__all__ = ['TrainLoop']
