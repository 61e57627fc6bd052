"""CurveHook: ``curves.png`` in the work dir (loss, lr, validation loss) at every checkpoint
and at the end, because people look at a plot before they read numbers."""
from __future__ import annotations

from pathlib import Path

from mmengine.hooks import Hook

from ...utils.logging import log_once

MISSING_MATPLOTLIB = ('loss curve not drawn: matplotlib is not installed '
                      '(pip install -r requirements/plot.txt)')


def scalar_history(runner, key: str) -> list[float]:
    """Every value logged under ``key`` (e.g. 'train/loss'), restored on resume too."""
    buffer = runner.message_hub.log_scalars.get(key)
    return [] if buffer is None else [float(v) for v in buffer.data[0]]


def plot_curves(curves: dict[str, list[float]], path: Path) -> bool:
    """Draw one panel per non-empty curve into ``path``; False when matplotlib is missing."""
    try:
        import matplotlib
    except ImportError:
        return False
    matplotlib.use('Agg')  # no display on training machines
    import matplotlib.pyplot as plt
    curves = {name: values for name, values in curves.items() if values}
    if not curves:
        return True
    fig, axes = plt.subplots(len(curves), 1, figsize=(7, 2.6 * len(curves)), squeeze=False)
    for ax, (name, values) in zip(axes[:, 0], curves.items()):
        ax.plot(range(1, len(values) + 1), values, marker='.' if len(values) < 50 else None)
        ax.set_title(name)
        ax.grid(alpha=0.3)
    axes[-1, 0].set_xlabel('iteration (validation: evaluation)')
    fig.tight_layout()
    tmp = path.with_name(f'.{path.name}.tmp.png')
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    tmp.replace(path)  # a viewer never sees a half-written picture
    return True


class CurveHook(Hook):
    """Writes ``<work_dir>/curves.png``: training loss, learning rate, validation loss.

    Args:
        filename: picture name inside the work dir.
    """

    priority = 'LOWEST'

    def __init__(self, filename: str = 'curves.png'):
        self.filename = filename

    def _draw(self, runner) -> None:
        if runner.rank != 0:
            return
        curves = {'training loss': scalar_history(runner, 'train/loss'),
                  'learning rate': scalar_history(runner, 'train/lr'),
                  'validation loss': scalar_history(runner, 'val/loss')}
        if not plot_curves(curves, Path(runner.work_dir) / self.filename):
            log_once(MISSING_MATPLOTLIB)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        self._draw(runner)

    def after_train(self, runner) -> None:
        self._draw(runner)
